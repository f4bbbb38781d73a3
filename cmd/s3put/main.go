// Command s3put uploads its standard input to one S3 object, streaming,
// with bounded memory, and creates the object only when the input ended
// normally.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3cli"
)

const usage = `Usage:
    s3put [options] s3://BUCKET/KEY < INPUT
    s3put [options] -b BUCKET -k KEY < INPUT

s3put uploads its standard input to one S3 object as it reads it: parts
of 8 MiB and up are uploaded in parallel while the next ones fill, memory
stays bounded, and nothing touches the local disk. The object is created
only when the input ends normally; on an error, SIGINT or SIGTERM the
upload is aborted and neither an object nor an unfinished multipart
upload is left. After the object, s3put writes KEY.manifest.json with its
size and SHA-256, which s3get checks.

Options:
    -b BUCKET -k KEY        The object, instead of s3://BUCKET/KEY.
    --endpoint URL          An S3-compatible service, e.g. http://127.0.0.1:7070
                            (default: AWS_ENDPOINT_URL, else AWS).
    --region REGION         The region (default: AWS_REGION or the profile's;
                            else the bucket's, asked from the service).
    --path-style            Address buckets as URL/BUCKET/KEY, as most
                            S3-compatible stores need (also S3_PATH_STYLE=true).
    -c N                    Parts uploaded at once (default 4).
    --max-memory SIZE       Cap on part buffers (default 1.25GiB). Parts grow
                            with the stream; streams up to 2 GiB use 40 MiB.
                            A smaller cap lowers the largest object (256MiB:
                            about 1 TiB).
    --storage-class CLASS   Storage class, e.g. STANDARD_IA or GLACIER_IR.
    --sse TYPE              Server-side encryption: AES256, aws:kms or
                            aws:kms:dsse.
    --sse-kms-key-id ID     The KMS key for --sse aws:kms or aws:kms:dsse.
    --content-type TYPE     Content type (default application/octet-stream).
    -m KEY=VALUE            User metadata (x-amz-meta-KEY); repeatable.
    --part-checksum crc32c|md5
                            The checksum the service checks on every part:
                            x-amz-checksum-crc32c (cheap at both ends) or
                            Content-MD5 (known to every S3-compatible store,
                            but an MD5 pass at both ends). Default: CRC32C,
                            or MD5 when the service rejects CRC32C.
    --no-manifest           Do not write KEY.manifest.json (and remove a
                            stale one).
    --no-clobber            Never replace an object: fail (exit 1) and leave
                            it as it is when the key, or its manifest, is
                            taken, also by another upload a moment before
                            this one (the commit sends If-None-Match: *).
                            Without it, s3put replaces the object.
    --lock-mode MODE        Write the object and its manifest with an S3
                            Object Lock, GOVERNANCE or COMPLIANCE (any case),
                            until --lock-until or for --lock-days. The bucket
                            must have been created with Object Lock enabled.
    --lock-until TIME       The lock's end, in RFC 3339, e.g.
                            2027-01-31T00:00:00Z.
    --lock-days N           The lock's length: N days (1 to 36500) from now.
    --legal-hold            Put a legal hold on the object and its manifest,
                            with or without --lock-mode.
    -q                      No progress line, even on a terminal.
    -v                      Print a summary line at the end.
    -version                Print the version and exit.

Credentials come from the AWS SDK's default chain: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws, or an
instance or container role. On a terminal, a progress line is shown on
standard error.

With --lock-mode or --legal-hold, s3put first checks that the bucket has
Object Lock enabled, sends the checksum S3 demands of every locked write,
and reads the lock of the object and its manifest back after the upload:
a store that did not keep it fails the upload.

Examples:
    $ pg_dump db | gzip | osslenc -e -pass file:key | s3put s3://bucket/db-$(date -u +%Y%m%d%H%M%S).gz.aes
    $ s3put --endpoint http://127.0.0.1:7070 --path-style -b bucket -k notes.txt < notes.txt
    $ tar c dir | s3put --storage-class STANDARD_IA --sse AES256 -m host=$(hostname) s3://bucket/dir.tar
    $ pg_dump db | gzip | s3put --lock-mode GOVERNANCE --lock-days 35 s3://locked-bucket/db.gz

Exit status:
    0  the object and its manifest were written (and locked, if asked)
    1  the upload failed or was interrupted; no object was created, except
       when only the manifest failed: then the object exists without it,
       and when the store did not keep the lock: then it exists unlocked
    2  usage error; nothing was done
`

func main() {
	cli.TightGC()
	// Errors may repeat an argument (an object URL, a file name); they
	// show it escaped, without a connection string's password.
	cli.Main("s3put", cli.WithScrubbedArgs(s3cli.WithHints(run, s3cli.Words)))
}

type metadata map[string]string

func (m metadata) String() string { return "" }

func (m metadata) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want KEY=VALUE")
	}
	m[strings.ToLower(k)] = val
	return nil
}

// readOnly hides every method of the input but Read, so that nothing
// mistakes a pipe for a seekable file.
type readOnly struct{ r io.Reader }

func (r readOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("s3put", usage, stderr)
	var f s3cli.Flags
	f.Register(fs)
	var (
		maxMemory  = fs.String("max-memory", "", "")
		noManifest = fs.Bool("no-manifest", false, "")
		noClobber  = fs.Bool("no-clobber", false, "")
		meta       = metadata{}
		opts       s3stream.WriterOptions
		lock       lockFlags
	)
	fs.StringVar(&opts.StorageClass, "storage-class", "", "")
	fs.StringVar(&opts.SSE, "sse", "", "")
	fs.StringVar(&opts.SSEKMSKeyID, "sse-kms-key-id", "", "")
	fs.StringVar(&opts.ContentType, "content-type", "", "")
	fs.StringVar(&opts.PartChecksum, "part-checksum", "", "")
	fs.Var(meta, "m", "")
	lock.register(fs)
	bucket, key, done, err := f.Parse(fs, args, stdout)
	if done || err != nil {
		return err
	}
	opts.Concurrency = f.Concurrency
	opts.NoOverwrite = *noClobber
	if *maxMemory != "" {
		if opts.MaxMemory, err = s3cli.ParseSizeFlag("max-memory", *maxMemory); err != nil {
			return err
		}
	}
	if len(meta) > 0 {
		opts.Metadata = meta
	}
	if err := lock.apply(fs, &opts, time.Now()); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return cli.WithHint(cli.Usage(err), "run 's3put -h' for usage")
	}
	if s3cli.IsTerminal(stdin) {
		return cli.WithHint(cli.Usagef("standard input is a terminal"), "pipe the data to upload into s3put, e.g. 'pg_dump db | s3put s3://BUCKET/KEY'")
	}

	start := time.Now()
	client, err := f.Client(ctx, bucket)
	if err != nil {
		return err
	}
	if err := checkBucketLock(ctx, client, bucket, &opts); err != nil {
		return err
	}
	progress := s3cli.NewProgress("s3put", "uploaded", stderr, f.Quiet)
	opts.Progress = progress.Callback()
	w := s3stream.NewWriter(ctx, client, bucket, key, opts)

	// stdin may block for as long as its producer likes; a signal must
	// abort the upload without waiting for it.
	copied := make(chan error, 1)
	go func() {
		_, err := w.ReadFrom(readOnly{stdin})
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		err = fmt.Errorf("upload to s3://%s/%s aborted: %v", bucket, key, context.Cause(ctx))
	}
	if err != nil {
		if aerr := w.Abort(err); aerr != nil && !errors.Is(aerr, s3stream.ErrCommitted) {
			return fmt.Errorf("%w\nalso: %v", lockHint(err, &opts), aerr)
		}
		return lockHint(err, &opts)
	}
	if err := w.Close(); err != nil {
		if errors.Is(err, s3stream.ErrExists) {
			return cli.WithHint(err, "choose another key; without --no-clobber s3put replaces the object")
		}
		return lockHint(err, &opts)
	}
	res := w.Result()
	if *noManifest {
		removeStaleManifest(ctx, client, bucket, key, stderr)
	} else {
		m := res.Manifest()
		m.Tool = "s3put " + cli.Version()
		if err := s3stream.WriteManifest(ctx, client, bucket, key, m, &opts); err != nil {
			return cli.WithHint(s3cli.Explain(fmt.Errorf("s3://%s/%s was uploaded, but its manifest was not: %w", bucket, key, err)),
				"s3get reads the object without a manifest, unchecked; --no-manifest skips it")
		}
	}
	if err := verifyLock(ctx, client, bucket, key, &opts, !*noManifest); err != nil {
		return err
	}
	if f.Verbose {
		fmt.Fprintf(stderr, "s3put: %s\n", s3cli.Summary("uploaded", res, time.Since(start)))
	}
	return nil
}

// removeStaleManifest removes a manifest left by an earlier upload to the
// same key, which would no longer match the object.
func removeStaleManifest(ctx context.Context, client *s3.Client, bucket, key string, stderr io.Writer) {
	mk := s3stream.ManifestKey(key)
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &mk}); err != nil {
		return
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &mk}); err != nil {
		fmt.Fprintf(stderr, "s3put: warning: s3://%s/%s is stale and could not be removed\n", bucket, mk)
	}
}

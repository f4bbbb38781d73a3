// Command s3get writes one S3 object to standard output, downloading ranges
// in parallel, and checks it against its manifest.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/iox"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3cli"
)

const usage = `Usage:
    s3get [options] s3://BUCKET/KEY > OUTPUT
    s3get [options] -o FILE s3://BUCKET/KEY
    s3get [options] -b BUCKET -k KEY > OUTPUT

s3get writes one S3 object to standard output (or FILE). It downloads
ranges of the object in parallel and writes them in order, holding at most
a few ranges in memory. Every range is pinned to the object's ETag, so an
object replaced during the download fails it instead of mixing versions.
Any object can be read, also ones other tools wrote.

When the object has a manifest (KEY.manifest.json, written by s3put and by
the backup job), s3get checks the object's size before it writes anything
and its SHA-256 at the end. By then the bytes have been written: a
mismatch shows only as "s3get: error: checksum mismatch ..." and exit
status 1, so check the status (in a shell pipeline, with set -o pipefail).

Options:
    -o FILE                 Write to FILE instead of standard output. The
                            bytes go to a temporary file next to FILE, which
                            is renamed to FILE when the download succeeded
                            and removed when it failed: a failed download
                            neither creates nor changes FILE.
    --no-verify             Do not read the manifest nor check the object.
    -b BUCKET -k KEY        The object, instead of s3://BUCKET/KEY.
    --endpoint URL          An S3-compatible service, e.g. http://127.0.0.1:7070
                            (default: AWS_ENDPOINT_URL, else AWS).
    --region REGION         The region (default: AWS_REGION or the profile's;
                            else the bucket's, asked from the service).
    --path-style            Address buckets as URL/BUCKET/KEY, as most
                            S3-compatible stores need (also S3_PATH_STYLE=true).
    -c N                    Ranges downloaded ahead of the one being written
                            (default 4): up to N + 1 ranged GETs run at once.
    --range-size SIZE       Size of one ranged GET (default 8MiB); memory is
                            about (N + 1) x SIZE.
    -q                      No progress line, even on a terminal.
    -v                      Print a summary line at the end.
    -version                Print the version and exit.

Credentials come from the AWS SDK's default chain: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws, or an
instance or container role. On a terminal, a progress line is shown on
standard error.

Examples:
    $ set -o pipefail
    $ s3get s3://bucket/db1-20261127060000.gz.aes | osslenc -d -pass file:key | gzip -d | psql -d newdb
    $ s3get -o dump.gz.aes s3://bucket/db1-20261127060000.gz.aes
    $ s3get --endpoint http://127.0.0.1:7070 --path-style -b bucket -k notes.txt

Exit status:
    0  the object was written completely (and matched its manifest)
    1  the download failed, or the object does not match its manifest
    2  usage error; nothing was done
`

func main() {
	cli.TightGC()
	// Errors may repeat an argument (an object URL, a file name); they
	// show it escaped, without a connection string's password.
	cli.Main("s3get", cli.WithScrubbedArgs(s3cli.WithHints(run, s3cli.Words)))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("s3get", usage, stderr)
	var f s3cli.Flags
	f.Register(fs)
	var (
		output    = fs.String("o", "", "")
		noVerify  = fs.Bool("no-verify", false, "")
		rangeSize = fs.String("range-size", "", "")
		opts      s3stream.ReaderOptions
	)
	bucket, key, done, err := f.Parse(fs, args, stdout)
	if done || err != nil {
		return err
	}
	opts.Concurrency = f.Concurrency
	if *rangeSize != "" {
		if opts.RangeSize, err = s3cli.ParseSizeFlag("range-size", *rangeSize); err != nil {
			return err
		}
		if opts.RangeSize < 64<<10 || opts.RangeSize > 1<<30 {
			return cli.Usagef("-range-size %s: want 64KiB to 1GiB", cli.Arg(*rangeSize))
		}
	}
	var out io.Writer = stdout
	var file *iox.File
	switch {
	case *output != "" && *output != "-":
		file = iox.NewFile(*output)
		out = file
		// Every failure, a panic included, leaves FILE as it was.
		defer file.Abort()
	case s3cli.IsTerminal(stdout):
		return cli.WithHint(cli.Usagef("refusing to write an object to a terminal"), "redirect standard output, or use -o FILE")
	}

	start := time.Now()
	client, err := f.Client(ctx, bucket)
	if err != nil {
		return err
	}
	if !*noVerify {
		m, err := s3stream.ReadManifest(ctx, client, bucket, key)
		switch {
		case errors.Is(err, s3stream.ErrNoManifest):
			if f.Verbose {
				fmt.Fprintf(stderr, "s3get: s3://%s/%s has no manifest; the download is not checked\n", bucket, key)
			}
		case err != nil:
			// A missing bucket, bad credentials or a wrong endpoint fail
			// the manifest too; they are better told about the object.
			if r, rerr := s3stream.NewReader(ctx, client, bucket, key, opts); rerr != nil {
				return rerr
			} else {
				r.Close()
			}
			return cli.WithHint(s3cli.Explain(err), "--no-verify reads the object without its manifest")
		default:
			opts.Verify = m
		}
	}
	progress := s3cli.NewProgress("s3get", "downloaded", stderr, f.Quiet)
	opts.Progress = progress.Callback()
	r, err := s3stream.NewReader(ctx, client, bucket, key, opts)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = r.WriteTo(out)
	r.Close() // ends the progress line before anything else is printed
	if err == nil && file != nil {
		err = file.Commit()
	}
	if err != nil {
		return err
	}
	if f.Verbose {
		res := r.Result()
		note := ""
		if opts.Verify != nil {
			note = ", matches its manifest"
		}
		fmt.Fprintf(stderr, "s3get: %s%s\n", s3cli.Summary("downloaded", res, time.Since(start)), note)
	}
	return nil
}

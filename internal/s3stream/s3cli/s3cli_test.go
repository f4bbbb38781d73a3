package s3cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress("s3put", "uploaded", &buf)
	p.Update(s3stream.Progress{Bytes: 3 << 30, Transferred: 5 << 29, Parts: 320, PartSize: 16 << 20, Total: -1, Elapsed: 20 * time.Second})
	p.Update(s3stream.Progress{Done: true})
	want := "\rs3put: 3.00 GiB read, 2.50 GiB uploaded, 320 parts of 16.0 MiB, 154 MiB/s\x1b[K\r\x1b[K"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
	got := Line("downloaded", s3stream.Progress{Bytes: 1 << 30, Total: 4 << 30, Parts: 128, PartSize: 8 << 20, Elapsed: 2 * time.Second})
	if want := "1.00 GiB of 4.00 GiB downloaded (25%), 128 parts of 8.00 MiB, 512 MiB/s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Not a terminal: no progress line at all, and nil is safe to use.
	var nilp *Progress = NewProgress("s3put", "uploaded", &buf, false)
	if nilp != nil || nilp.Callback() != nil {
		t.Error("progress on a buffer")
	}
	nilp.Update(s3stream.Progress{})
	f, _ := os.Open(os.DevNull)
	defer f.Close()
	if IsTerminal(f) {
		t.Error("/dev/null counts as a terminal")
	}
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		bucket, key string
		err         string
	}{
		{[]string{"s3://bkt/a/b"}, "bkt", "a/b", ""},
		{[]string{"-b", "bkt", "-k", "a/b"}, "bkt", "a/b", ""},
		{[]string{"-b", "bkt", "-k", "k", "s3://bkt/k"}, "", "", "not both"},
		{[]string{}, "", "", "no object given"},
		{[]string{"-b", "B", "-k", "k"}, "", "", "invalid bucket name"},
		{[]string{"-c", "0", "s3://bkt/k"}, "", "", "-c 0"},
		{[]string{"s3://bkt/k", "extra"}, "", "", `unexpected argument "extra"`},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var f Flags
		f.Register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		b, k, err := f.Target(fs)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || cli.Report(&bytes.Buffer{}, "t", err) != cli.ExitUsage {
				t.Errorf("%q: error %v, want a usage error with %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.bucket || k != tc.key {
			t.Errorf("%q: %q %q %v", tc.args, b, k, err)
		}
	}
}

func TestSummary(t *testing.T) {
	r := s3stream.Result{Bucket: "b", Key: "k", Size: 2 << 30, Parts: 256, PartSize: 8 << 20, SHA256: "ab"}
	want := "s3://b/k: 2.00 GiB uploaded in 256 parts of up to 8.00 MiB, 10.0s (205 MiB/s), sha256 ab"
	if got := Summary("uploaded", r, 10*time.Second); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestHints turns every kind of failure the commands can name a mistake
// for into a hint in the vocabulary of their flags.
func TestHints(t *testing.T) {
	for _, tc := range []struct {
		err  *s3stream.Error
		hint string
	}{
		{&s3stream.Error{Kind: s3stream.NoSuchBucket}, "check the bucket name, and --endpoint (or AWS_ENDPOINT_URL) and --region (or AWS_REGION) of the service it lives in"},
		{&s3stream.Error{Kind: s3stream.NotFound}, ""},
		{&s3stream.Error{Kind: s3stream.Unclassified}, ""},
		{&s3stream.Error{Kind: s3stream.AccessDenied}, "the credentials lack a needed permission (s3:PutObject, s3:GetObject, s3:AbortMultipartUpload), or they are wrong: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that --endpoint (or AWS_ENDPOINT_URL) is the service they belong to"},
		{&s3stream.Error{Kind: s3stream.Forbidden}, "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that --endpoint (or AWS_ENDPOINT_URL) is the service they belong to; and the credentials' permissions"},
		{&s3stream.Error{Kind: s3stream.UnknownAccessKey}, "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that --endpoint (or AWS_ENDPOINT_URL) is the service they belong to"},
		{&s3stream.Error{Kind: s3stream.BadSignature}, "the secret key does not match the access key ID: check AWS_SECRET_ACCESS_KEY"},
		{&s3stream.Error{Kind: s3stream.NoCredentials}, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run 'aws sso login' when the profile uses SSO)"},
		{&s3stream.Error{Kind: s3stream.ExpiredToken}, "renew the session credentials (AWS_SESSION_TOKEN), e.g. with 'aws sso login'"},
		{&s3stream.Error{Kind: s3stream.InvalidToken}, "check AWS_SESSION_TOKEN; unset it for long-term keys"},
		{&s3stream.Error{Kind: s3stream.ClockSkew}, "synchronize the clock (NTP)"},
		{&s3stream.Error{Kind: s3stream.WrongRegion, Region: "eu-west-1"}, "set --region eu-west-1 (or AWS_REGION=eu-west-1), the bucket's region"},
		{&s3stream.Error{Kind: s3stream.WrongRegion}, "set --region (or AWS_REGION) to the bucket's region"},
		{&s3stream.Error{Kind: s3stream.Moved}, "set --region (or AWS_REGION), or --endpoint (or AWS_ENDPOINT_URL) and --path-style for an S3-compatible store"},
		{&s3stream.Error{Kind: s3stream.InvalidBucketName}, "check the bucket name: bucket names are 3–63 lowercase letters, digits, dots and hyphens"},
		{&s3stream.Error{Kind: s3stream.ConnectionRefused}, "check --endpoint (or AWS_ENDPOINT_URL) and that the S3 service is running"},
		{&s3stream.Error{Kind: s3stream.UnknownHost}, "check --endpoint (or AWS_ENDPOINT_URL), --region (or AWS_REGION) and the bucket name"},
		{&s3stream.Error{Kind: s3stream.TLSFailed}, "for a plain-HTTP store make --endpoint (or AWS_ENDPOINT_URL) an http:// URL; otherwise check the service's certificate"},
		{&s3stream.Error{Kind: s3stream.InvalidEndpoint}, "--endpoint (or AWS_ENDPOINT_URL) is a URL such as https://s3.example.com or http://127.0.0.1:7070"},
		{&s3stream.Error{Kind: s3stream.NoRegion}, "set --region (or AWS_REGION)"},
		{&s3stream.Error{Kind: s3stream.BadConfig}, "check AWS_PROFILE and the shared config files (~/.aws/config, ~/.aws/credentials)"},
		{&s3stream.Error{Kind: s3stream.ChecksumUnsupported}, "if the service does not support CRC32C checksums, upload with --part-checksum md5"},
		{&s3stream.Error{Kind: s3stream.ConditionalWriteUnsupported}, "leave out --no-clobber if the upload may replace an object at the key"},
		{&s3stream.Error{Kind: s3stream.ObjectLockUnsupported}, "leave out --lock-mode and --legal-hold, or use a store that supports Object Lock"},
		{&s3stream.Error{Kind: s3stream.SSEUnsupported}, "leave out --sse, or use a store that supports server-side encryption"},
		{&s3stream.Error{Kind: s3stream.StorageClassUnsupported}, "leave out --storage-class to use the store's default storage class"},
		{&s3stream.Error{Kind: s3stream.MultipartUnsupported}, "no setting turns them off: a stream larger than one part (8 MiB at most) is uploaded in parts; use a store that supports multipart uploads"},
		{&s3stream.Error{Kind: s3stream.Unsupported, Features: []s3stream.Kind{s3stream.SSEUnsupported, s3stream.ConditionalWriteUnsupported}},
			"for server-side encryption: leave out --sse, or use a store that supports server-side encryption; for conditional writes: leave out --no-clobber if the upload may replace an object at the key"},
		{&s3stream.Error{Kind: s3stream.Unsupported}, ""},
	} {
		err := fmt.Errorf("wrapped: %w", tc.err)
		hints := cli.Hints(Explain(err))
		if tc.hint == "" && len(hints) != 0 || tc.hint != "" && (len(hints) != 1 || hints[0] != tc.hint) {
			t.Errorf("%v: hints %q, want %q", tc.err.Kind, hints, tc.hint)
		}
		// A hint already given is not repeated.
		if again := cli.Hints(Explain(Explain(err))); len(again) != len(hints) {
			t.Errorf("%v: hints %q after a second Explain", tc.err.Kind, again)
		}
	}
	if Explain(nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
}

func TestPathStyle(t *testing.T) {
	for _, tc := range []struct {
		flag  bool
		env   string
		want  bool
		error string
	}{
		{false, "", false, ""},
		{true, "", true, ""},
		{false, "true", true, ""},
		{false, "1", true, ""},
		{true, "false", true, ""},
		{false, "yes", false, `S3_PATH_STYLE="yes": use true or false`},
	} {
		got, err := pathStyle(tc.flag, func(string) string { return tc.env })
		if tc.error != "" {
			if err == nil || err.Error() != tc.error {
				t.Errorf("S3_PATH_STYLE=%q: error %v, want %q", tc.env, err, tc.error)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("S3_PATH_STYLE=%q, flag %v: path style %v (%v), want %v", tc.env, tc.flag, got, err, tc.want)
		}
	}
}

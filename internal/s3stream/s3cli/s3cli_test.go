package s3cli

import (
	"bytes"
	"flag"
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

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3test"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// command returns s3get as a process of its own.
func command(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return s3test.Command(t, "s3get", args...)
}

// TestLargeObject downloads 2 GiB with the s3get binary at its default
// settings, checked against the manifest, and measures its peak RSS; then
// interrupts a download to a file.
func TestLargeObject(t *testing.T) {
	const (
		size   = 2 << 30
		maxRSS = 128 << 20 // the documented goal for the default settings
		key    = "large/object"
	)
	ctx := t.Context()
	c := s3test.Client()
	defer c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(s3test.Bucket), Key: aws.String(key)})
	w := s3stream.NewWriter(ctx, c, s3test.Bucket, key, s3stream.WriterOptions{})
	if _, err := w.ReadFrom(s3test.Stream(3, size)); err != nil {
		w.Abort(err)
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s3stream.WriteManifest(ctx, c, s3test.Bucket, key, w.Result().Manifest(), nil); err != nil {
		t.Fatal(err)
	}

	cmd := command(t, "-v", "s3://"+s3test.Bucket+"/"+key)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peakRSS := s3test.WatchRSS(cmd.Process.Pid)
	h := sha256.New()
	n, rerr := io.Copy(h, stdout)
	if err := cmd.Wait(); err != nil || rerr != nil {
		t.Fatalf("s3get: %v (reading: %v)\n%s", err, rerr, stderr.String())
	}
	elapsed := time.Since(start)
	rss := peakRSS()
	t.Logf("s3get: %s in %v (%s/s), peak RSS %s; %s", units.FormatSize(n), elapsed.Round(time.Millisecond),
		units.FormatSize(int64(float64(n)/elapsed.Seconds())), units.FormatSize(rss), strings.TrimSpace(stderr.String()))
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != w.Result().SHA256 {
		t.Errorf("got %d bytes with sha256 %s, want %d with %s", n, got, size, w.Result().SHA256)
	}
	if !strings.Contains(stderr.String(), "matches its manifest") {
		t.Errorf("stderr %q does not report the manifest check", stderr.String())
	}
	if rss > maxRSS {
		t.Errorf("peak RSS %s, want at most %s", units.FormatSize(rss), units.FormatSize(maxRSS))
	}

	// SIGTERM in the middle of a download to a file that exists: exit 1,
	// the file as it was, no temporary file.
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(out, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = command(t, "-o", out, "s3://"+s3test.Bucket+"/"+key)
	stderr.Reset()
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		tmp, _ := filepath.Glob(filepath.Join(dir, ".out.*.part"))
		if len(tmp) == 1 {
			if st, err := os.Stat(tmp[0]); err == nil && st.Size() > 0 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("s3get after SIGTERM: %v, want exit status 1", err)
	}
	if !strings.HasPrefix(stderr.String(), "s3get: error: download s3://"+s3test.Bucket+"/"+key+" aborted: ") {
		t.Errorf("stderr %q", stderr.String())
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "old\n" {
		t.Errorf("%s after the interrupted download: %q, %v; want it unchanged", out, b, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("files left after the interrupted download: %v", left)
	}
}

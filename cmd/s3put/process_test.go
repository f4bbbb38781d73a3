package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
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

// command returns s3put as a process of its own.
func command(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return s3test.Command(t, "s3put", args...)
}

func exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := s3test.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(s3test.Bucket), Key: aws.String(key)})
	return err == nil
}

func unfinished(t *testing.T, key string) int {
	t.Helper()
	out, err := s3test.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s3test.Bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// TestSignalAborts sends SIGTERM (and SIGINT) to s3put while its input is
// still open, before and after the multipart upload began: it exits 1 and
// leaves neither an object, a manifest nor an unfinished upload.
func TestSignalAborts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sig       syscall.Signal
		multipart bool
	}{
		{"SIGTERM in the first part", syscall.SIGTERM, false},
		{"SIGTERM during the multipart upload", syscall.SIGTERM, true},
		{"SIGINT during the multipart upload", syscall.SIGINT, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "signal/" + strings.ReplaceAll(tc.name, " ", "-")
			cmd := command(t, "s3://"+s3test.Bucket+"/"+key)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			// A slow producer: 1 MiB every 20 ms.
			src := s3test.Stream(1, 1<<40)
			chunk := make([]byte, 1<<20)
			for i := 0; ; i++ {
				io.ReadFull(src, chunk)
				if _, err := stdin.Write(chunk); err != nil {
					t.Fatalf("writing to s3put: %v (stderr %s)", err, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
				if !tc.multipart && i == 2 {
					break
				}
				// Signal once the multipart upload exists and has
				// parts on the server.
				if tc.multipart && i >= 20 && unfinished(t, key) > 0 {
					break
				}
				if i > 200 {
					t.Fatal("no multipart upload started")
				}
			}
			cmd.Process.Signal(tc.sig)
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("s3put: %v, want exit status 1", err)
			}
			want := "s3put: error: upload to s3://" + s3test.Bucket + "/" + key + " aborted: "
			if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one line starting %q", stderr.String(), want)
			}
			if exists(t, key) || exists(t, s3stream.ManifestKey(key)) || unfinished(t, key) > 0 {
				t.Errorf("object %v, manifest %v, %d unfinished uploads after the signal",
					exists(t, key), exists(t, s3stream.ManifestKey(key)), unfinished(t, key))
			}
		})
	}
}

// TestLargeStream uploads 2 GiB with the s3put binary at its default
// settings, measures its peak RSS, and reads the object back.
func TestLargeStream(t *testing.T) {
	const (
		size    = 2 << 30
		maxRSS  = 128 << 20 // the documented goal for the default settings
		key     = "large/stream"
		timeout = 3 * time.Minute
	)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := command(t, "-v", "s3://"+s3test.Bucket+"/"+key)
	stdin, err := cmd.StdinPipe()
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
	_, werr := io.Copy(io.MultiWriter(stdin, h), s3test.Stream(2, size))
	stdin.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		t.Fatalf("s3put: %v (writing: %v)\n%s", err, werr, stderr.String())
	}
	elapsed := time.Since(start)
	want := hex.EncodeToString(h.Sum(nil))
	rss := peakRSS()
	t.Logf("s3put: %s in %v (%s/s), peak RSS %s; %s", units.FormatSize(size), elapsed.Round(time.Millisecond),
		units.FormatSize(int64(size/elapsed.Seconds())), units.FormatSize(rss), strings.TrimSpace(stderr.String()))
	if rss > maxRSS {
		t.Errorf("peak RSS %s, want at most %s", units.FormatSize(rss), units.FormatSize(maxRSS))
	}

	c := s3test.Client()
	defer c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(s3test.Bucket), Key: aws.String(key)})
	m, err := s3stream.ReadManifest(ctx, c, s3test.Bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != size || m.SHA256 != want || m.Parts != 256 || m.PartSize != 8<<20 {
		t.Errorf("manifest %+v, want %d bytes with sha256 %s in 256 parts of 8 MiB", m, size, want)
	}
	r, err := s3stream.NewReader(ctx, c, s3test.Bucket, key, s3stream.ReaderOptions{Verify: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rh := sha256.New()
	if n, err := io.Copy(rh, r); err != nil || n != size {
		t.Fatalf("read back %d bytes: %v", n, err)
	}
	if got := hex.EncodeToString(rh.Sum(nil)); got != want {
		t.Errorf("read back sha256 %s, want %s", got, want)
	}
}

package s3stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// A producer's stream becomes an object only when the producer succeeded:
// the upload is committed by Close after the producer exited 0, and
// aborted otherwise. Then the manifest is written next to the object.
func ExampleWriter() {
	ctx := context.Background()
	client, err := s3stream.NewClient(ctx, s3stream.Config{Bucket: "backups"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	dump := exec.Command("pg_dump", "sales")
	out, _ := dump.StdoutPipe()
	if err := dump.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	w := s3stream.NewWriter(ctx, client, "backups", "sales.sql", s3stream.WriterOptions{})
	if _, err := io.Copy(w, out); err != nil {
		w.Abort(err)
		dump.Wait()
		return
	}
	if err := dump.Wait(); err != nil {
		w.Abort(fmt.Errorf("pg_dump: %w", err)) // no object, no unfinished upload
		return
	}
	if err := w.Close(); err != nil { // the commit; its error always counts
		fmt.Fprintln(os.Stderr, err)
		return
	}
	m := w.Result().Manifest()
	m.Tool = "example"
	if err := s3stream.WriteManifest(ctx, client, "backups", "sales.sql", m, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// A download checked against the object's manifest: the Read that reaches
// the end fails with a *ChecksumError when the bytes differ.
func ExampleReader() {
	ctx := context.Background()
	client, err := s3stream.NewClient(ctx, s3stream.Config{Bucket: "backups"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	m, err := s3stream.ReadManifest(ctx, client, "backups", "sales.sql")
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // errors.Is(err, s3stream.ErrNoManifest) when there is none
		return
	}
	r, err := s3stream.NewReader(ctx, client, "backups", "sales.sql", s3stream.ReaderOptions{Verify: m})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer r.Close()
	if _, err := io.Copy(os.Stdout, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// A caller names the likely mistake behind a failure in its own terms:
// here a program configured by environment variables.
func ExampleKindOf() {
	ctx := context.Background()
	_, err := s3stream.NewReader(ctx, nil, "backups", "sales.sql", s3stream.ReaderOptions{})
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	switch s3stream.KindOf(err) {
	case s3stream.NoSuchBucket:
		fmt.Fprintln(os.Stderr, "hint: check S3_BUCKET, and AWS_ENDPOINT_URL and AWS_REGION")
	case s3stream.WrongRegion:
		var e *s3stream.Error
		if errors.As(err, &e) && e.Region != "" {
			fmt.Fprintf(os.Stderr, "hint: set AWS_REGION=%s\n", e.Region)
		}
	case s3stream.ConnectionRefused, s3stream.UnknownHost:
		fmt.Fprintln(os.Stderr, "hint: check AWS_ENDPOINT_URL")
	}
}

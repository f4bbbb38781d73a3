package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// StartMinIO starts the MinIO server binary at bin, one drive in a
// temporary folder, listening on 127.0.0.1, and creates the buckets (with
// Object Lock those in lockBuckets). The credentials reach it through its
// environment, never argv.
func StartMinIO(ctx context.Context, bin string, buckets, lockBuckets []string) (*S3Server, error) {
	s := &S3Server{Region: "us-east-1", AccessKey: "isbminioaccess", SecretKey: "isbminiosecret-" + strconv.Itoa(os.Getpid())}
	var err error
	if s.Dir, err = tempDir("minio"); err != nil {
		return nil, err
	}
	s.unregister = register(func() { s.Stop() })
	fail := func(err error) (*S3Server, error) {
		s.Stop()
		return nil, err
	}
	data := filepath.Join(s.Dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return fail(err)
	}
	addr, err := s.start(ctx, "MinIO", filepath.Join(s.Dir, "minio.log"), func(addr string) *exec.Cmd {
		cmd := exec.Command(bin, "server", "--quiet", "--address", addr, data)
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_REGION="+s.Region, "HOME="+s.Dir)
		return cmd
	})
	if err != nil {
		return fail(err)
	}
	s.Endpoint = "http://" + addr
	c := s.Client()
	// It listens a moment before it serves.
	deadline := time.Now().Add(30 * time.Second)
	for _, b := range buckets {
		for {
			err := s.CreateBucket(ctx, c, b)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("MinIO: %w\nlog: %s", err, tail(filepath.Join(s.Dir, "minio.log"), 1500)))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, b := range lockBuckets {
		if err := s.CreateLockBucket(ctx, c, b); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

package s3stream

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestLock: objects written with a lock, by a single PUT and by a
// multipart upload, with NoOverwrite, and their manifests, are kept
// locked by the store: the same credentials cannot delete them, and
// VerifyLock passes. Without a lock the bucket is plain; a bucket without
// Object Lock refuses a locked write.
func TestLock(t *testing.T) {
	t.Parallel()
	c := srv.Client()
	const locked = "stream-locked"
	if err := srv.CreateLockBucket(t.Context(), c, locked); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadBucketLock(t.Context(), c, locked); err != nil || !b.Enabled || b.DefaultMode != "" {
		t.Errorf("lock bucket: %+v, %v", b, err)
	}
	if b, err := ReadBucketLock(t.Context(), c, bucket); err != nil || b.Enabled {
		t.Errorf("plain bucket: %+v, %v", b, err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	opts := WriterOptions{LockMode: LockGovernance, LockUntil: until, NoOverwrite: true, MaxMemory: 2 * MinPartSize}
	for _, size := range []int{1000, 3*MinPartSize + 17} {
		key := "lock/" + strings.Repeat("x", size%7+1)
		data := make([]byte, size)
		rand.Read(data)
		w := NewWriter(t.Context(), c, locked, key, opts)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("locked upload of %d bytes: %v", size, err)
		}
		if err := WriteManifest(t.Context(), c, locked, key, w.Result().Manifest(), &opts); err != nil {
			t.Fatalf("locked manifest: %v", err)
		}
		for _, k := range []string{key, ManifestKey(key)} {
			l, err := ReadLock(t.Context(), c, locked, k)
			if err != nil || l.Mode != LockGovernance || !l.Until.Equal(until) || !l.Locked(time.Now()) || l.Locked(until.Add(time.Second)) {
				t.Errorf("%s: lock %+v, %v", k, l, err)
			}
			if err := VerifyLock(t.Context(), c, locked, k, &opts); err != nil {
				t.Error(err)
			}
			if _, err := c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(locked), Key: aws.String(k)}); err == nil {
				t.Errorf("%s: the writer's credentials deleted a locked object", k)
			}
		}
		// NoOverwrite still refuses a second writer.
		w = NewWriter(t.Context(), c, locked, key, opts)
		w.Write([]byte("other"))
		if err := w.Close(); err == nil {
			t.Errorf("a second locked write replaced %s", key)
		}
		r, err := NewReader(t.Context(), c, locked, key, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), data) {
			t.Errorf("%s reads back otherwise: %v", key, err)
		}
		r.Close()
	}

	// An object without a lock fails VerifyLock, naming what is missing.
	w := NewWriter(t.Context(), c, locked, "lock/none", WriterOptions{})
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := VerifyLock(t.Context(), c, locked, "lock/none", &opts); !errors.Is(err, ErrNotLocked) || !strings.Contains(err.Error(), "the store keeps -") {
		t.Errorf("an unlocked object: %v", err)
	}

	// A bucket without Object Lock refuses a locked write.
	w = NewWriter(t.Context(), c, bucket, "lock/refused", opts)
	w.Write([]byte("x"))
	if err := w.Close(); err == nil {
		t.Error("a bucket without object lock took a locked write")
	}

	for _, bad := range []WriterOptions{
		{LockMode: "WORM", LockUntil: until},
		{LockMode: LockCompliance},
		{LockUntil: until},
		{LockMode: LockGovernance, LockUntil: time.Now().Add(-time.Minute)},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: valid", bad)
		}
	}
}

package backup

import (
	"context"
	"encoding/json"
	"io"
	"sync/atomic"

	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// newEncrypter returns the osslenc writer with the job's settings: by
// default what "openssl enc -d -aes-256-cbc -pass file:KEY" reads.
func (j *Job) newEncrypter(w io.Writer) (io.WriteCloser, error) {
	return osslenc.NewWriter(w, osslenc.Options{
		KeyLen:   32,
		Password: j.Settings.Password,
		PBKDF2:   j.Settings.PBKDF2,
		Iter:     j.Settings.Iter,
	})
}

func (j *Job) writerOptions() *s3stream.WriterOptions {
	s := j.Settings
	return &s3stream.WriterOptions{
		MaxMemory:    s.MaxMemory,
		StorageClass: s.StorageClass,
		SSE:          s.SSE,
		SSEKMSKeyID:  s.SSEKMSKeyID,
		ContentType:  "application/octet-stream",
	}
}

// newUpload starts the object's upload; nothing is visible in the bucket
// until its Close commits it.
func (j *Job) newUpload(ctx context.Context, key string, stored *atomic.Int64) (*s3stream.Writer, error) {
	opts := j.writerOptions()
	opts.Progress = func(p s3stream.Progress) { stored.Store(p.Bytes) }
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return s3stream.NewWriter(ctx, j.Client, j.Settings.Bucket, key, *opts), nil
}

// writeManifest stores the manifest of a committed backup next to it: the
// upload's facts, and the job's under "backup".
func (j *Job) writeManifest(ctx context.Context, r s3stream.Result, info *Info) error {
	raw, err := json.Marshal(info)
	if err != nil {
		return err
	}
	m := r.Manifest()
	m.Tool = info.Tool
	m.Backup = raw
	return s3stream.WriteManifest(ctx, j.Client, info.Bucket, info.Key, m, j.writerOptions())
}

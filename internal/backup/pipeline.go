package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// newEncrypter returns the writer that encrypts a stream of the job (its
// dump, or a companion) into w as the settings say: by default what
// "openssl enc -d -aes-256-cbc -pass file:KEY" reads, with ENCRYPTION=age
// what "age -d" reads. Its Close flushes and does not close w.
func (j *Job) newEncrypter(w io.Writer) (io.WriteCloser, error) {
	if j.Settings.EncryptionCodec().Name == "age" {
		return newAgeWriter(w, j.Settings.Recipients)
	}
	return osslenc.NewWriter(w, osslenc.Options{
		KeyLen:   32,
		Password: j.Settings.Password.Reveal(),
		PBKDF2:   j.Settings.PBKDF2,
		Iter:     j.Settings.Iter,
	})
}

// writerOptions are the options of the object's upload and its manifest.
// Neither ever replaces an object: two runs started in the same second
// (two schedulers, a retried task, two lists sharing a prefix) name the
// same key, and the later one must fail rather than silently replace the
// other's backup.
// With an object lock, both are written with the lock of info.
func (j *Job) writerOptions(info *catalog.Info) *s3stream.WriterOptions {
	s := j.Settings
	o := &s3stream.WriterOptions{
		MaxMemory:    s.MaxMemory,
		MaxParts:     s.MaxParts,
		PartChecksum: s.PartChecksum,
		StorageClass: s.StorageClass,
		SSE:          s.SSE,
		SSEKMSKeyID:  s.SSEKMSKeyID,
		ContentType:  "application/octet-stream",
		NoOverwrite:  true,
	}
	if l := info.ObjectLock; l != nil {
		o.LockMode, o.LockUntil, o.LegalHold = l.Mode, l.RetainUntil, l.LegalHold
	}
	return o
}

// lockInfo is the object lock of a backup started at start, nil for none.
func (j *Job) lockInfo(start time.Time) *catalog.LockInfo {
	l := j.Settings.Lock
	if !l.On() {
		return nil
	}
	return &catalog.LockInfo{Mode: l.Mode, RetainUntil: l.Until(start), LegalHold: l.LegalHold}
}

// verifyLock reads back the lock of an object written with info's, and
// fails unless the store keeps it: a store that ignores the lock headers
// takes the write and locks nothing.
// Such objects are deleted again (keys, the object first): a backup that
// is not locked as asked is a failed one, and leaves nothing.
func (j *Job) verifyLock(ctx context.Context, info *catalog.Info, keys ...string) error {
	if info.ObjectLock == nil {
		return nil
	}
	err := s3stream.VerifyLock(ctx, j.Client, info.Bucket, keys[len(keys)-1], j.writerOptions(info))
	if !errors.Is(err, s3stream.ErrNotLocked) {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		if _, derr := j.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &info.Bucket, Key: &k}); derr != nil {
			return fmt.Errorf("%w (and deleting it failed: %v)", err, s3stream.Describe("delete", info.Bucket, k, derr))
		}
	}
	return fmt.Errorf("%w; it was deleted", err)
}

// newUpload starts the object's upload; nothing is visible in the bucket
// until its Close commits it.
func (j *Job) newUpload(ctx context.Context, info *catalog.Info) (*upload, error) {
	key := info.Key
	opts := j.writerOptions(info)
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &upload{s3stream.NewWriter(ctx, j.Client, j.Settings.Bucket, key, *opts)}, nil
}

// upload is the object's upload: its Close says in the job's terms when
// another run got to the key first.
type upload struct{ *s3stream.Writer }

func (u *upload) Close() error {
	err := u.Writer.Close()
	var ee *s3stream.ExistsError
	if errors.As(err, &ee) {
		return &raceError{err, ee}
	}
	return err
}

// raceError is an upload that lost its key to another run.
type raceError struct {
	err error // the upload's, which may say more after e's message
	e   *s3stream.ExistsError
}

func (r *raceError) Error() string {
	msg := fmt.Sprintf("another backup already exists at s3://%s/%s (two runs in the same second?); it was left as it is", r.e.Bucket, r.e.Key)
	if r.e.Replaced {
		msg = fmt.Sprintf("another backup replaced s3://%s/%s just after this one was stored (two runs in the same second?)", r.e.Bucket, r.e.Key)
	}
	if rest, ok := strings.CutPrefix(r.err.Error(), r.e.Error()); ok {
		msg += rest
	}
	return msg
}

func (r *raceError) Unwrap() error { return r.err }

// writeManifest stores the manifest of a committed backup next to it.
func (j *Job) writeManifest(ctx context.Context, r s3stream.Result, info *catalog.Info) error {
	m, err := manifest(r, info)
	if err != nil {
		return err
	}
	if err := s3stream.WriteManifest(ctx, j.Client, info.Bucket, info.Key, m, j.writerOptions(info)); err != nil {
		return err
	}
	return j.verifyLock(ctx, info, info.Key, s3stream.ManifestKey(info.Key))
}

// manifest is the manifest of a committed backup: the upload's facts, and
// the job's under "backup".
func manifest(r s3stream.Result, info *catalog.Info) (*s3stream.Manifest, error) {
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	m := r.Manifest()
	m.Tool = info.Tool
	m.Backup = raw
	return m, nil
}

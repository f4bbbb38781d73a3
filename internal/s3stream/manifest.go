package s3stream

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// ManifestVersion is the Version written into new manifests. It changes
// only when a field changes meaning; new fields are added without a new
// version, and readers ignore fields they do not know.
const ManifestVersion = 1

// maxManifestSize caps how much of a manifest object is read.
const maxManifestSize = 1 << 20

// ManifestSuffix is appended to an object's key to name its manifest.
const ManifestSuffix = ".manifest.json"

// Manifest describes an uploaded object so that a download can be checked
// end to end. See the package comment for the JSON form.
type Manifest struct {
	Version     int             `json:"version"`
	Tool        string          `json:"tool,omitempty"`
	Bucket      string          `json:"bucket"`
	Key         string          `json:"key"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256"`
	ETag        string          `json:"etag,omitempty"`
	VersionID   string          `json:"version_id,omitempty"`
	Parts       int             `json:"parts"`
	PartSize    int64           `json:"part_size"`
	ContentType string          `json:"content_type,omitempty"`
	Completed   time.Time       `json:"completed"`
	Backup      json.RawMessage `json:"backup,omitempty"`
}

// Manifest returns the manifest of the upload r describes.
func (r Result) Manifest() *Manifest {
	return &Manifest{
		Version: ManifestVersion, Bucket: r.Bucket, Key: r.Key,
		Size: r.Size, SHA256: r.SHA256, ETag: r.ETag, VersionID: r.VersionID,
		Parts: r.Parts, PartSize: r.PartSize, ContentType: r.ContentType,
		Completed: r.Completed,
	}
}

// Marshal returns the manifest as it is stored: indented JSON and a newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ManifestKey is the key of the manifest of the object at key.
func ManifestKey(key string) string { return key + ManifestSuffix }

// WriteManifest stores m as the manifest of s3://bucket/key. Write it only
// after the object's upload completed. The SSE settings of opts, when
// given, apply to the manifest too (bucket policies may demand them), and
// so does its object lock.
// With opts.NoOverwrite the manifest too is written only where none is,
// and read back: another writer's manifest there is an *ExistsError.
func WriteManifest(ctx context.Context, client *s3.Client, bucket, key string, m *Manifest, opts *WriterOptions) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           aws.String(ManifestKey(key)),
		Body:          bytes.NewReader(b),
		ContentLength: aws.Int64(int64(len(b))),
		ContentType:   aws.String("application/json"),
	}
	if opts != nil {
		in.ServerSideEncryption = types.ServerSideEncryption(opts.SSE)
		if opts.SSEKMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(opts.SSEKMSKeyID)
		}
		in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus = opts.lockFields()
		if in.ObjectLockMode != "" || in.ObjectLockLegalHoldStatus != "" {
			// S3 takes a locked write only with a checksum of its body.
			sum := md5.Sum(b)
			in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
		}
	}
	noOverwrite := opts != nil && opts.NoOverwrite
	if noOverwrite {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = client.PutObject(ctx, in)
	switch {
	case noOverwrite && preconditionFailed(err):
		// A retry after an answer that was lost finds the manifest the
		// first attempt wrote.
		if got, rerr := readRaw(ctx, client, bucket, ManifestKey(key)); rerr != nil || !bytes.Equal(got, b) {
			return &ExistsError{Bucket: bucket, Key: ManifestKey(key)}
		}
	case err != nil:
		return unsupported(describe("write manifest", bucket, ManifestKey(key), err), putFeatures(in)...)
	case noOverwrite:
		// For stores that ignore If-None-Match. A manifest that cannot
		// be read back (credentials that may not read) is taken as
		// written.
		if got, rerr := readRaw(ctx, client, bucket, ManifestKey(key)); rerr == nil && !bytes.Equal(got, b) {
			return &ExistsError{Bucket: bucket, Key: ManifestKey(key), Replaced: true}
		}
	}
	return nil
}

// readRaw reads a small object, up to maxManifestSize+1 bytes.
func readRaw(ctx context.Context, client *s3.Client, bucket, key string) ([]byte, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, maxManifestSize+1))
}

// ReadManifest reads the manifest of s3://bucket/key. When there is none it
// returns an error matching ErrNoManifest.
func ReadManifest(ctx context.Context, client *s3.Client, bucket, key string) (*Manifest, error) {
	mk := ManifestKey(key)
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &mk})
	if err != nil {
		if apiCode(err) == "NoSuchKey" || (httpStatus(err) == 404 && apiCode(err) != "NoSuchBucket") {
			return nil, fmt.Errorf("s3://%s/%s: %w", bucket, mk, ErrNoManifest)
		}
		return nil, describe("read manifest", bucket, mk, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxManifestSize+1))
	if err != nil {
		return nil, describe("read manifest", bucket, mk, err)
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("manifest s3://%s/%s is larger than %s", bucket, mk, units.FormatSize(maxManifestSize))
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest s3://%s/%s: %v", bucket, mk, err)
	}
	if m.Version < 1 || m.SHA256 == "" {
		return nil, fmt.Errorf("manifest s3://%s/%s: not a manifest of version %d or later with a sha256", bucket, mk, ManifestVersion)
	}
	return &m, nil
}

// ChecksumError reports a download that differs from its manifest.
type ChecksumError struct {
	Bucket, Key        string
	Size, WantSize     int64
	SHA256, WantSHA256 string // hex; empty when only the size was compared
	Stale              bool   // the manifest names another ETag than the object's
}

func (e *ChecksumError) Error() string {
	var msg string
	if e.Size != e.WantSize {
		msg = fmt.Sprintf("checksum mismatch for s3://%s/%s: the object has %d bytes, its manifest says %d", e.Bucket, e.Key, e.Size, e.WantSize)
	} else {
		msg = fmt.Sprintf("checksum mismatch for s3://%s/%s: sha256 %s, its manifest says %s", e.Bucket, e.Key, e.SHA256, e.WantSHA256)
	}
	if e.Stale {
		msg += " (the manifest was written for another version of the object)"
	}
	return msg
}

func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// Check compares a download's size and SHA-256 (hex) with the manifest.
func (m *Manifest) Check(size int64, sha256 string) error {
	if size != m.Size || sha256 != m.SHA256 {
		return &ChecksumError{Bucket: m.Bucket, Key: m.Key, Size: size, WantSize: m.Size, SHA256: sha256, WantSHA256: m.SHA256}
	}
	return nil
}

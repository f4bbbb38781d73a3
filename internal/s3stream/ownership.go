package s3stream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// refused handles a conditional commit the service refused because an
// object is at the key (412), or because another write to it ran at the
// same time (409). When an earlier attempt of this commit may have
// reached the server, the object may be this writer's own: then it
// returns the object's state. Otherwise another writer won the key, and
// the error is an *ExistsError, or for a 409 without an object there the
// service's answer.
func (w *Writer) refused(err error) (objectState, error) {
	if w.commitSent.Load() > 0 {
		// A retry after an answer that was lost finds the object that
		// the first attempt created.
		obj, ok, oerr := w.ours(w.ctx)
		if ok {
			return obj, nil
		}
		if oerr != nil {
			return objectState{}, fmt.Errorf("%w (and the object could not be checked: %v)", &ExistsError{Bucket: w.bucket, Key: w.key}, oerr)
		}
		if !obj.exists && !preconditionFailed(err) {
			return objectState{}, describe("complete upload to", w.bucket, w.key, err)
		}
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	if preconditionFailed(err) {
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	if obj, herr := w.head(w.ctx, false); herr == nil && obj.exists {
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	return objectState{}, describe("complete upload to", w.bucket, w.key, err)
}

// objectState identifies one version of the object at a key.
type objectState struct {
	exists    bool
	etag      string
	versionID string
	modified  time.Time
	size      int64
	crc32c    string // the object's CRC32C checksum, when asked for and known
}

// same reports whether o and p are the same version of the object.
func (o objectState) same(p objectState) bool {
	if !o.exists || !p.exists {
		return o.exists == p.exists
	}
	if o.versioned() && p.versioned() {
		return o.versionID == p.versionID
	}
	return o.etag == p.etag && o.modified.Equal(p.modified)
}

func (o objectState) versioned() bool { return o.versionID != "" && o.versionID != "null" }

// head reads the state of the object at the key; a missing object is no
// error.
func (w *Writer) head(ctx context.Context, crc bool) (objectState, error) {
	in := &s3.HeadObjectInput{Bucket: &w.bucket, Key: &w.key}
	if crc {
		in.ChecksumMode = types.ChecksumModeEnabled
	}
	out, err := w.client.HeadObject(ctx, in)
	if err != nil {
		if isNotFound(err) || httpStatus(err) == http.StatusNotFound {
			return objectState{}, nil
		}
		return objectState{}, err
	}
	return objectState{
		exists:    true,
		etag:      aws.ToString(out.ETag),
		versionID: aws.ToString(out.VersionId),
		modified:  aws.ToTime(out.LastModified),
		size:      aws.ToInt64(out.ContentLength),
		crc32c:    aws.ToString(out.ChecksumCRC32C),
	}, nil
}

// ours reports whether the object at the key is one this writer created,
// by what S3 derives from the part checksums (with MD5 the ETag, with
// CRC32C the object's checksum) and by its differing from the object that
// was at the key before the commit. It returns the object's state, and an
// error when it cannot tell.
func (w *Writer) ours(ctx context.Context) (objectState, bool, error) {
	w.mu.Lock()
	crc := w.algo == ChecksumCRC32C
	prior, priorKnown := w.prior, w.priorKnown
	want := w.wantLocked()
	w.mu.Unlock()
	obj, err := w.head(ctx, crc)
	switch {
	case err != nil:
		return obj, false, err
	case !obj.exists:
		return obj, false, nil
	case priorKnown && prior.same(obj):
		// The object that was there before, whatever its bytes.
		return obj, false, nil
	case obj.size != w.written.Load():
		// Another writer's, whatever the service tells of its checksums.
		return obj, false, nil
	case crc && obj.crc32c == "":
		return obj, false, errors.New("the service did not tell the object's CRC32C checksum")
	case crc && obj.crc32c != want:
		return obj, false, nil
	case !crc && w.opts.SSE != "" && w.opts.SSE != string(types.ServerSideEncryptionAes256):
		// Under SSE-KMS the ETag is no MD5.
		return obj, false, errors.New("under SSE-KMS the object's ETag does not tell its content")
	case !crc && obj.etag != want:
		return obj, false, nil
	case !priorKnown:
		return obj, false, errors.New("the object has this upload's content, but what was at the key before is unknown")
	case prior.exists && !obj.versioned() && (crc && prior.crc32c == want || !crc && prior.etag == want):
		// The commit replaced an object with the same bytes: removing
		// it would lose them, where keeping it leaves the key as it was.
		return obj, false, nil
	}
	return obj, true, nil
}

// replacedAfterCommit reads back the object a NoOverwrite commit created,
// for stores that ignore If-None-Match, and reports whether another
// writer's object is at the key: another size, version or ETag than this
// commit's, or another checksum where the service named no ETag. When the
// object cannot be read (credentials that may write but not read), the
// conditional write stands alone.
func (w *Writer) replacedAfterCommit(res Result) bool {
	w.mu.Lock()
	crc := w.algo == ChecksumCRC32C
	want := w.wantLocked()
	w.mu.Unlock()
	obj, err := w.head(w.ctx, crc)
	if err != nil {
		return false
	}
	versioned := obj.versioned() && res.VersionID != "" && res.VersionID != "null"
	return !obj.exists ||
		obj.size != w.written.Load() ||
		versioned && obj.versionID != res.VersionID ||
		res.ETag != "" && strings.Trim(obj.etag, `"`) != strings.Trim(res.ETag, `"`) ||
		res.ETag == "" && crc && obj.crc32c != "" && obj.crc32c != want
}

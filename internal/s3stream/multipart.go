package s3stream

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// multipart is the state of a Writer's multipart upload, guarded by
// Writer.mu. A stream that ends within its first part never has one.
type multipart struct {
	id       string   // the upload's ID; "" until CreateMultipartUpload answered
	etags    []string // by part number - 1; "" while the part uploads
	sums     [][]byte // part checksums, by part number - 1
	maxPart  int64    // size of the largest part
	inFlight int      // part uploads running
}

// createLocked starts the multipart upload (create), with w.mu held but
// not during the request; a failure is the writer's error.
func (w *Writer) createLocked() {
	w.busy++
	w.mu.Unlock()
	id, err := w.create()
	w.mu.Lock()
	w.busy--
	w.cond.Broadcast()
	w.mp.id = id // set on some failures too, for the clean-up
	if err != nil {
		w.failLocked(err)
	}
}

// create starts the multipart upload. It does not use the writer's
// context: a cancelled CreateMultipartUpload may still have created the
// upload on the server, and only its ID lets the clean-up abort it.
func (w *Writer) create() (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 2*time.Minute)
	defer cancel()
	of := w.opts.objectFields()
	in := &s3.CreateMultipartUploadInput{
		Bucket:                    &w.bucket,
		Key:                       &w.key,
		StorageClass:              of.storageClass,
		ServerSideEncryption:      of.sse,
		SSEKMSKeyId:               of.sseKMSKeyID,
		ContentType:               of.contentType,
		Metadata:                  of.metadata,
		ObjectLockMode:            of.lockMode,
		ObjectLockRetainUntilDate: of.lockUntil,
		ObjectLockLegalHoldStatus: of.legalHold,
	}
	for {
		if w.algo == ChecksumCRC32C {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
		} else {
			in.ChecksumAlgorithm = ""
		}
		began := time.Now()
		var sent atomic.Int32
		out, err := w.client.CreateMultipartUpload(ctx, in, countSent(&sent))
		var id string
		if err == nil {
			id = aws.ToString(out.UploadId)
		}
		if err == nil && sent.Load() > 1 || err != nil && sent.Load() > 0 {
			// An attempt whose answer was lost (or that failed after the
			// server acted) may have created an upload that only a
			// listing finds.
			if serr := w.abortStrays(ctx, id, began); serr != nil {
				if err == nil {
					// The clean-up aborts the upload kept.
					return id, serr
				}
				return "", fmt.Errorf("%w\nalso: %v", describe("upload to", w.bucket, w.key, err), serr)
			}
		}
		if err == nil {
			return id, nil
		}
		if !w.fallBack(err) {
			return "", w.checksumError(unsupported(describe("upload to", w.bucket, w.key, err), createFeatures(in)...))
		}
	}
}

// StrayError is the failure to find or abort the multipart uploads that a
// CreateMultipartUpload whose answer was lost may have made: the create
// itself was allowed.
type StrayError struct{ Err error }

func (e *StrayError) Error() string { return e.Err.Error() }
func (e *StrayError) Unwrap() error { return e.Err }

// clockSkew is how far the server's clock may be behind this host's when
// abortStrays compares the times uploads were initiated.
const clockSkew = time.Minute

// abortStrays aborts the multipart uploads of exactly this key, other
// than keep, initiated since began (less clockSkew): those a
// CreateMultipartUpload made for this writer although its answer was lost.
func (w *Writer) abortStrays(ctx context.Context, keep string, began time.Time) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &w.bucket, Prefix: &w.key}
	for page := 0; page < 100; page++ {
		out, err := w.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return &StrayError{NeedsPermission(describe("list the uploads (to abort a stray one) of", w.bucket, w.key, err), "s3:ListBucketMultipartUploads")}
		}
		for _, u := range out.Uploads {
			id := aws.ToString(u.UploadId)
			if aws.ToString(u.Key) != w.key || id == keep || u.Initiated == nil || u.Initiated.Before(began.Add(-clockSkew)) {
				continue
			}
			_, err := w.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id})
			if err != nil && apiCode(err) != "NoSuchUpload" {
				return &StrayError{NeedsPermission(describe(fmt.Sprintf("abort stray upload (ID %s) of", id), w.bucket, w.key, err), "s3:AbortMultipartUpload")}
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	return nil
}

// complete completes the multipart upload.
func (w *Writer) complete() (Result, error) {
	parts := make([]types.CompletedPart, len(w.mp.etags))
	for i, e := range w.mp.etags {
		parts[i] = types.CompletedPart{ETag: aws.String(e), PartNumber: aws.Int32(int32(i + 1))}
		// A completed part names its CRC32C; Content-MD5 has no such field.
		_, parts[i].ChecksumCRC32C = w.checksumFields(w.mp.sums[i])
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          &w.bucket,
		Key:             &w.key,
		UploadId:        &w.mp.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if w.opts.NoOverwrite {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := w.client.CompleteMultipartUpload(w.ctx, in, attemptDeadline(completeTimeout), countSent(&w.commitSent))
	res := Result{Parts: len(parts), PartSize: w.mp.maxPart}
	if err == nil {
		res.ETag, res.VersionID = aws.ToString(out.ETag), aws.ToString(out.VersionId)
		return res, nil
	}
	if w.opts.NoOverwrite && (preconditionFailed(err) || conditionalConflict(err)) && w.ctx.Err() == nil {
		// A 409 cannot be retried here: S3 wants the upload made anew,
		// and the parts are gone from memory.
		obj, rerr := w.refused(err)
		if rerr != nil {
			return Result{}, rerr
		}
		res.ETag, res.VersionID = obj.etag, obj.versionID
		return res, nil
	}
	if apiCode(err) == "NoSuchUpload" && w.ctx.Err() == nil {
		// A retry after a completion whose answer was lost finds the
		// upload gone; the object tells whether it was ours.
		obj, ok, oerr := w.ours(w.ctx)
		if ok {
			res.ETag, res.VersionID = obj.etag, obj.versionID
			return res, nil
		}
		if oerr != nil {
			return Result{}, fmt.Errorf("%w (and the object could not be checked: %v)", describe("complete upload to", w.bucket, w.key, err), oerr)
		}
	}
	return Result{}, unsupported(describe("complete upload to", w.bucket, w.key, err), w.completeFeatures()...)
}

// completeTimeout bounds one attempt at CompleteMultipartUpload, which can
// take minutes on a large object, but not forever.
var completeTimeout = 15 * time.Minute

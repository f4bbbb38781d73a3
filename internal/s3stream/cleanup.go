package s3stream

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The clean-up after failure.
//
// The first error starts the clean-up (failLocked), which runs once. It
// waits until no request that may create server state is running
// (w.busy): a part upload, CreateMultipartUpload or the commit; and, when
// the error came while committing, until the commit decided the upload's
// state (state.go). Only then is what those requests may have left known:
// the upload ID, and whether a commit attempt may have reached the server
// although its answer was lost (w.commitSent). A committed upload, whose
// commit outlived the error, and a replaced one leave nothing to clean up.

// Abort abandons the upload: it stops the part uploads, aborts the
// multipart upload, and makes every later call return cause (ErrAborted
// when nil). It returns nil when nothing is left on the server, ErrCommitted
// when Close had already completed the upload, and otherwise the error of
// the clean-up.
func (w *Writer) Abort(cause error) error {
	if cause == nil {
		cause = ErrAborted
	}
	w.mu.Lock()
	if w.state == stateCommitted {
		w.mu.Unlock()
		return ErrCommitted
	}
	w.failLocked(cause)
	w.mu.Unlock()
	<-w.cleanupDone
	w.ticker.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == stateCommitted {
		return ErrCommitted
	}
	return w.cleanupErr
}

// fail records err as the writer's error (unless there is one already, or
// the upload is committed) and starts the clean-up. It returns the
// writer's error.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failLocked(err)
	return w.err
}

func (w *Writer) failLocked(err error) {
	if w.err != nil || w.state == stateCommitted {
		return
	}
	w.err = err
	// While committing, the commit decides the state: the cancelled
	// context stops it, unless it went through already.
	if w.state == stateOpen {
		w.setState(stateFailed)
	}
	w.cancel(err)
	w.cond.Broadcast()
	w.cleanupOnce.Do(func() { go w.cleanup() })
}

// failed waits for the clean-up and returns the writer's error, with the
// clean-up's failure if any.
func (w *Writer) failed() error {
	<-w.cleanupDone
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == stateCommitted {
		return nil
	}
	if w.cleanupErr != nil {
		return fmt.Errorf("%w\nalso: %v", w.err, w.cleanupErr)
	}
	return w.err
}

// cleanup runs once after the first failure: when no request that could
// create server state is in flight any more, it aborts the multipart
// upload, and after a failed commit it deletes the object if the commit
// went through although its answer was lost. It uses its own context,
// since the writer's is cancelled by now.
func (w *Writer) cleanup() {
	defer close(w.cleanupDone)
	w.mu.Lock()
	for w.busy > 0 || w.state == stateCommitting {
		w.cond.Wait()
	}
	id, state, sent := w.mp.id, w.state, w.commitSent.Load() > 0
	switch state {
	case stateCommitted:
		// The commit went through before the error stopped it: the
		// object is this writer's, and stays.
		w.mu.Unlock()
		return
	case stateReplaced:
		// Nothing of this writer's is left: the upload was completed,
		// and the object at the key now is another writer's.
		w.setState(stateCleaned)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if id != "" {
		err = w.abortUpload(ctx, id)
		switch {
		case apiCode(err) == "NoSuchUpload" || httpStatus(err) == http.StatusNotFound:
			// Completed (by a commit whose answer was lost) or aborted.
			err = nil
			if sent {
				err = w.deleteIfOurs(ctx)
			}
		case err != nil:
			err = describe(fmt.Sprintf("abort unfinished upload (ID %s) of", id), w.bucket, w.key, err)
		}
	} else if sent {
		err = w.deleteIfOurs(ctx)
	}
	w.mu.Lock()
	w.cleanupErr = err
	w.setState(stateCleaned)
	w.mu.Unlock()
}

// abortUpload aborts the multipart upload id and makes sure it is gone: a
// part upload the server was still processing when the abort arrived can
// leave the upload (or its parts) behind, so, as S3's documentation
// advises, it lists the parts and aborts again until none remain.
// Credentials that may abort but not list the parts
// (s3:ListMultipartUploadParts, which a backup needs for nothing else)
// abort once more after a moment, for a part the server was still
// taking, and take that answer as it is.
func (w *Writer) abortUpload(ctx context.Context, id string) error {
	in := &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id}
	if _, err := w.client.AbortMultipartUpload(ctx, in); err != nil {
		return err
	}
	for attempt := 1; attempt <= 6; attempt++ {
		_, err := w.client.ListParts(ctx, &s3.ListPartsInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id})
		if apiCode(err) == "NoSuchUpload" || httpStatus(err) == http.StatusNotFound {
			return nil
		}
		if KindOf(describe("", w.bucket, w.key, err)) == AccessDenied {
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			if _, err := w.client.AbortMultipartUpload(ctx, in); err != nil && apiCode(err) != "NoSuchUpload" && httpStatus(err) != http.StatusNotFound {
				return err
			}
			return nil
		}
		if err != nil {
			return describe(fmt.Sprintf("check the abort of upload (ID %s) of", id), w.bucket, w.key, err)
		}
		select {
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := w.client.AbortMultipartUpload(ctx, in); err != nil && apiCode(err) != "NoSuchUpload" {
			return err
		}
	}
	return fmt.Errorf("upload (ID %s) of s3://%s/%s is still there after aborting it repeatedly", id, w.bucket, w.key)
}

// deleteIfOurs removes the object a failed commit created nonetheless: a
// request whose answer was lost, or that went through while the writer was
// aborted. An object that was at the key before is never removed, and one
// that cannot be told apart is reported.
func (w *Writer) deleteIfOurs(ctx context.Context) error {
	obj, ok, err := w.ours(ctx)
	if err != nil {
		return fmt.Errorf("could not verify that s3://%s/%s was not created: %w", w.bucket, w.key, err)
	}
	if !ok {
		return nil
	}
	in := &s3.DeleteObjectInput{Bucket: &w.bucket, Key: &w.key, IfMatch: aws.String(obj.etag)}
	if obj.versioned() {
		// In a versioned bucket, a delete without the version would only
		// hide the versions before it.
		in.VersionId = aws.String(obj.versionID)
	}
	if _, err := w.client.DeleteObject(ctx, in); err != nil {
		return describe("delete the object completed during the abort:", w.bucket, w.key, err)
	}
	return nil
}

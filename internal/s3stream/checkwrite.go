package s3stream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// CheckWrite proves, before any stream is at hand, that client may create
// the object s3://bucket/key as a Writer with opts would, and leaves
// nothing behind. It sends the Writer's own first request of a multipart
// upload, CreateMultipartUpload with the fields opts give every object
// (storage class, server-side encryption, object lock, metadata) and the
// part checksum's algorithm, so that the service checks the permissions
// those need as well; then it aborts the upload. A multipart upload is no
// object: none is created, and whatever is at key stays as it is, locked
// or not. The costs are two requests and no bytes.
//
// A refusal is the error, an *Error whose Permission names what the
// request needed (WritePermissions). When the upload was created but
// could not be aborted, the write is allowed and the error is an
// *AbortError: an unfinished upload is left at key.
func CheckWrite(ctx context.Context, client *s3.Client, bucket, key string, opts WriterOptions) error {
	opts.Progress = nil
	w := NewWriter(ctx, client, bucket, key, opts)
	w.mu.Lock()
	if w.err == nil {
		w.createLocked()
	}
	err := w.err
	w.mu.Unlock()
	aerr := w.Abort(errChecked)
	var stray *StrayError
	if errors.As(err, &stray) {
		// The create was allowed; what may be left is its stray.
		err, aerr = nil, errors.Join(stray, aerr)
	}
	switch {
	case err != nil && aerr != nil:
		return fmt.Errorf("%w\nalso: %v", NeedsPermission(err, WritePermissions(opts)), aerr)
	case err != nil:
		return NeedsPermission(err, WritePermissions(opts))
	case aerr != nil:
		return &AbortError{NeedsPermission(aerr, "s3:AbortMultipartUpload")}
	}
	return nil
}

// errChecked ends CheckWrite's upload.
var errChecked = errors.New("write checked")

// AbortError is CheckWrite's error when the service allowed the write but
// its upload (or a stray one of a retried create) could not be aborted or
// found: it may be left unfinished at the key.
type AbortError struct{ Err error }

func (e *AbortError) Error() string { return e.Err.Error() }
func (e *AbortError) Unwrap() error { return e.Err }

// WritePermissions are the permissions a Writer with opts needs to create
// its object: s3:PutObject, and what the lock fields and SSE-KMS need.
func WritePermissions(opts WriterOptions) string {
	p := []string{"s3:PutObject"}
	if opts.LockMode != "" {
		p = append(p, "s3:PutObjectRetention")
	}
	if opts.LegalHold {
		p = append(p, "s3:PutObjectLegalHold")
	}
	if strings.HasPrefix(opts.SSE, "aws:kms") {
		// A multipart upload under SSE-KMS asks the key for both.
		p = append(p, "kms:GenerateDataKey and kms:Decrypt on the KMS key")
	}
	switch len(p) {
	case 1:
		return p[0]
	default:
		return strings.Join(p[:len(p)-1], ", ") + " and " + p[len(p)-1]
	}
}

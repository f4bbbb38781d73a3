package s3stream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Errors a caller can test for with errors.Is.
var (
	// ErrAborted is the cause of an Abort called with a nil cause.
	ErrAborted = errors.New("upload aborted")
	// ErrCommitted is returned by Abort after the upload was completed.
	ErrCommitted = errors.New("upload already completed")
	// ErrNoManifest is returned by ReadManifest when the object has none.
	ErrNoManifest = errors.New("no manifest")
	// ErrChecksum matches a *ChecksumError.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrExists matches an *ExistsError.
	ErrExists = errors.New("object exists")
)

// ExistsError reports an upload with WriterOptions.NoOverwrite, or a
// manifest written with it, that lost the key to another writer: the
// object at the key is not this upload's, and it was left as it is.
type ExistsError struct {
	Bucket, Key string
	// Replaced: this upload's commit went through, but the object at the
	// key right after it was another writer's (a store that ignores
	// If-None-Match, or a writer that does not send it).
	Replaced bool
}

func (e *ExistsError) Error() string {
	if e.Replaced {
		return fmt.Sprintf("another writer replaced s3://%s/%s just after this upload completed it: the object there is not this upload's", e.Bucket, e.Key)
	}
	return fmt.Sprintf("s3://%s/%s already exists (another writer got there first); this upload did not replace it", e.Bucket, e.Key)
}

func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// preconditionFailed reports the answer to a conditional write that found
// an object at the key.
func preconditionFailed(err error) bool {
	return apiCode(err) == "PreconditionFailed" || httpStatus(err) == 412
}

// conditionalConflict reports the answer to a conditional write that ran
// at the same time as another write to the key.
func conditionalConflict(err error) bool {
	return apiCode(err) == "ConditionalRequestConflict"
}

// apiCode is the S3 error code in err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the response err came with, or 0 when no
// response came (the SDK wraps transport errors in a ResponseError too).
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchBucket":
		return true
	}
	return httpStatus(err) == 404
}

// Describe is describe for callers that make S3 requests of their own.
func Describe(op, bucket, key string, err error) error { return describe(op, bucket, key, err) }

// describe turns an error of an S3 request about s3://bucket/key into an
// *Error: one line, "op s3://bucket/key: what went wrong", and the Kind of
// mistake that likely caused it. It never includes credentials. An error
// already described, and a cancellation, are returned with the op only.
func describe(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	target := "s3://" + bucket
	if key != "" {
		target += "/" + key
	}
	var d *Error
	if errors.As(err, &d) {
		return err
	}
	wrap := func(kind Kind, msg string) *Error {
		return &Error{Kind: kind, Bucket: bucket, Key: key, head: op + " " + target, msg: op + " " + target + ": " + msg, Err: err}
	}

	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if httpStatus(err) == 0 {
			return wrap(Unclassified, err.Error())
		}
	}
	var se *v4.SigningError
	if errors.As(err, &se) || strings.Contains(err.Error(), "get identity: ") || strings.Contains(err.Error(), "failed to refresh cached credentials") {
		return wrap(NoCredentials, "no usable AWS credentials")
	}
	code := apiCode(err)
	status := httpStatus(err)
	switch code {
	case "NoSuchBucket":
		return wrap(NoSuchBucket, fmt.Sprintf("bucket %q does not exist", bucket))
	case "NoSuchKey":
		return wrap(NotFound, "no such object")
	case "NotFound":
		if key == "" {
			return wrap(NoSuchBucket, fmt.Sprintf("bucket %q does not exist", bucket))
		}
		return wrap(NotFound, "no such object")
	case "NoSuchUpload":
		return wrap(Unclassified, "the multipart upload no longer exists (aborted elsewhere, or expired by a lifecycle rule)")
	case "AccessDenied", "AllAccessDisabled", "Forbidden":
		return wrap(AccessDenied, "access denied")
	case "InvalidAccessKeyId", "XAdminUserNotFound":
		return wrap(UnknownAccessKey, "the server does not know the access key ID")
	case "SignatureDoesNotMatch":
		return wrap(BadSignature, "the server rejected the request signature")
	case "ExpiredToken", "TokenRefreshRequired", "ExpiredTokenException":
		return wrap(ExpiredToken, "the credentials have expired")
	case "InvalidToken":
		return wrap(InvalidToken, "the session token is invalid")
	case "RequestTimeTooSkewed":
		return wrap(ClockSkew, "the local clock differs too much from the server's")
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		e := wrap(WrongRegion, "the bucket is in another region than the one requested")
		e.Region = responseHeader(err, "X-Amz-Bucket-Region")
		return e
	case "InvalidBucketName":
		return wrap(InvalidBucketName, fmt.Sprintf("invalid bucket name %q", bucket))
	case "PreconditionFailed":
		return wrap(Unclassified, "the object changed during the download")
	case "EntityTooLarge":
		return wrap(Unclassified, "the object is too large for this S3 service")
	}
	if status == 403 {
		return wrap(Forbidden, "access denied (HTTP 403)")
	}
	if status == 301 {
		return wrap(Moved, "the bucket is in another region, or needs another endpoint (HTTP 301)")
	}

	endpoint := requestHost(err)
	var e *Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		e = wrap(ConnectionRefused, fmt.Sprintf("cannot connect to %s: connection refused", endpoint))
	case isDNSError(err):
		e = wrap(UnknownHost, fmt.Sprintf("cannot resolve the host of %s", endpoint))
	case isTLSError(err):
		e = wrap(TLSFailed, fmt.Sprintf("TLS with %s failed", endpoint))
	}
	if e != nil {
		if endpoint != unknownEndpoint {
			e.Endpoint = endpoint
		}
		return e
	}
	if code != "" {
		msg := code
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorMessage() != "" {
			msg += ": " + strings.TrimSuffix(ae.ErrorMessage(), ".")
		}
		if status != 0 {
			msg += fmt.Sprintf(" (HTTP %d)", status)
		}
		var mae *retry.MaxAttemptsError
		if errors.As(err, &mae) {
			msg += fmt.Sprintf(", after %d attempts", mae.Attempt)
		}
		return wrap(Unclassified, msg)
	}
	if status != 0 {
		return wrap(Unclassified, fmt.Sprintf("HTTP %d", status))
	}
	return wrap(Unclassified, lastLine(err))
}

// lastLine shortens an SDK transport error to its root cause.
func lastLine(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return fmt.Sprintf("%s %s: %v", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err.Error()
}

func responseHeader(err error, name string) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

// requestHost is scheme://host of the request that failed, without path
// or query.
func requestHost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return hostOf(ue.URL)
	}
	return unknownEndpoint
}

// unknownEndpoint names the endpoint in messages when the request's URL is
// unknown.
const unknownEndpoint = "the S3 endpoint"

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return unknownEndpoint
	}
	return u.Scheme + "://" + u.Host
}

func isDNSError(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

func isTLSError(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	return errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) ||
		strings.Contains(err.Error(), "tls: ") || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

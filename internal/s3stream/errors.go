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

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
)

// Errors a caller can test for with errors.Is.
var (
	// ErrAborted is the cause of an Abort called with a nil cause.
	ErrAborted = errors.New("upload aborted")
	// ErrCommitted is returned by Abort after the upload was completed.
	ErrCommitted = errors.New("upload already completed")
	// ErrNoManifest is returned by ReadManifest when the object has none.
	ErrNoManifest = errors.New("no manifest")
	// ErrNotFound matches errors about a missing bucket or object.
	ErrNotFound = errors.New("not found")
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

// describedError is an SDK error restated in one line for people; it
// unwraps to the SDK's error.
type describedError struct {
	msg string
	err error
	is  error // an exported sentinel the error matches, or nil
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() []error {
	if e.is != nil {
		return []error{e.err, e.is}
	}
	return []error{e.err}
}

// describe turns an error of an S3 request about s3://bucket/key into one
// line, "op s3://bucket/key: what went wrong", with a hint where a likely
// mistake can be named. It never includes credentials. An error already
// described, and a cancellation, are returned with the op only.
func describe(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	target := "s3://" + bucket
	if key != "" {
		target += "/" + key
	}
	var d *describedError
	if errors.As(err, &d) {
		return err
	}
	wrap := func(msg string, is error) error {
		return &describedError{msg: op + " " + target + ": " + msg, err: err, is: is}
	}
	hint := func(e error, h string) error { return cli.WithHint(e, "%s", h) }
	checkCreds := "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that the endpoint is the server they belong to"

	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if httpStatus(err) == 0 {
			return wrap(err.Error(), nil)
		}
	}
	var se *v4.SigningError
	if errors.As(err, &se) || strings.Contains(err.Error(), "get identity: ") || strings.Contains(err.Error(), "failed to refresh cached credentials") {
		return hint(wrap("no usable AWS credentials", nil),
			"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run 'aws sso login' when the profile uses SSO)")
	}
	code := apiCode(err)
	status := httpStatus(err)
	switch code {
	case "NoSuchBucket":
		return hint(wrap(fmt.Sprintf("bucket %q does not exist", bucket), ErrNotFound),
			"check the bucket name, and the endpoint and region it lives in (--endpoint, --region)")
	case "NoSuchKey":
		return wrap("no such object", ErrNotFound)
	case "NotFound":
		if key == "" {
			return hint(wrap(fmt.Sprintf("bucket %q does not exist", bucket), ErrNotFound),
				"check the bucket name, and the endpoint and region it lives in (--endpoint, --region)")
		}
		return wrap("no such object", ErrNotFound)
	case "NoSuchUpload":
		return wrap("the multipart upload no longer exists (aborted elsewhere, or expired by a lifecycle rule)", nil)
	case "AccessDenied", "AllAccessDisabled", "Forbidden":
		return hint(wrap("access denied", nil),
			"the credentials lack permission for this bucket or key (s3:PutObject, s3:GetObject, s3:AbortMultipartUpload), or they are wrong: "+checkCreds)
	case "InvalidAccessKeyId", "XAdminUserNotFound":
		return hint(wrap("the server does not know the access key ID", nil), checkCreds)
	case "SignatureDoesNotMatch":
		return hint(wrap("the server rejected the request signature", nil),
			"the secret key does not match the access key ID: check AWS_SECRET_ACCESS_KEY")
	case "ExpiredToken", "TokenRefreshRequired", "ExpiredTokenException":
		return hint(wrap("the credentials have expired", nil),
			"renew the session credentials (AWS_SESSION_TOKEN), e.g. with 'aws sso login'")
	case "InvalidToken":
		return hint(wrap("the session token is invalid", nil), "check AWS_SESSION_TOKEN; unset it for long-term keys")
	case "RequestTimeTooSkewed":
		return hint(wrap("the local clock differs too much from the server's", nil), "synchronize the clock (NTP)")
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		e := wrap("the bucket is in another region than the one requested", nil)
		if r := responseHeader(err, "X-Amz-Bucket-Region"); r != "" {
			return hint(e, fmt.Sprintf("use --region %s (or AWS_REGION=%s)", r, r))
		}
		return hint(e, "set --region (or AWS_REGION) to the bucket's region")
	case "InvalidBucketName":
		return hint(wrap(fmt.Sprintf("invalid bucket name %q", bucket), nil), "bucket names are 3–63 lowercase letters, digits, dots and hyphens")
	case "PreconditionFailed":
		return wrap("the object changed during the download", nil)
	case "EntityTooLarge":
		return wrap("the object is too large for this S3 service", nil)
	}
	if status == 403 {
		return hint(wrap("access denied (HTTP 403)", nil), checkCreds+"; and the credentials' permissions")
	}
	if status == 301 {
		return hint(wrap("the bucket is in another region, or needs another endpoint (HTTP 301)", nil), "set --region, or --endpoint and --path-style for an S3-compatible store")
	}

	endpoint := requestHost(err)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return hint(wrap(fmt.Sprintf("cannot connect to %s: connection refused", endpoint), nil),
			"check --endpoint (or AWS_ENDPOINT_URL) and that the S3 server is running")
	case isDNSError(err):
		return hint(wrap(fmt.Sprintf("cannot resolve the host of %s", endpoint), nil),
			"check --endpoint (or AWS_ENDPOINT_URL), the region, and the bucket name")
	case isTLSError(err):
		return hint(wrap(fmt.Sprintf("TLS with %s failed", endpoint), nil),
			"for a plain-HTTP store use an http:// endpoint; otherwise check the server's certificate")
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
		return wrap(msg, nil)
	}
	if status != 0 {
		return wrap(fmt.Sprintf("HTTP %d", status), nil)
	}
	return wrap(lastLine(err), nil)
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
	return "the S3 endpoint"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the S3 endpoint"
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

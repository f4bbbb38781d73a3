package s3stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiError builds the error the SDK returns for an S3 error response.
func apiError(status int, code string, header http.Header) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "Service message."},
		},
	}}
}

func TestDescribe(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://10.0.0.1:9000/b/k?partNumber=1&uploadId=secret-ish", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		err  error
		line string
		kind Kind
	}{
		{apiError(404, "NoSuchBucket", nil), `bucket "b" does not exist`, NoSuchBucket},
		{apiError(404, "NoSuchKey", nil), "no such object", NotFound},
		{apiError(403, "AccessDenied", nil), "access denied", AccessDenied},
		{apiError(403, "Forbidden", nil), "access denied", AccessDenied},
		{apiError(403, "InvalidAccessKeyId", nil), "the server does not know the access key ID", UnknownAccessKey},
		{apiError(403, "SignatureDoesNotMatch", nil), "the server rejected the request signature", BadSignature},
		{apiError(400, "ExpiredToken", nil), "the credentials have expired", ExpiredToken},
		{apiError(400, "InvalidToken", nil), "the session token is invalid", InvalidToken},
		{apiError(403, "RequestTimeTooSkewed", nil), "clock", ClockSkew},
		{apiError(301, "PermanentRedirect", http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}), "the bucket is in another region", WrongRegion},
		{apiError(400, "AuthorizationHeaderMalformed", nil), "the bucket is in another region", WrongRegion},
		{apiError(503, "SlowDown", nil), "SlowDown: Service message (HTTP 503)", Unclassified},
		{refused, "cannot connect to http://10.0.0.1:9000: connection refused", ConnectionRefused},
		{&url.Error{Op: "Put", URL: "https://nope.invalid/b/k", Err: &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}}, "cannot resolve the host of https://nope.invalid", UnknownHost},
		{fmt.Errorf("operation error S3: PutObject, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found"), "no usable AWS credentials", NoCredentials},
		{context.Canceled, "context canceled", Unclassified},
		{apiError(403, "", nil), "access denied (HTTP 403)", Forbidden},
		{apiError(301, "", nil), "the bucket is in another region, or needs another endpoint (HTTP 301)", Moved},
		{apiError(400, "InvalidBucketName", nil), `invalid bucket name "b"`, InvalidBucketName},
		{&url.Error{Op: "Put", URL: "https://10.0.0.1:9000/b/k", Err: errors.New("tls: first record does not look like a TLS handshake")}, "TLS with https://10.0.0.1:9000 failed", TLSFailed},
		{apiError(404, "NoSuchUpload", nil), "the multipart upload no longer exists", Unclassified},
	} {
		err := describe("upload to", "b", "k", tc.err)
		line := err.Error()
		if !strings.HasPrefix(line, "upload to s3://b/k: ") || !strings.Contains(line, tc.line) || strings.Contains(line, "\n") {
			t.Errorf("%v:\n got %q\nwant one line with %q", tc.err, line, tc.line)
		}
		if strings.Contains(line, "secret-ish") {
			t.Errorf("%q shows the request's query", line)
		}
		if k := KindOf(err); k != tc.kind {
			t.Errorf("%v: kind %v, want %v", tc.err, k, tc.kind)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the description does not wrap the SDK's error", tc.err)
		}
	}
}

// TestDescribeBucket names a missing bucket when a HEAD of the bucket
// answers a bare NotFound.
func TestDescribeBucket(t *testing.T) {
	err := describe("check", "b", "", apiError(404, "NotFound", nil))
	if want := `check s3://b: bucket "b" does not exist`; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if k := KindOf(err); k != NoSuchBucket {
		t.Errorf("kind %v, want %v", k, NoSuchBucket)
	}
}

// TestErrorRegion gives the bucket's region when the server named it.
func TestErrorRegion(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", describe("upload to", "b", "k", apiError(301, "PermanentRedirect", http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}})))
	var e *Error
	if !errors.As(err, &e) || e.Kind != WrongRegion || e.Region != "eu-west-1" || e.Bucket != "b" || e.Key != "k" {
		t.Errorf("%#v", e)
	}
	if KindOf(errors.New("other")) != Unclassified || KindOf(nil) != Unclassified {
		t.Error("kind of an error that is no *Error")
	}
}

// TestNeedsPermission: the hint of a refusal names the permission its
// caller recorded, and only for refusals.
func TestNeedsPermission(t *testing.T) {
	w := Words{Endpoint: "E", Permissions: "all of them"}
	denied := fmt.Errorf("listing: %w", describe("list", "b", "", apiError(403, "AccessDenied", nil)))
	if h := Hint(denied, w); !strings.Contains(h, "(all of them)") {
		t.Errorf("without a permission: %q", h)
	}
	if NeedsPermission(denied, "s3:ListBucket") != denied {
		t.Error("NeedsPermission returned another error")
	}
	NeedsPermission(denied, "s3:GetObject") // the first one stays
	if h := Hint(denied, w); !strings.HasPrefix(h, "the credentials lack s3:ListBucket, or they are wrong: ") || strings.Contains(h, "all of them") {
		t.Errorf("with a permission: %q", h)
	}
	head := describe("read", "b", "k", apiError(403, "", nil))
	if h := Hint(NeedsPermission(head, "s3:GetObject"), w); !strings.HasSuffix(h, "; and that the credentials have s3:GetObject") {
		t.Errorf("forbidden: %q", h)
	}
	other := describe("list", "b", "", apiError(404, "NoSuchBucket", nil))
	if NeedsPermission(other, "s3:ListBucket"); KindOf(other) != NoSuchBucket || Hint(other, w) != Hint(describe("list", "b", "", apiError(404, "NoSuchBucket", nil)), w) {
		t.Error("a permission changed the hint of another kind")
	}
}

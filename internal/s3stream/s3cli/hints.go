package s3cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// checkCreds is the hint for credentials the server may not know.
const checkCreds = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that the endpoint is the server they belong to"

// hints are the hints for the kinds of failure, in the vocabulary of
// s3put's and s3get's flags.
var hints = map[s3stream.Kind]string{
	s3stream.NoSuchBucket:        "check the bucket name, and the endpoint and region it lives in (--endpoint, --region)",
	s3stream.AccessDenied:        "the credentials lack permission for this bucket or key (s3:PutObject, s3:GetObject, s3:AbortMultipartUpload), or they are wrong: " + checkCreds,
	s3stream.Forbidden:           checkCreds + "; and the credentials' permissions",
	s3stream.NoCredentials:       "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run 'aws sso login' when the profile uses SSO)",
	s3stream.UnknownAccessKey:    checkCreds,
	s3stream.BadSignature:        "the secret key does not match the access key ID: check AWS_SECRET_ACCESS_KEY",
	s3stream.ExpiredToken:        "renew the session credentials (AWS_SESSION_TOKEN), e.g. with 'aws sso login'",
	s3stream.InvalidToken:        "check AWS_SESSION_TOKEN; unset it for long-term keys",
	s3stream.ClockSkew:           "synchronize the clock (NTP)",
	s3stream.WrongRegion:         "set --region (or AWS_REGION) to the bucket's region",
	s3stream.Moved:               "set --region, or --endpoint and --path-style for an S3-compatible store",
	s3stream.InvalidBucketName:   "bucket names are 3–63 lowercase letters, digits, dots and hyphens",
	s3stream.ConnectionRefused:   "check --endpoint (or AWS_ENDPOINT_URL) and that the S3 server is running",
	s3stream.UnknownHost:         "check --endpoint (or AWS_ENDPOINT_URL), the region, and the bucket name",
	s3stream.TLSFailed:           "for a plain-HTTP store use an http:// endpoint; otherwise check the server's certificate",
	s3stream.InvalidEndpoint:     "an endpoint is a URL such as https://s3.example.com or http://127.0.0.1:7070",
	s3stream.NoRegion:            "set --region or AWS_REGION",
	s3stream.BadConfig:           "check AWS_PROFILE and the shared config files (~/.aws/config, ~/.aws/credentials)",
	s3stream.ChecksumUnsupported: "if the service does not support CRC32C checksums, upload with part checksum " + s3stream.ChecksumMD5,
}

// Hint is the hint for the kind of failure err is, or "" when no likely
// mistake can be named.
func Hint(err error) string {
	var e *s3stream.Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.Kind == s3stream.WrongRegion && e.Region != "" {
		return fmt.Sprintf("use --region %s (or AWS_REGION=%s)", e.Region, e.Region)
	}
	return hints[e.Kind]
}

// Explain attaches Hint(err) to err, unless err carries it already. A
// command that adds a hint of its own to an error of s3stream calls
// Explain first, so that its own hint comes first.
func Explain(err error) error {
	h := Hint(err)
	if h == "" || slices.Contains(cli.Hints(err), h) {
		return err
	}
	return cli.WithHint(err, "%s", h)
}

// WithHints returns run with Explain applied to its error.
func WithHints(run cli.RunFunc) cli.RunFunc {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return Explain(run(ctx, args, stdin, stdout, stderr))
	}
}

package backup

import (
	"errors"
	"fmt"

	"github.com/philips-labs/iron-streaming-backup/internal/config"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// checkCreds names the settings behind credentials the server may not know.
const checkCreds = "check " + config.EnvAccessKey + " and " + config.EnvSecretKey + " (or AWS_PROFILE), and that " + config.EnvEndpoint + " is the service they belong to"

// s3Hints are the hints for the kinds of S3 failure, in the vocabulary of
// the job's settings (s3cli has those of s3put's and s3get's flags).
var s3Hints = map[s3stream.Kind]string{
	s3stream.NoSuchBucket:      "check " + config.EnvBucket + ", and " + config.EnvEndpoint + " and " + config.EnvRegion + " of the service it lives in",
	s3stream.AccessDenied:      "the credentials lack a permission the job needs (s3:ListBucket, s3:PutObject, s3:GetObject, s3:AbortMultipartUpload, and s3:DeleteObject with KEEP_ rules), or they are wrong: " + checkCreds,
	s3stream.Forbidden:         checkCreds + "; and the credentials' permissions",
	s3stream.NoCredentials:     "set " + config.EnvAccessKey + " and " + config.EnvSecretKey + ", or AWS_PROFILE",
	s3stream.UnknownAccessKey:  checkCreds,
	s3stream.BadSignature:      "the secret key does not match the access key ID: check " + config.EnvSecretKey,
	s3stream.ExpiredToken:      "renew the session credentials (AWS_SESSION_TOKEN)",
	s3stream.InvalidToken:      "check AWS_SESSION_TOKEN; unset it for long-term keys",
	s3stream.ClockSkew:         "synchronize the clock (NTP)",
	s3stream.WrongRegion:       "set " + config.EnvRegion + " to the bucket's region",
	s3stream.Moved:             "set " + config.EnvRegion + ", or " + config.EnvEndpoint + " and " + config.EnvPathStyle + "=true for an S3-compatible store",
	s3stream.InvalidBucketName: "check " + config.EnvBucket + ": bucket names are 3–63 lowercase letters, digits, dots and hyphens",
	s3stream.ConnectionRefused: "check " + config.EnvEndpoint + " and that the S3 service is running",
	s3stream.UnknownHost:       "check " + config.EnvEndpoint + ", " + config.EnvRegion + " and " + config.EnvBucket,
	s3stream.TLSFailed:         "for a plain-HTTP store make " + config.EnvEndpoint + " an http:// URL; otherwise check the service's certificate",
	s3stream.InvalidEndpoint:   config.EnvEndpoint + " is a URL such as https://s3.example.com or http://127.0.0.1:7070",
	s3stream.NoRegion:          "set " + config.EnvRegion,
	s3stream.BadConfig:         "check AWS_PROFILE and the shared config files (~/.aws/config, ~/.aws/credentials)",
}

// Hint is the hint for the kind of S3 failure err is, in the job's
// settings, or "" when no likely mistake can be named.
func Hint(err error) string {
	var e *s3stream.Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.Kind == s3stream.WrongRegion && e.Region != "" {
		return fmt.Sprintf("set %s=%s, the bucket's region", config.EnvRegion, e.Region)
	}
	return s3Hints[e.Kind]
}

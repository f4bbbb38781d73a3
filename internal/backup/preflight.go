package backup

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// SettingsError is a problem found before anything ran that only a change
// of the settings fixes: a missing bucket, unknown credentials, a pg_dump
// that is not one. A command exits as for bad settings.
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return e.Err.Error() }
func (e *SettingsError) Unwrap() error { return e.Err }

// preflight checks, before the first pg_dump starts, what would otherwise
// fail each backup only at its end: that the pg_dump programs run and say
// their versions,
// and that the bucket exists and the credentials reach it. All problems are
// returned together.
func (j *Job) preflight(ctx context.Context) error {
	var errs []error
	clients, err := findClients(ctx, clientRoot, j.Settings.PgDump)
	if err != nil {
		errs = append(errs, &SettingsError{err})
	}
	j.clients = clients
	if err := checkStorage(ctx, j.Client, j.Settings, j.Log.Warn); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// preflightTimeout bounds the storage check, in case the endpoint accepts
// connections but never answers.
const preflightTimeout = 2 * time.Minute

// checkStorage checks with one cheap request (ListObjectsV2 of at most one
// key under the folder) that the bucket exists and the client's credentials
// are accepted, and resolves the client's final endpoint by the SDK's own
// rules (its region and endpoint may come from a profile). Answers that
// only other settings fix are a *SettingsError. A refusal to list
// (AccessDenied) is not an error, since a backup needs only to write: warn
// is told, and a missing write permission still fails the backup, cleanly.
func checkStorage(ctx context.Context, client *s3.Client, s *Settings, warn func(string)) error {
	o := client.Options()
	if err := resolveEndpoint(s.Bucket, o.Region, aws.ToString(o.BaseEndpoint), o.UsePathStyle); err != nil {
		return &SettingsError{fmt.Errorf("s3://%s (region %q): %w", s.Bucket, o.Region, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), MaxKeys: aws.Int32(1)}
	if s.KeyPrefix != "" {
		in.Prefix = aws.String(s.KeyPrefix)
	}
	_, err := client.ListObjectsV2(ctx, in, func(o *s3.Options) { o.RetryMaxAttempts = 3 })
	if err == nil {
		return nil
	}
	where := "s3://" + s.Bucket
	if ep := o.BaseEndpoint; ep != nil {
		where += " at " + *ep
	}
	settings := func(format string, args ...any) error {
		return &SettingsError{fmt.Errorf(where+": "+format, args...)}
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch code {
	case "AccessDenied", "AllAccessDisabled":
		warn(fmt.Sprintf("%s: the credentials may not list the bucket (%s), so it is not known before the first upload whether they may write to it", where, code))
		return nil
	case "NoSuchBucket":
		return settings("no such bucket; check %s, and %s and %s", envBucket, envEndpoint, envRegion)
	case "InvalidBucketName":
		return settings("the S3 service refuses the bucket name; check %s", envBucket)
	case "InvalidAccessKeyId", "XAdminUserNotFound":
		return settings("the S3 service does not know the access key (%s); check %s, and that the endpoint is the one the key belongs to", code, envAccessKey)
	case "SignatureDoesNotMatch":
		return settings("the S3 service rejects the request signature (%s); check %s", code, envSecretKey)
	case "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "InvalidToken":
		return settings("the credentials are expired or invalid (%s); renew them or check AWS_SESSION_TOKEN", code)
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.Response != nil {
			if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
				return settings("the bucket is in region %s, not %s (%s); set %s=%s", r, o.Region, code, envRegion, r)
			}
		}
		return settings("the bucket is not in region %s (%s); set %s to the bucket's region", o.Region, code, envRegion)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: connection refused; check %s and that the S3 service is running", where, envEndpoint)
	}
	return fmt.Errorf("%s: checking the bucket before the backup: %w", where, err)
}

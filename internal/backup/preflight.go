package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// SettingsError is a problem found before anything ran that only a change
// of the settings fixes: a missing bucket, unknown credentials, a pg_dump
// that is not one. A command exits as for bad settings.
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return e.Err.Error() }
func (e *SettingsError) Unwrap() error { return e.Err }

// preflight checks, before the first pg_dump starts, what would otherwise
// fail each backup only at its end: that the pg_dump programs run and say
// their versions, that the bucket exists and the credentials reach it, and
// that they may write the backups' objects. All problems are returned
// together.
func (j *Job) preflight(ctx context.Context) error {
	var errs []error
	clients, err := pgclient.Find(ctx, pgclient.Root, j.Settings.PgDump, childEnv(""))
	if errors.Is(err, pgclient.ErrNotFound) {
		err = fmt.Errorf("%v or set %s", err, config.EnvPgDump)
	}
	if err != nil {
		errs = append(errs, &SettingsError{err})
	}
	j.clients = clients
	if err := checkStorage(ctx, j.Client, j.Settings, j.Log.Warn); err != nil {
		errs = append(errs, err)
	} else if err := checkBucketLock(ctx, j.Client, j.Settings, j.Log.Warn); err != nil {
		errs = append(errs, err)
	} else if err := j.checkWrite(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeCheckName is the name, under the folder, of the key checkWrite
// starts its upload at. It starts with '.', which no prefix may
// (pgpass.CheckPrefix), and has none of the key grammar's endings, so it
// is never a backup's key nor taken for one; and since the upload is never
// completed, it is never an object that list, verify or prune could see.
const writeCheckName = ".iron-streaming-backup-write-check"

// checkWrite proves that the credentials may write the backups' objects,
// with the request that starts each of them: a multipart upload at
// writeCheckName under the folder, with the objects' fields (object lock,
// server-side encryption, checksum), aborted at once
// (s3stream.CheckWrite). A refusal is a *SettingsError that names the
// permissions; a refused abort only a warning, since the write is allowed.
func (j *Job) checkWrite(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	s := j.Settings
	opts := j.writerOptions(&catalog.Info{ObjectLock: j.lockInfo(j.now())})
	err := s3stream.CheckWrite(ctx, j.Client, s.Bucket, s.KeyPrefix+writeCheckName, *opts)
	if err == nil {
		return nil
	}
	err = atEndpoint(err, j.Client)
	var ae *s3stream.AbortError
	var stray *s3stream.StrayError
	switch {
	case errors.As(err, &stray):
		j.Log.Warn(fmt.Sprintf("%v: the credentials may write, but a retried request's upload could not be looked for or aborted, so one may be left unfinished, as a failed backup's would be", err))
		return nil
	case errors.As(err, &ae):
		j.Log.Warn(fmt.Sprintf("%v: the credentials may write but not abort uploads (s3:AbortMultipartUpload), so this check's upload is left unfinished, as a failed backup's would be", err))
		return nil
	}
	switch s3stream.KindOf(err) {
	case s3stream.AccessDenied, s3stream.Forbidden:
		return &SettingsError{fmt.Errorf("%w: the credentials may not write backups to s3://%s (%s)", err, s.Bucket, s3stream.WritePermissions(*opts))}
	case s3stream.NoSuchBucket, s3stream.InvalidBucketName, s3stream.NoCredentials, s3stream.UnknownAccessKey, s3stream.BadSignature,
		s3stream.ExpiredToken, s3stream.InvalidToken, s3stream.WrongRegion, s3stream.Moved, s3stream.ChecksumUnsupported,
		// A feature of the objects' the store lacks: a setting, or
		// another store, avoids it.
		s3stream.ObjectLockUnsupported, s3stream.SSEUnsupported, s3stream.StorageClassUnsupported,
		s3stream.MultipartUnsupported, s3stream.Unsupported:
		return &SettingsError{err}
	}
	return err
}

// atEndpoint adds to an S3 error that does not name its endpoint the
// client's, when one is set: which store said so.
func atEndpoint(err error, client *s3.Client) error {
	var se *s3stream.Error
	if ep := client.Options().BaseEndpoint; ep != nil && errors.As(err, &se) && se.Endpoint == "" {
		return fmt.Errorf("%w (at %s)", err, *ep)
	}
	return err
}

// checkBucketLock checks, with an object lock set, that the bucket has
// Object Lock enabled: a bucket without refuses every locked write, which
// would fail each backup at its end. A default retention of the bucket's
// that differs from the settings is a warning: objects the job writes
// carry their own, and other objects get the default.
func checkBucketLock(ctx context.Context, client *s3.Client, s *Settings, warn func(string)) error {
	l := s.Lock
	if !l.On() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	b, err := s3stream.ReadBucketLock(ctx, client, s.Bucket)
	if s3stream.KindOf(err) == s3stream.AccessDenied {
		warn(fmt.Sprintf("%v: the credentials may not read the bucket's object lock configuration (s3:GetBucketObjectLockConfiguration), so it is not known before the first upload whether the bucket can lock objects", err))
		return nil
	}
	if s3stream.KindOf(err) == s3stream.ObjectLockUnsupported {
		return &SettingsError{err} // as a bucket without Object Lock
	}
	if err != nil {
		return err
	}
	if !b.Enabled {
		return &SettingsError{fmt.Errorf("%w: s3://%s does not have S3 Object Lock enabled, which %s needs: create the bucket with Object Lock (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket), or unset %s", ErrNoBucketLock, s.Bucket, l, config.EnvLockMode)}
	}
	if b.DefaultMode != "" && (b.DefaultMode != l.Mode || b.Default() != l.Retain) {
		warn(fmt.Sprintf("s3://%s has a default retention of %s for %s; the backups' objects are written with their own, %s", s.Bucket, b.DefaultMode, b.Default(), l))
	}
	return nil
}

// ErrNoBucketLock is the preflight's error for a bucket without Object
// Lock and lock settings.
var ErrNoBucketLock = errors.New("no object lock")

// preflightTimeout bounds the storage check, in case the endpoint accepts
// connections but never answers.
const preflightTimeout = 2 * time.Minute

// checkStorage checks with one cheap request (ListObjectsV2 of at most one
// key under the folder) that the bucket exists and the client's credentials
// are accepted, and resolves the client's final endpoint by the SDK's own
// rules (its region and endpoint may come from a profile). Answers that
// only other settings fix are a *SettingsError. A refusal to list
// (AccessDenied) is not an error, since a backup needs only to write
// (checkWrite): warn is told.
func checkStorage(ctx context.Context, client *s3.Client, s *Settings, warn func(string)) error {
	o := client.Options()
	if err := s3stream.ResolveEndpoint(s.Bucket, o.Region, aws.ToString(o.BaseEndpoint), o.UsePathStyle); err != nil {
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
	// The kinds a change of settings fixes; the hint (hints.go) names
	// which. An unreachable endpoint may be down for now: a failure.
	err = atEndpoint(s3stream.Describe("checking", s.Bucket, "", err), client)
	switch s3stream.KindOf(err) {
	case s3stream.AccessDenied:
		warn(fmt.Sprintf("%v: the credentials may not list the bucket (s3:ListBucket), which a backup does not need but list, verify and retention (KEEP_) do", err))
		return nil
	case s3stream.NoSuchBucket, s3stream.InvalidBucketName, s3stream.NoCredentials, s3stream.UnknownAccessKey,
		s3stream.BadSignature, s3stream.ExpiredToken, s3stream.InvalidToken, s3stream.WrongRegion, s3stream.Moved:
		return &SettingsError{err}
	}
	return err
}

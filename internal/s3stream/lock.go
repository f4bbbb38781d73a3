package s3stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object Lock (WORM): an object written with a lock mode and a
// retain-until date cannot be deleted or overwritten before that date,
// not even by the credentials that wrote it (GOVERNANCE: except by a
// principal allowed to bypass governance retention, which this package
// never asks for; COMPLIANCE: by no one). The bucket must have been
// created with Object Lock enabled.
//
// S3 takes a locked write only with a checksum of its body: Content-MD5 or
// a flexible checksum. Every request this package sends carries one: the
// object's parts and single PUT their CRC32C (or MD5, where the store
// rejects CRC32C: see PartChecksum), and the manifest its Content-MD5.

// The lock modes.
const (
	LockGovernance = string(types.ObjectLockModeGovernance)
	LockCompliance = string(types.ObjectLockModeCompliance)
)

// Lock is an object's lock: its mode and retain-until date (zero: none)
// and its legal hold.
type Lock struct {
	Mode      string
	Until     time.Time
	LegalHold bool
}

// Locked reports whether the object cannot be deleted at now.
func (l Lock) Locked(now time.Time) bool { return l.LegalHold || l.Mode != "" && l.Until.After(now) }

// String says the lock in a few words: "GOVERNANCE until 2027-01-02
// 06:00:00 UTC", "legal hold", "-" for none.
func (l Lock) String() string {
	var parts []string
	if l.Mode != "" {
		parts = append(parts, l.Mode+" until "+l.Until.UTC().Format("2006-01-02 15:04:05")+" UTC")
	}
	if l.LegalHold {
		parts = append(parts, "legal hold")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// CheckLock reports a lock that no upload can ask for: a mode other than
// the two, a mode without a date or a date without a mode, a date not in
// the future of now.
func CheckLock(mode string, until, now time.Time) error {
	switch {
	case mode == "" && until.IsZero():
		return nil
	case mode != LockGovernance && mode != LockCompliance:
		return fmt.Errorf("unknown object lock mode %q (want %s or %s)", mode, LockGovernance, LockCompliance)
	case until.IsZero():
		return fmt.Errorf("object lock mode %s needs a retain-until date", mode)
	case !until.After(now):
		return fmt.Errorf("the object lock's retain-until date %s is not in the future", until.UTC().Format(time.RFC3339))
	}
	return nil
}

// lockFields are the request fields of a lock.
func (o WriterOptions) lockFields() (types.ObjectLockMode, *time.Time, types.ObjectLockLegalHoldStatus) {
	var mode types.ObjectLockMode
	var until *time.Time
	var hold types.ObjectLockLegalHoldStatus
	if o.LockMode != "" {
		mode, until = types.ObjectLockMode(o.LockMode), aws.Time(o.LockUntil.UTC())
	}
	if o.LegalHold {
		hold = types.ObjectLockLegalHoldStatusOn
	}
	return mode, until, hold
}

// ReadLock reads an object's lock as the store keeps it (HeadObject).
func ReadLock(ctx context.Context, client *s3.Client, bucket, key string) (Lock, error) {
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return Lock{}, describe("read the object lock of", bucket, key, err)
	}
	l := Lock{Mode: string(out.ObjectLockMode), LegalHold: out.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if out.ObjectLockRetainUntilDate != nil {
		l.Until = out.ObjectLockRetainUntilDate.UTC()
	}
	return l, nil
}

// ErrNotLocked matches the error of VerifyLock for an object the store did
// not lock as asked.
var ErrNotLocked = errors.New("not locked")

// VerifyLock reads the lock of an object written with opts' lock and
// fails unless the store keeps at least that: the same mode until the
// same date or later, and the legal hold. A store that ignores the lock
// headers answers with no lock.
func VerifyLock(ctx context.Context, client *s3.Client, bucket, key string, opts *WriterOptions) error {
	if opts == nil || opts.LockMode == "" && !opts.LegalHold {
		return nil
	}
	got, err := ReadLock(ctx, client, bucket, key)
	if err != nil {
		return err
	}
	want := Lock{Mode: opts.LockMode, Until: opts.LockUntil.UTC().Truncate(time.Second), LegalHold: opts.LegalHold}
	if want.Mode != "" && (got.Mode != want.Mode || got.Until.Before(want.Until)) || want.LegalHold && !got.LegalHold {
		return fmt.Errorf("%w: s3://%s/%s was written with the object lock %s, and the store keeps %s: it ignored the lock, so the object can be deleted", ErrNotLocked, bucket, key, want, got)
	}
	return nil
}

// BucketLock is a bucket's Object Lock configuration.
type BucketLock struct {
	Enabled bool
	// The default retention of objects written without a lock of their
	// own: mode and period ("" and 0 for none).
	DefaultMode string
	DefaultDays int32
	DefaultYrs  int32
}

// ReadBucketLock reads a bucket's Object Lock configuration; a bucket
// without one is not Enabled.
func ReadBucketLock(ctx context.Context, client *s3.Client, bucket string) (BucketLock, error) {
	out, err := client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &bucket})
	if apiCode(err) == "ObjectLockConfigurationNotFoundError" {
		return BucketLock{}, nil
	}
	if err != nil {
		return BucketLock{}, unsupported(describe("read the object lock configuration of", bucket, "", err), ObjectLockUnsupported)
	}
	var b BucketLock
	if c := out.ObjectLockConfiguration; c != nil {
		b.Enabled = c.ObjectLockEnabled == types.ObjectLockEnabledEnabled
		if c.Rule != nil && c.Rule.DefaultRetention != nil {
			d := c.Rule.DefaultRetention
			b.DefaultMode = string(d.Mode)
			b.DefaultDays, b.DefaultYrs = aws.ToInt32(d.Days), aws.ToInt32(d.Years)
		}
	}
	return b, nil
}

// Default is the default retention's period, 0 for none (a year counted
// as 365 days).
func (b BucketLock) Default() time.Duration {
	return time.Duration(b.DefaultDays)*24*time.Hour + time.Duration(b.DefaultYrs)*365*24*time.Hour
}

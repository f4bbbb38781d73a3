package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// maxLockDays caps --lock-days at a century: a COMPLIANCE lock cannot be
// shortened, and a mistyped number should not keep an object for ever.
const maxLockDays = 36500

// lockFlags are the S3 Object Lock flags: --lock-mode with either
// --lock-until or --lock-days, and --legal-hold with or without them.
type lockFlags struct {
	mode, until string
	days        int
	legalHold   bool
}

func (l *lockFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.mode, "lock-mode", "", "")
	fs.StringVar(&l.until, "lock-until", "", "")
	fs.IntVar(&l.days, "lock-days", 0, "")
	fs.BoolVar(&l.legalHold, "legal-hold", false, "")
}

// apply checks the lock flags set on fs (which has been parsed) and sets
// the lock of opts, counting --lock-days from now. Every mistake is a
// usage error.
func (l *lockFlags) apply(fs *flag.FlagSet, opts *s3stream.WriterOptions, now time.Time) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usage := func(format string, args ...any) error {
		return cli.WithHint(cli.Usagef(format, args...), "run 's3put -h' for usage")
	}
	modes := s3stream.LockGovernance + " or " + s3stream.LockCompliance

	var mode string
	if set["lock-mode"] {
		mode = strings.ToUpper(l.mode)
		if mode != s3stream.LockGovernance && mode != s3stream.LockCompliance {
			return usage("unknown --lock-mode %s: want %s", cli.Arg(l.mode), modes)
		}
	}
	var until time.Time
	switch {
	case set["lock-until"] && set["lock-days"]:
		return usage("give either --lock-until or --lock-days, not both")
	case set["lock-until"]:
		t, err := time.Parse(time.RFC3339, l.until)
		if err != nil {
			return usage("invalid --lock-until %s: want an RFC 3339 time such as 2027-01-31T00:00:00Z", cli.Arg(l.until))
		}
		until = ceilSecond(t)
		if !until.After(now) {
			return usage("--lock-until %s is not in the future", t.Format(time.RFC3339))
		}
	case set["lock-days"]:
		if l.days < 1 || l.days > maxLockDays {
			return usage("--lock-days %d: want 1 to %d", l.days, maxLockDays)
		}
		until = ceilSecond(now.Add(time.Duration(l.days) * 24 * time.Hour))
	}
	switch {
	case mode != "" && until.IsZero():
		return usage("--lock-mode %s needs --lock-until TIME or --lock-days N", mode)
	case mode == "" && set["lock-until"]:
		return usage("--lock-until needs --lock-mode %s", modes)
	case mode == "" && set["lock-days"]:
		return usage("--lock-days needs --lock-mode %s", modes)
	}
	opts.LockMode, opts.LockUntil, opts.LegalHold = mode, until, l.legalHold
	return nil
}

// ceilSecond rounds t up to a whole second, so that the lock the store
// keeps, in whole seconds, lasts at least as long as the one asked for.
func ceilSecond(t time.Time) time.Time {
	return t.Add(time.Second - 1).Truncate(time.Second)
}

// locked reports whether opts ask for a lock or a legal hold.
func locked(opts *s3stream.WriterOptions) bool { return opts.LockMode != "" || opts.LegalHold }

// checkBucketLock fails an upload with a lock into a bucket without Object
// Lock before it reads its input: S3 would refuse only the upload's first
// request, and some stores keep the object of a refused single PUT. An
// answer that does not tell (credentials that may not read the
// configuration, a store that does not know the request) leaves it to the
// upload.
func checkBucketLock(ctx context.Context, client *s3.Client, bucket string, opts *s3stream.WriterOptions) error {
	if !locked(opts) {
		return nil
	}
	b, err := s3stream.ReadBucketLock(ctx, client, bucket)
	if err != nil || b.Enabled {
		return nil
	}
	var need string
	switch {
	case opts.LockMode != "" && opts.LegalHold:
		need = "--lock-mode and --legal-hold need"
	case opts.LockMode != "":
		need = "--lock-mode needs"
	default:
		need = "--legal-hold needs"
	}
	return fmt.Errorf("s3://%s does not have S3 Object Lock enabled, which %s: create the bucket with Object Lock (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket)", bucket, need)
}

// lockHint names the likely mistake behind an upload that asked for a
// lock and was refused as an invalid request: a bucket without Object
// Lock, which S3 answers with InvalidRequest "Bucket is missing Object
// Lock Configuration".
func lockHint(err error, opts *s3stream.WriterOptions) error {
	var ae smithy.APIError
	if err == nil || !locked(opts) || !errors.As(err, &ae) || ae.ErrorCode() != "InvalidRequest" {
		return err
	}
	return cli.WithHint(err, "--lock-mode and --legal-hold need a bucket created with Object Lock enabled")
}

// verifyLock reads back the lock of the object, and of its manifest when
// one was written: a store that ignores the lock headers takes a locked
// upload as a plain one.
func verifyLock(ctx context.Context, client *s3.Client, bucket, key string, opts *s3stream.WriterOptions, manifest bool) error {
	if !locked(opts) {
		return nil
	}
	keys := []string{key}
	if manifest {
		keys = append(keys, s3stream.ManifestKey(key))
	}
	for _, k := range keys {
		err := s3stream.VerifyLock(ctx, client, bucket, k, opts)
		if errors.Is(err, s3stream.ErrNotLocked) {
			// S3 itself shows the lock only to credentials allowed to
			// read it.
			return cli.WithHint(err, "use a store that supports S3 Object Lock; on AWS, HeadObject shows the lock only with s3:GetObjectRetention and s3:GetObjectLegalHold")
		}
		if err != nil {
			return fmt.Errorf("s3://%s/%s was uploaded, but its lock could not be checked: %w", bucket, key, err)
		}
	}
	return nil
}

package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

func (s *Settings) loadStorage(e *env) {
	n := len(e.errs)
	if s.Bucket = e.trimmed(EnvBucket); s.Bucket == "" {
		e.bad("%s is not set: name the bucket that receives the backups", EnvBucket)
	} else if strings.HasPrefix(s.Bucket, "s3://") || strings.Contains(s.Bucket, "/") {
		e.bad("%s=%q: give the bucket name alone (a folder goes in %s)", EnvBucket, s.Bucket, EnvKeyPrefix)
	}
	if (e.get(EnvAccessKey) == "") != (e.get(EnvSecretKey) == "") {
		e.bad("%s and %s must be set together", EnvAccessKey, EnvSecretKey)
	}
	s.KeyPrefix = strings.TrimPrefix(e.get(EnvKeyPrefix), "/")
	if s.KeyPrefix != "" && !strings.HasSuffix(s.KeyPrefix, "/") {
		s.KeyPrefix += "/"
	}
	s.PathStyle = e.bool(EnvPathStyle)
	bucket := s.Bucket
	if len(e.errs) > n {
		bucket = "" // already reported, or nothing to check it with
	}
	e.add(checkS3Env(e, bucket, s.PathStyle)...)
}

// loadWriting reads how objects are written: storage class and
// server-side encryption, which actions that only read never use.
func (s *Settings) loadWriting(e *env) {
	s.StorageClass = e.get(EnvStorageClass)
	s.SSE, s.SSEKMSKeyID = e.get(EnvSSE), e.get(EnvSSEKMSKeyID)
	if err := s3stream.CheckSSE(s.SSE, ""); err != nil {
		e.bad("%s=%q: %v", EnvSSE, s.SSE, err)
	} else if err := s3stream.CheckSSE(s.SSE, s.SSEKMSKeyID); err != nil {
		e.bad("%s: %v", EnvSSEKMSKeyID, err)
	}
	s.Lock = loadLock(e)
}

// maxLock caps an object lock at 100 years (of 365 days): S3 takes longer ones, and a
// typo in them (36500 for 365) would keep every backup, and its cost, for
// a century with COMPLIANCE.
const maxLock = 36500 * 24 * time.Hour

// loadLock reads the object lock settings.
func loadLock(e *env) Lock {
	var l Lock
	switch m := strings.ToUpper(e.trimmed(EnvLockMode)); m {
	case "":
	case s3stream.LockGovernance, s3stream.LockCompliance:
		l.Mode = m
	default:
		e.bad("%s=%q: use %s or %s (or leave it unset for no lock)", EnvLockMode, e.trimmed(EnvLockMode), s3stream.LockGovernance, s3stream.LockCompliance)
	}
	days, retain := e.trimmed(EnvLockDays), e.trimmed(EnvLockRetain)
	switch {
	case days != "" && retain != "":
		e.bad("%s and %s are the same setting: set one", EnvLockDays, EnvLockRetain)
	case days != "":
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || time.Duration(n)*24*time.Hour > maxLock {
			e.bad("%s=%q: use a whole number of days from 1 to 36500", EnvLockDays, days)
		} else {
			l.Retain = time.Duration(n) * 24 * time.Hour
		}
	case retain != "":
		d, err := parseRetain(retain)
		if err != nil || d <= 0 || d > maxLock {
			e.bad("%s=%q: use a duration from 1s to 100 years, such as 90d or 36h", EnvLockRetain, retain)
		} else {
			l.Retain = d
		}
	}
	l.LegalHold = e.bool(EnvLegalHold)
	switch {
	case l.Mode != "" && l.Retain == 0 && days == "" && retain == "":
		e.bad("%s=%s needs %s (or %s): how long each object stays locked", EnvLockMode, l.Mode, EnvLockDays, EnvLockRetain)
	case l.Mode == "" && (days != "" || retain != "") && e.trimmed(EnvLockMode) == "":
		name := EnvLockDays
		if days == "" {
			name = EnvLockRetain
		}
		e.bad("%s needs %s: GOVERNANCE or COMPLIANCE", name, EnvLockMode)
	}
	return l
}

// ParseLockDuration reads how long an object is (to be) locked: days (7)
// or a duration (7d, 36h); it is positive and at most 100 years.
func ParseLockDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		s = strconv.Itoa(n) + "d"
	}
	d, err := parseRetain(s)
	if err != nil || d <= 0 || d > maxLock {
		return 0, fmt.Errorf("not a duration from 1s to 100 years")
	}
	return d, nil
}

// parseRetain reads a duration: Go's (36h, 90m, 30s) or days (90d).
func parseRetain(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d > 36500 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// PathStyle reads S3_PATH_STYLE, for the filters that honour it too.
func PathStyle(getenv func(string) string) (bool, error) {
	e := &env{getenv: getenv}
	b := e.bool(EnvPathStyle)
	return b, errors.Join(e.errs...)
}

// checkS3Env checks the bucket name (unless "") and the AWS region and
// endpoint variables the way S3 and the SDK will: the bucket by s3stream's
// rule (the one of s3put and s3get), the endpoint as a URL, the region by
// the SDK's rule, and all of them together by the SDK's own endpoint rules.
// The SDK reads these variables itself, but checks them only when it sends
// a request, which for an upload is after the whole dump.
func checkS3Env(e *env, bucket string, pathStyle bool) []error {
	var errs []error
	if bucket != "" {
		if err := s3stream.CheckBucket(bucket); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvBucket, err))
		}
	}
	endpoint := ""
	if ignore, _ := strconv.ParseBool(e.get(EnvIgnoreEndpoint)); !ignore {
		for _, name := range []string{EnvEndpointS3, EnvEndpoint} {
			v := e.get(name)
			if v == "" {
				continue
			}
			if err := s3stream.CheckEndpoint(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w (want a URL such as https://s3.example.com or http://127.0.0.1:7070)", name, err))
			} else if endpoint == "" {
				endpoint = v // the S3-specific one wins, as in the SDK
			}
		}
	}
	regionVar, region := EnvRegion, e.get(EnvRegion)
	if region == "" {
		regionVar, region = EnvDefaultRegion, e.get(EnvDefaultRegion)
	}
	if region != "" && !validRegion(region) {
		errs = append(errs, fmt.Errorf("%s=%q: not a region name (the AWS SDK takes letters, digits and '-', e.g. eu-west-1)", regionVar, region))
	}
	if len(errs) > 0 || region == "" || bucket == "" {
		return errs
	}
	if err := s3stream.ResolveEndpoint(bucket, region, endpoint, pathStyle); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q, %s=%q: %w", EnvBucket, bucket, regionVar, region, err))
	}
	return errs
}

// validRegion is the rule the SDK applies to the region of every request,
// to AWS and to any other endpoint alike (the S3 client's bindRegion): host
// labels of letters, digits and '-', not starting or ending with '-',
// separated by '.'.
func validRegion(r string) bool {
	for _, label := range strings.Split(r, ".") {
		if !smithyhttp.ValidHostLabel(label) || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// S3Words are the job's names of the settings S3 hints point at.
var S3Words = s3stream.Words{
	Bucket:      EnvBucket,
	Endpoint:    EnvEndpoint,
	Region:      EnvRegion,
	PathStyle:   EnvPathStyle + "=true",
	RegionIs:    EnvRegion + "=%s",
	Permissions: "s3:ListBucket, s3:PutObject, s3:GetObject, s3:AbortMultipartUpload, and s3:DeleteObject with KEEP_ rules",
	// Where the store rejects CRC32C in an upload's first request, the
	// job falls back to Content-MD5 by itself; in a later part only the
	// setting helps.
	PartChecksum:   EnvChecksum + "=when_required",
	NoLock:         "unset " + EnvLockMode + " and " + EnvLegalHold,
	NoSSE:          "unset " + EnvSSE,
	NoStorageClass: "unset " + EnvStorageClass,
	// NoOverwrite: none; a backup never replaces another.
}

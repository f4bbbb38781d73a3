package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3test"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// lockBucket is a bucket with Object Lock enabled, created once for the
// tests that need one. Its objects stay locked until the gateway stops.
var lockBucket = sync.OnceValues(func() (string, error) {
	const name = "s3put-lock"
	return name, s3test.Server.CreateLockBucket(context.Background(), s3test.Client(), name)
})

func newLockBucket(t *testing.T) string {
	t.Helper()
	b, err := lockBucket()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// put runs s3put with args and stdin, and returns its exit status and
// standard error; standard output must stay empty.
func put(t *testing.T, stdin io.Reader, args ...string) (int, string) {
	t.Helper()
	cmd := command(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if stdout.Len() > 0 {
		t.Errorf("s3put %q wrote to stdout: %q", args, stdout.String())
	}
	return code, stderr.String()
}

// errorLines are the "s3put: error: " lines of stderr.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "s3put: error: ") {
			out = append(out, l)
		}
	}
	return out
}

// deleteFails reports whether the test's credentials, the writer's, fail
// to delete the current version of bucket/key.
func deleteFails(t *testing.T, bucket, key string) bool {
	t.Helper()
	c := s3test.Client()
	h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key, VersionId: h.VersionId})
	return err != nil
}

// TestLockMode uploads with --lock-mode and --lock-days or --lock-until
// into a bucket with Object Lock: the object, and the manifest when one is
// written, keep the lock asked for, and the writer's own credentials
// cannot delete them.
func TestLockMode(t *testing.T) {
	bucket := newLockBucket(t)
	c := s3test.Client()
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name     string
		args     []string
		mode     string
		day      bool // until is a day from the upload, not until
		size     int64
		manifest bool
	}{
		{"governance for a day", []string{"--lock-mode", "governance", "--lock-days", "1"}, s3stream.LockGovernance, true, 12, true},
		{"governance for a day, several parts", []string{"-lock-mode", "Governance", "-lock-days", "1"}, s3stream.LockGovernance, true, 17_000_000, true},
		{"compliance until, no manifest", []string{"--lock-mode", "COMPLIANCE", "--lock-until", until.Format(time.RFC3339), "--no-manifest"}, s3stream.LockCompliance, false, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "lock/" + strings.ReplaceAll(tc.name, " ", "-")
			start := time.Now()
			code, stderr := put(t, s3test.Stream(3, tc.size), append(tc.args, "s3://"+bucket+"/"+key)...)
			end := time.Now()
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			keys := []string{key}
			if tc.manifest {
				keys = append(keys, s3stream.ManifestKey(key))
			} else if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(s3stream.ManifestKey(key))}); err == nil {
				t.Error("a manifest was written with --no-manifest")
			}
			for _, k := range keys {
				h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: &k})
				if err != nil {
					t.Fatal(err)
				}
				r, err := c.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: &bucket, Key: &k})
				if err != nil {
					t.Fatal(err)
				}
				got := aws.ToTime(h.ObjectLockRetainUntilDate)
				if string(h.ObjectLockMode) != tc.mode || string(r.Retention.Mode) != tc.mode || !aws.ToTime(r.Retention.RetainUntilDate).Equal(got) {
					t.Errorf("%s: HeadObject %s until %s, GetObjectRetention %s until %s; want %s", k,
						h.ObjectLockMode, got, r.Retention.Mode, aws.ToTime(r.Retention.RetainUntilDate), tc.mode)
				}
				if tc.day {
					// A day from the start, rounded up to a whole second.
					lo, hi := start.Add(24*time.Hour).Truncate(time.Second), end.Add(24*time.Hour+time.Second)
					if got.Before(lo) || got.After(hi) {
						t.Errorf("%s: retained until %s, want between %s and %s", k, got, lo, hi)
					}
				} else if !got.Equal(until) {
					t.Errorf("%s: retained until %s, want %s", k, got, until)
				}
				if h.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn {
					t.Errorf("%s: a legal hold without --legal-hold", k)
				}
				if !deleteFails(t, bucket, k) {
					t.Errorf("%s: the writer's credentials deleted the locked object", k)
				}
			}
		})
	}
}

// TestLegalHold: --legal-hold alone puts a legal hold on the object and
// its manifest, and no retention.
func TestLegalHold(t *testing.T) {
	bucket := newLockBucket(t)
	c := s3test.Client()
	const key = "hold/object"
	code, stderr := put(t, strings.NewReader("held\n"), "--legal-hold", "s3://"+bucket+"/"+key)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, k := range []string{key, s3stream.ManifestKey(key)} {
		h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		lh, err := c.GetObjectLegalHold(t.Context(), &s3.GetObjectLegalHoldInput{Bucket: &bucket, Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		if h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn || h.ObjectLockMode != "" {
			t.Errorf("%s: legal hold %s (GetObjectLegalHold %s), mode %q; want ON and no mode", k, h.ObjectLockLegalHoldStatus, lh.LegalHold.Status, h.ObjectLockMode)
		}
		if !deleteFails(t, bucket, k) {
			t.Errorf("%s: the writer's credentials deleted an object under legal hold", k)
		}
	}
}

// TestLockRefused: a lock asked of a bucket without Object Lock fails,
// exit 1 with one error line, before s3put uploads anything: it leaves
// neither an object, a manifest nor an unfinished upload.
func TestLockRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		size int64
		need string
	}{
		{"mode", []string{"--lock-mode", "GOVERNANCE", "--lock-days", "1"}, 12, "--lock-mode needs"},
		{"mode several parts", []string{"--lock-mode", "GOVERNANCE", "--lock-days", "1"}, 17_000_000, "--lock-mode needs"},
		{"legal hold", []string{"--legal-hold"}, 12, "--legal-hold needs"},
		{"mode and legal hold", []string{"--legal-hold", "--lock-mode", "compliance", "--lock-days", "1"}, 12, "--lock-mode and --legal-hold need"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "lock-refused/" + strings.ReplaceAll(tc.name, " ", "-")
			code, stderr := put(t, s3test.Stream(4, tc.size), append(tc.args, "s3://"+s3test.Bucket+"/"+key)...)
			want := "s3put: error: s3://" + s3test.Bucket + " does not have S3 Object Lock enabled, which " + tc.need +
				": create the bucket with Object Lock (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket)\n"
			if code != 1 || stderr != want {
				t.Errorf("exit %d\n%s\nwant exit 1 and\n%s", code, stderr, want)
			}
			if exists(t, key) || exists(t, s3stream.ManifestKey(key)) || unfinished(t, key) > 0 {
				t.Errorf("object %v, manifest %v, %d unfinished uploads after the refusal",
					exists(t, key), exists(t, s3stream.ManifestKey(key)), unfinished(t, key))
			}
		})
	}

	// Credentials that may not read the bucket's configuration: the
	// store refuses the upload's first request, and s3put names the
	// likely cause.
	p, err := faultproxy.New(s3test.Server.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(faultproxy.Rule{Method: "GET", Query: "object-lock", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	const key = "lock-refused/unknown"
	code, stderr := put(t, s3test.Stream(5, 17_000_000), "--endpoint", p.URL, "--lock-mode", "governance", "--lock-days", "1", "s3://"+s3test.Bucket+"/"+key)
	lines := errorLines(stderr)
	want := "s3put: error: upload to s3://" + s3test.Bucket + "/" + key + ": InvalidRequest: "
	if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "Object Lock") && !strings.Contains(lines[0], "ObjectLock") {
		t.Errorf("exit %d\n%s\nwant exit 1 and one error line starting %q", code, stderr, want)
	}
	if !strings.Contains(stderr, "\ns3put: hint: --lock-mode and --legal-hold need a bucket created with Object Lock enabled\n") {
		t.Errorf("no hint to the bucket's Object Lock:\n%s", stderr)
	}
	if exists(t, key) || exists(t, s3stream.ManifestKey(key)) || unfinished(t, key) > 0 {
		t.Errorf("object %v, manifest %v, %d unfinished uploads after the refusal",
			exists(t, key), exists(t, s3stream.ManifestKey(key)), unfinished(t, key))
	}
}

// TestLockNotKept: a store that takes the lock headers and keeps no lock
// (a proxy hides the lock from HEAD) fails the upload, exit 1, with one
// error line naming the lock asked for and the one kept.
func TestLockNotKept(t *testing.T) {
	bucket := newLockBucket(t)
	p, err := faultproxy.New(s3test.Server.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(faultproxy.Rule{Method: "HEAD", Times: -1, Fault: faultproxy.Fault{DropHeaders: []string{
		"X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date", "X-Amz-Object-Lock-Legal-Hold"}}})
	for _, tc := range []struct {
		name string
		args []string
		key  string // the object found unlocked
	}{
		{"mode", []string{"--lock-mode", "GOVERNANCE", "--lock-days", "1"}, "not-kept/mode"},
		{"legal hold", []string{"--legal-hold"}, "not-kept/hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := put(t, strings.NewReader("data\n"), append(tc.args, "--endpoint", p.URL, "s3://"+bucket+"/"+tc.key)...)
			lines := errorLines(stderr)
			want := "s3put: error: not locked: s3://" + bucket + "/" + tc.key + " was written with the object lock "
			if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.HasSuffix(lines[0], "and the store keeps -: it ignored the lock, so the object can be deleted") {
				t.Errorf("exit %d\n%s\nwant exit 1 and one error line starting %q", code, stderr, want)
			}
		})
	}
}

// TestLockUsage: every bad lock flag is a usage error, exit 2 with one
// error line and a hint, before s3put reads its input or uploads
// anything.
func TestLockUsage(t *testing.T) {
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	const hint = "\ns3put: hint: run 's3put -h' for usage\n"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"--lock-mode", "worm", "--lock-days", "1"}, `unknown --lock-mode "worm": want GOVERNANCE or COMPLIANCE` + hint},
		{"empty mode", []string{"--lock-mode=", "--lock-days", "1"}, `unknown --lock-mode "": want GOVERNANCE or COMPLIANCE` + hint},
		{"mode without a date", []string{"--lock-mode", "compliance"}, "--lock-mode COMPLIANCE needs --lock-until TIME or --lock-days N" + hint},
		{"mode and legal hold without a date", []string{"--legal-hold", "--lock-mode", "governance"}, "--lock-mode GOVERNANCE needs --lock-until TIME or --lock-days N" + hint},
		{"days without a mode", []string{"--lock-days", "1"}, "--lock-days needs --lock-mode GOVERNANCE or COMPLIANCE" + hint},
		{"until without a mode", []string{"--lock-until", future}, "--lock-until needs --lock-mode GOVERNANCE or COMPLIANCE" + hint},
		{"both until and days", []string{"--lock-mode", "governance", "--lock-until", future, "--lock-days", "1"}, "give either --lock-until or --lock-days, not both" + hint},
		{"zero days", []string{"--lock-mode", "governance", "--lock-days", "0"}, "--lock-days 0: want 1 to 36500" + hint},
		{"negative days", []string{"--lock-mode", "governance", "--lock-days", "-3"}, "--lock-days -3: want 1 to 36500" + hint},
		{"too many days", []string{"--lock-mode", "governance", "--lock-days", "36501"}, "--lock-days 36501: want 1 to 36500" + hint},
		{"days not a number", []string{"--lock-mode", "governance", "--lock-days", "ten"}, `invalid value "ten" for flag -lock-days: parse error` + hint},
		{"until in the past", []string{"--lock-mode", "governance", "--lock-until", past}, "--lock-until " + past + " is not in the future" + hint},
		{"until a date only", []string{"--lock-mode", "governance", "--lock-until", "2099-01-31"}, `invalid --lock-until "2099-01-31": want an RFC 3339 time such as 2027-01-31T00:00:00Z` + hint},
		{"until not a time", []string{"--lock-mode", "governance", "--lock-until", "tomorrow"}, `invalid --lock-until "tomorrow": want an RFC 3339 time such as 2027-01-31T00:00:00Z` + hint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "lock-usage/" + strings.ReplaceAll(tc.name, " ", "-")
			// Input in a pipe, to see that s3put left it unread.
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			const input = "not to be read\n"
			w.WriteString(input)
			w.Close()
			code, stderr := put(t, r, append(tc.args, "s3://"+s3test.Bucket+"/"+key)...)
			if want := "s3put: error: " + tc.want; code != 2 || stderr != want {
				t.Errorf("exit %d\n%s\nwant exit 2 and\n%s", code, stderr, want)
			}
			if left, _ := io.ReadAll(r); string(left) != input {
				t.Errorf("s3put read %d bytes of its input", len(input)-len(left))
			}
			if exists(t, key) || unfinished(t, key) > 0 {
				t.Errorf("object %v, %d unfinished uploads after a usage error", exists(t, key), unfinished(t, key))
			}
		})
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// newLockBucket creates a bucket of the test's own with Object Lock
// enabled.
func newLockBucket(t *testing.T) string {
	t.Helper()
	name := bucketName(t, "l")
	if err := srv.CreateLockBucket(t.Context(), s3client(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// retention is an object's lock as the store keeps it.
func retention(t *testing.T, bucket, key string) (string, time.Time) {
	t.Helper()
	out, err := s3client().GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("retention of %s: %v", key, err)
	}
	return string(out.Retention.Mode), aws.ToTime(out.Retention.RetainUntilDate)
}

// TestObjectLock: with OBJECT_LOCK_MODE every object of a backup (dump,
// globals, their manifests) is locked until the manifest's date, which
// the job's own credentials cannot undo; the metrics say until when; list
// and verify show the lock, and verify -require-lock fails a lock that
// ends too soon; prune leaves a locked backup the rules would delete and
// says so without failing.
func TestObjectLock(t *testing.T) {
	t.Parallel()
	bucket := newLockBucket(t)
	_, list := sourceDatabase(t, "locked")
	metrics := filepath.Join(t.TempDir(), "backup.prom")
	env := jobEnv(list, bucket, "", "OBJECT_LOCK_MODE=governance", "OBJECT_LOCK_DAYS=1", "DUMP_GLOBALS=true", "METRICS_FILE="+metrics)
	started := time.Now()
	r := runJob(t, env)
	if r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	keys := objects(t, bucket)
	k1 := backupKey(t, keys, "locked", ".gz.aes")
	g1 := backupKey(t, keys, "locked", ".globals.gz.aes")
	m := readManifest(t, bucket, k1)
	b, _ := m["backup"].(map[string]any)
	lock, _ := b["object_lock"].(map[string]any)
	until, err := time.Parse(time.RFC3339, fmt.Sprint(lock["retain_until"]))
	if err != nil || lock["mode"] != "GOVERNANCE" || until.Before(started.Add(24*time.Hour).Truncate(time.Second)) || until.After(time.Now().Add(24*time.Hour+time.Second)) {
		t.Fatalf("the manifest's object_lock: %v (%v)", lock, err)
	}
	for _, k := range []string{k1, k1 + ".manifest.json", g1, g1 + ".manifest.json"} {
		if mode, u := retention(t, bucket, k); mode != "GOVERNANCE" || !u.Equal(until) {
			t.Errorf("%s: retention %s until %s, want GOVERNANCE until %s", k, mode, u, until)
		}
		if _, err := s3client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err == nil {
			t.Errorf("the job's credentials deleted the locked %s", k)
		}
	}
	got, _ := os.ReadFile(metrics)
	var v float64
	if m := regexp.MustCompile(`(?m)^iron_streaming_backup_locked_until_timestamp_seconds\{prefix="locked"\} (\S+)$`).FindSubmatch(got); m == nil {
		t.Errorf("metrics lack the lock's date:\n%s", got)
	} else if _, err := fmt.Sscan(string(m[1]), &v); err != nil || int64(v) != until.Unix() {
		t.Errorf("metrics: locked until %s, want %d", m[1], until.Unix())
	}

	// A second backup: KEEP_LAST=1 would delete the first, which its
	// lock keeps.
	// (A new second: the key's time is the job's start, not the test's.)
	b1, _ := catalog.ParseKey(k1)
	time.Sleep(time.Until(b1.Time.Add(time.Second)))
	r = runJob(t, append(env, "KEEP_LAST=1"))
	if r.code != 0 {
		t.Fatalf("second backup: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"locked: retention: keeps s3://" + bucket + "/" + k1 + ", which no rule keeps: locked (GOVERNANCE lock until " + until.UTC().Format("2006-01-02 15:04:05") + " UTC)",
		"locked: retention (KEEP_LAST=1): 1 backups kept, 0 deleted; 1 locked, kept",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("second backup's log lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "refused") || strings.Contains(r.stderr, "error") {
		t.Errorf("a locked backup counted as a failure:\n%s", r.stderr)
	}
	k2 := ""
	for _, k := range objects(t, bucket) {
		if strings.HasSuffix(k, ".gz.aes") && !strings.Contains(k, "globals") && k != k1 {
			k2 = k
		}
	}

	// list and verify show the lock; -require-lock wants more.
	lr := runJob(t, env, "list")
	if lr.code != 0 || !regexp.MustCompile(`(?m)^PREFIX .* MANIFEST +GLOBALS +LOCK +KEY$`).MatchString(lr.stdout) ||
		!regexp.MustCompile(`(?m)^locked .* yes +yes +GOVERNANCE \d{4}-\d\d-\d\d \d\d:\d\d +`+regexp.QuoteMeta(k2)+`$`).MatchString(lr.stdout) {
		t.Errorf("list: exit %d\n%s%s", lr.code, lr.stdout, lr.stderr)
	}
	lr = runJob(t, env, "list", "-json")
	var entries []struct {
		Key  string
		Lock *struct {
			Mode   string
			Locked bool
		}
	}
	if err := json.Unmarshal([]byte(lr.stdout), &entries); err != nil || len(entries) != 2 || entries[0].Lock == nil || entries[0].Lock.Mode != "GOVERNANCE" || !entries[0].Lock.Locked {
		t.Errorf("list -json: %v\n%s", err, lr.stdout)
	}
	vr := runJob(t, env, "verify", "-require-lock", "12h")
	if vr.code != 0 || !strings.Contains(vr.stderr, "; locked: GOVERNANCE until ") {
		t.Errorf("verify -require-lock 12h: exit %d\n%s", vr.code, vr.stderr)
	}
	vr = runJob(t, env, "verify", "-require-lock", "7")
	if vr.code != 1 || !strings.Contains(vr.stderr, "is locked only until") || !strings.Contains(vr.stderr, "-require-lock 168h0m0s") {
		t.Errorf("verify -require-lock 7: exit %d\n%s", vr.code, vr.stderr)
	}
	if vr = runJob(t, env, "verify", "-require-lock", "soon"); vr.code != 2 {
		t.Errorf("verify -require-lock soon: exit %d\n%s", vr.code, vr.stderr)
	}
}

// TestObjectLockExpires: once a backup's lock has passed, retention
// deletes it like any other.
func TestObjectLockExpires(t *testing.T) {
	t.Parallel()
	bucket := newLockBucket(t)
	_, list := sourceDatabase(t, "expires")
	r := runJob(t, jobEnv(list, bucket, "", "OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_RETAIN=3s"))
	if r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	k1 := backupKey(t, objects(t, bucket), "expires", ".gz.aes")
	_, until := retention(t, bucket, k1)
	time.Sleep(time.Until(until) + time.Second)
	r = runJob(t, jobEnv(list, bucket, "", "KEEP_LAST=1"))
	if r.code != 0 || !strings.Contains(r.stderr, "expires: retention (KEEP_LAST=1): 1 backups kept, 1 deleted") {
		t.Errorf("a backup after the lock passed: exit %d\n%s", r.code, r.stderr)
	}
	for _, k := range objects(t, bucket) {
		if strings.HasPrefix(k, k1) {
			t.Errorf("%s is left after its lock passed and retention ran", k)
		}
	}
}

// TestObjectLockRefused: lock settings with a bucket that has no Object
// Lock are refused before any pg_dump, and so is a store that takes the
// lock headers and keeps no lock: the backup fails and says so, with no
// manifest that would call it locked. Bad settings are refused, each on
// its line.
func TestObjectLockRefused(t *testing.T) {
	t.Parallel()
	_, list := sourceDatabase(t, "nolock")
	plain := newBucket(t)
	r := runJob(t, jobEnv(list, plain, "", "OBJECT_LOCK_MODE=COMPLIANCE", "OBJECT_LOCK_DAYS=1"))
	if r.code != 2 || !strings.Contains(r.stderr, "does not have S3 Object Lock enabled") || strings.Contains(r.stderr, "nolock: started") {
		t.Errorf("a bucket without object lock: exit %d\n%s", r.code, r.stderr)
	}
	if keys := objects(t, plain); len(keys) != 0 {
		t.Errorf("the refused run left %q", keys)
	}

	locked := newLockBucket(t)
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(faultproxy.Rule{Method: "HEAD", Times: -1, Fault: faultproxy.Fault{DropHeaders: []string{
		"X-Amz-Object-Lock-Mode", "X-Amz-Object-Lock-Retain-Until-Date", "X-Amz-Object-Lock-Legal-Hold"}}})
	// The gateway does lock: the job's delete of what it takes for an
	// unlocked object is held until the short lock has passed (the write
	// check's abort, a DELETE too, is not).
	p.Add(faultproxy.Rule{Method: "DELETE", Path: "/nolock-", Times: -1, Fault: faultproxy.Fault{Delay: 4 * time.Second}})
	r = runJob(t, jobEnv(list, locked, p.URL, "OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_RETAIN=2s"))
	if r.code != 1 || !strings.Contains(r.stderr, "was stored, but not locked: ") || !strings.Contains(r.stderr, "the store keeps -: it ignored the lock, so the object can be deleted; it was deleted") {
		t.Errorf("a store that keeps no lock: exit %d\n%s", r.code, r.stderr)
	}
	if keys := objects(t, locked); len(keys) != 0 {
		t.Errorf("a backup the store did not lock left %q", keys)
	}

	for _, bad := range [][]string{
		{"OBJECT_LOCK_MODE=WORM", "OBJECT_LOCK_DAYS=1"},
		{"OBJECT_LOCK_MODE=GOVERNANCE"},
		{"OBJECT_LOCK_DAYS=30"},
		{"OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=0"},
		{"OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=36501"},
		{"OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_RETAIN=101y"},
		{"OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=1", "OBJECT_LOCK_RETAIN=1d"},
	} {
		r := runJob(t, jobEnv(list, locked, "", bad...))
		if r.code != 2 || !strings.Contains(r.stderr, "OBJECT_LOCK_") || strings.Contains(r.stderr, "started") {
			t.Errorf("%q: exit %d\n%s", bad, r.code, r.stderr)
		}
	}
}

// TestDocsObjectLockBucket runs the documentation's lines that create a
// bucket with Object Lock (docs/verify-and-retention.md) with the AWS CLI
// against the gateway; a backup with a lock then goes into it.
func TestDocsObjectLockBucket(t *testing.T) {
	t.Parallel()
	lines := docBlockLines(t, "# recipe: object lock bucket")
	if len(lines) != 2 {
		t.Fatalf("the documentation's recipe: %q", lines)
	}
	bucket := fmt.Sprintf("l%d-docs-lock", bucketSeq.Add(1))
	_, list := sourceDatabase(t, "docslock")
	env := jobEnv(list, bucket, "", "OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=1")
	for _, l := range lines {
		cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", strings.ReplaceAll(l, "my-bucket", bucket))
		cmd.Env = append(slices.Clone(env), "PATH="+awsFolder(t)+":/usr/bin:/bin")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", l, err, out)
		}
		if strings.HasPrefix(l, "aws s3api get-object-lock-configuration") && !strings.Contains(string(out), `"ObjectLockEnabled": "Enabled"`) {
			t.Errorf("%s:\n%s", l, out)
		}
	}
	if r := runJob(t, env); r.code != 0 {
		t.Fatalf("a locked backup into the documented bucket: exit %d\n%s", r.code, r.stderr)
	}
	k := backupKey(t, objects(t, bucket), "docslock", ".gz.aes")
	if mode, until := retention(t, bucket, k); mode != "GOVERNANCE" || time.Until(until) < 23*time.Hour {
		t.Errorf("%s: %s until %s", k, mode, until)
	}
}

package main

// Retention against the S3 gateway: years of synthetic backups per prefix
// among keys that look like them, pruned by the job after a backup and by
// the prune command, with refused deletes and a store without
// DeleteObjects.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// retentionBucket is the tests' own bucket: they hold thousands of keys,
// more than the other tests' one-page listings see.
const retentionBucket = "retention"

var makeRetentionBucket sync.Once

// freshRetentionBucket returns the empty retention bucket.
func freshRetentionBucket(t *testing.T) {
	t.Helper()
	makeRetentionBucket.Do(func() {
		if err := srv.CreateBucket(t.Context(), s3client(), retentionBucket); err != nil {
			t.Fatal(err)
		}
	})
	clear := func(ctx context.Context) {
		keys := allKeys(t, ctx, retentionBucket)
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			var ids []types.ObjectIdentifier
			for _, k := range keys[:n] {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			in := &s3.DeleteObjectsInput{Bucket: aws.String(retentionBucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}
			if _, err := s3client().DeleteObjects(ctx, in); err != nil {
				t.Fatal(err)
			}
			keys = keys[n:]
		}
	}
	clear(t.Context())
	t.Cleanup(func() { clear(context.Background()) })
}

// allKeys lists every key of bucket, all pages.
func allKeys(t *testing.T, ctx context.Context, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s3client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// putAll writes the objects (key → body), 16 at a time.
func putAll(t *testing.T, bucket string, objs map[string][]byte) {
	t.Helper()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for k, body := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := s3client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(body)})
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// history adds to objs one backup a day at 06:00 UTC of prefix under
// folder, from first to last (2006-01-02); the ones before manifestsFrom
// have no manifest, as the original shell image wrote them.
func history(t *testing.T, objs map[string][]byte, folder, prefix, first, last, manifestsFrom string) {
	t.Helper()
	day := func(s string) time.Time {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(6 * time.Hour)
	}
	m := day(manifestsFrom)
	for d := day(first); !d.After(day(last)); d = d.AddDate(0, 0, 1) {
		k := folder + prefix + "-" + d.Format("20060102150405") + ".gz.aes"
		objs[k] = []byte("Salted__ a backup of " + prefix)
		if !d.Before(m) {
			objs[k+".manifest.json"] = manifestOf(t, k, objs[k])
		}
	}
}

// manifestOf is a manifest such as the job writes for the object key with
// body: its key, size and SHA-256, and the time in the key as its start.
// Retention reads the manifests, and leaves alone a backup whose manifest
// does not describe it.
func manifestOf(t *testing.T, key string, body []byte) []byte {
	t.Helper()
	return manifestWith(t, key, body, nil)
}

// manifestWith is manifestOf with more of the job's facts.
func manifestWith(t *testing.T, key string, body []byte, facts map[string]any) []byte {
	t.Helper()
	b, ok := catalog.ParseKey(path.Base(key))
	if !ok {
		t.Fatalf("test error: %s is not a backup's key", key)
	}
	info := map[string]any{"prefix": b.Prefix, "started": b.Time}
	maps.Copy(info, facts)
	if b.Companion != "" {
		info["companion"] = b.Companion
	}
	raw, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	m := &s3stream.Manifest{Version: s3stream.ManifestVersion, Bucket: retentionBucket, Key: key, Size: int64(len(body)),
		SHA256: hex.EncodeToString(sum[:]), Parts: 1, Backup: raw}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// retentionEnv is the job's environment for the retention bucket.
func retentionEnv(list, folder, endpoint string, extra ...string) []string {
	return jobEnv(list, retentionBucket, endpoint, append([]string{"S3_PREFIX=" + folder}, extra...)...)
}

// minus is the keys of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	return out
}

func keysOf(objs map[string][]byte) []string {
	var keys []string
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const recommended = "KEEP_DAILY=7 KEEP_WEEKLY=5 KEEP_MONTHLY=12"

// TestPruneTwoYears: two years of daily backups of two prefixes (the first
// year without manifests), in every ending the job writes or wrote, among
// keys that look like backups and are not; prune -dry-run, then prune.
func TestPruneTwoYears(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r1/", "db1", "2024-12-01", "2026-11-30", "2026-01-01")
	history(t, objs, "r1/", "db2", "2024-12-01", "2026-11-30", "2026-01-01")
	// Other endings of db1 in place of the daily one, companions and
	// leftovers.
	// The object and its manifest, which describes its new name.
	swap := func(from, to string) {
		objs[to] = objs[from]
		objs[to+".manifest.json"] = manifestOf(t, to, objs[to])
		delete(objs, from)
		delete(objs, from+".manifest.json")
	}
	swap("r1/db1-20261101060000.gz.aes", "r1/db1-20261101060000.gz.age")
	swap("r1/db1-20260630060000.gz.aes", "r1/db1-20260630060000.dump.zst.aes")
	swap("r1/db1-20260615060000.gz.aes", "r1/db1-20260615060000.dump.gz.aes")
	for k, v := range map[string]string{
		"r1/db1-20261130060000.globals.gz.aes": "globals",
		"r1/db1-20261101060000.globals.gz.age": "globals",
		"r1/db1-20261128120000.gz.aes":         "", // empty: no backup
		"r1/db1-20260214030000.globals.gz.aes": "a companion whose dump is gone",
		"r1/db1-20991231000000.gz.aes":         "dated in the future",
	} {
		objs[k] = []byte(v)
		if v != "" {
			objs[k+".manifest.json"] = manifestOf(t, k, objs[k])
		}
	}
	objs["r1/db1-20260215030000.gz.aes.manifest.json"] = manifestOf(t, "r1/db1-20260215030000.gz.aes", nil) // its object is gone
	// Keys that are not db1's backups, or not in this folder: they stay.
	lookAlikes := []string{
		"r1/db10-20250101060000.gz.aes", "r1/db1x-20250101060000.gz.aes", "r1/db1-x-20250101060000.gz.aes",
		"r1/db1-notes.txt", "r1/deeper/db1-20250101060000.gz.aes", "r1/deeper/db1-20250101060000.gz.aes.manifest.json",
		"db1-20250101060000.gz.aes", "r1x/db1-20250101060000.gz.aes", "r1/db1-2025010106000.gz.aes",
		"r1/db1-20250101060000.gz.aes.bak", "r1/db1-20250101060000.gz", "r1/db1-20250101060000.tar.gz.aes",
		"r1/db3-20250101060000.gz.aes", "r1/db1-20250101060000.txt.manifest.json",
	}
	for _, k := range lookAlikes {
		objs[k] = []byte("not ours")
	}
	putAll(t, retentionBucket, objs)
	before := allKeys(t, t.Context(), retentionBucket)
	if !slices.Equal(before, keysOf(objs)) {
		t.Fatalf("the bucket holds %d keys, %d written", len(before), len(objs))
	}

	// Kept, worked out by hand (weekdays from date(1)): the 7 newest days,
	// 24 to 30 November; ISO weeks: Mon 30 November starts 2026-W49, Sundays
	// 29, 22, 15 and 8 November end W48 to W45; the last day of each month
	// back to December 2025, which has no manifest (the rules count it like
	// any other). Plus what the rules never delete: the backup dated 2099.
	var keep []string
	for _, d := range []string{"20261130", "20261129", "20261128", "20261127", "20261126", "20261125", "20261124",
		"20261122", "20261115", "20261108",
		"20261031", "20260930", "20260831", "20260731", "20260531", "20260430", "20260331", "20260228", "20260131"} {
		keep = append(keep, "r1/db1-"+d+"060000.gz.aes", "r1/db1-"+d+"060000.gz.aes.manifest.json")
	}
	keep = append(keep, "r1/db1-20251231060000.gz.aes",
		"r1/db1-20260630060000.dump.zst.aes", "r1/db1-20260630060000.dump.zst.aes.manifest.json",
		"r1/db1-20261130060000.globals.gz.aes", "r1/db1-20261130060000.globals.gz.aes.manifest.json",
		"r1/db1-20991231000000.gz.aes", "r1/db1-20991231000000.gz.aes.manifest.json")
	var db1 []string
	for _, k := range before {
		if strings.HasPrefix(k, "r1/db1-") && !slices.Contains(lookAlikes, k) {
			db1 = append(db1, k)
		}
	}
	for _, k := range keep {
		if !slices.Contains(db1, k) {
			t.Fatalf("test error: %s is not in the bucket", k)
		}
	}
	wantGone := minus(db1, keep)
	sort.Strings(wantGone)

	env := retentionEnv(twoDatabases(), "r1", "", strings.Fields(recommended)...)
	r := runJob(t, env, "prune", "-dry-run", "db1")
	if r.code != 0 {
		t.Fatalf("prune -dry-run: exit %d:\n%s", r.code, r.stderr)
	}
	got := strings.Fields(r.stdout)
	sort.Strings(got)
	if !slices.Equal(got, wantGone) {
		t.Errorf("prune -dry-run would delete %d keys, want %d:\nextra: %q\nmissing: %q", len(got), len(wantGone), minus(got, wantGone), minus(wantGone, got))
	}
	if after := allKeys(t, t.Context(), retentionBucket); !slices.Equal(after, before) {
		t.Fatalf("prune -dry-run deleted %q", minus(before, after))
	}
	// 730 daily backups, the empty object and the one dated 2099: 21 kept
	// by the rules and the future one; the companion without a dump and
	// the manifest without an object are leftovers.
	if !strings.Contains(r.stderr, "db1: retention (KEEP_DAILY=7 KEEP_WEEKLY=5 KEEP_MONTHLY=12): 22 backups kept, 710 to delete, and 2 leftover objects") ||
		!strings.Contains(r.stderr, "would delete s3://retention/r1/db1-20261101060000.gz.age with globals (kept by no rule)") ||
		!strings.Contains(r.stderr, "would delete s3://retention/r1/db1-20261128120000.gz.aes (empty)") {
		t.Errorf("prune -dry-run log:\n%s", r.stderr)
	}

	// list says the same as the rules, per backup.
	r = runJob(t, env, "list", "-json", "db1")
	var entries []struct {
		Key    string
		Keep   *bool
		KeptBy []string `json:"kept_by"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code != 0 {
		t.Fatalf("list -json: exit %d, %v:\n%s", r.code, err, r.stderr)
	}
	for _, e := range entries {
		if e.Keep == nil || *e.Keep != slices.Contains(keep, e.Key) {
			t.Errorf("list -json: %s keep %v, kept by %q", e.Key, e.Keep, e.KeptBy)
		}
	}
	if e := entries[1]; e.Key != "r1/db1-20261130060000.gz.aes" || strings.Join(e.KeptBy, ",") != "daily,weekly,monthly" {
		t.Errorf("list -json: the newest counted backup: %+v", e)
	}
	r = runJob(t, env, "list", "db1")
	if !strings.Contains(r.stdout, " RETENTION ") || !regexp.MustCompile(`keep: daily,weekly,monthly +r1/db1-20261130060000.gz.aes\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`delete +r1/db1-20261123060000.gz.aes\n`).MatchString(r.stdout) || !strings.Contains(r.stdout, "keep: dated in the future") {
		t.Errorf("list:\n%s", r.stdout)
	}
	// A prefix that is not in the list is never pruned: no verdict.
	r = runJob(t, env, "list")
	if !regexp.MustCompile(`\n(db10 .*) - +r1/db10-20250101060000.gz.aes\n`).MatchString(r.stdout) || !regexp.MustCompile(`delete +r1/db1-20261123060000.gz.aes\n`).MatchString(r.stdout) {
		t.Errorf("list of every prefix:\n%s", r.stdout)
	}

	r = runJob(t, env, "prune", "db1")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("prune: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	after := allKeys(t, t.Context(), retentionBucket)
	if gone := minus(before, after); !slices.Equal(gone, wantGone) {
		t.Errorf("prune deleted %d keys, want %d:\nextra: %q\nmissing: %q", len(gone), len(wantGone), minus(gone, wantGone), minus(wantGone, gone))
	}
	if !strings.Contains(r.stderr, "retention of 1 prefixes: 22 backups kept, 710 deleted") {
		t.Errorf("prune log:\n%s", r.stderr)
	}
	// Nothing left to do; db2 is pruned only when named or with the list.
	r = runJob(t, env, "prune", "db1")
	if r.code != 0 || !strings.Contains(r.stderr, "22 backups kept, 0 deleted\n") || !slices.Equal(allKeys(t, t.Context(), retentionBucket), after) {
		t.Errorf("second prune: exit %d:\n%s", r.code, r.stderr)
	}
	// JSON logs: one object per line.
	r = runJob(t, append(env, "LOG_FORMAT=json"), "prune", "db1")
	var applied bool
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("prune with JSON logs: not JSON: %s", l)
		}
		applied = applied || (m["msg"] == "retention applied" && m["prefix"] == "db1" && m["kept"] == 22.0 && m["deleted"] == 0.0)
	}
	if r.code != 0 || !applied {
		t.Errorf("prune with JSON logs: exit %d:\n%s", r.code, r.stderr)
	}
	r = runJob(t, env, "prune")
	if r.code != 0 || !strings.Contains(r.stderr, "db2: retention (KEEP_DAILY=7 KEEP_WEEKLY=5 KEEP_MONTHLY=12): 21 backups kept, 709 deleted") {
		t.Errorf("prune of the list: exit %d:\n%s", r.code, r.stderr)
	}
	final := allKeys(t, t.Context(), retentionBucket)
	for _, k := range lookAlikes {
		if !slices.Contains(final, k) {
			t.Errorf("%s was deleted", k)
		}
	}
	var db2 []string
	for _, k := range final {
		if strings.HasPrefix(k, "r1/db2-") {
			db2 = append(db2, k)
		}
	}
	if len(db2) != 41 { // 20 with manifests, and December 2025 without
		t.Errorf("db2 keeps %d keys: %q", len(db2), db2)
	}
}

// TestPruneAfterBackup: the job prunes the prefix of a backup it committed
// in this run, and nothing of a prefix whose backup failed.
func TestPruneAfterBackup(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r2/", "db1", "2026-10-01", "2026-11-30", "2026-10-01")
	history(t, objs, "r2/", "db2", "2026-10-01", "2026-11-30", "2026-10-01")
	putAll(t, retentionBucket, objs)
	before := allKeys(t, t.Context(), retentionBucket)

	// db2's password is wrong: its backup fails.
	list := pgpassLine("app1", "backup1", pw1, "db1") + "\n" + pgpassLine("app2", "backup2", "wrong", "db2") + "\n"
	r := runJob(t, retentionEnv(list, "r2", "", "KEEP_LAST=3"))
	t.Logf("job log:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	after := allKeys(t, t.Context(), retentionBucket)
	key := backupKey(t, minus(after, before), "r2/db1", ".gz.aes")
	want := []string{key, key + ".manifest.json",
		"r2/db1-20261129060000.gz.aes", "r2/db1-20261129060000.gz.aes.manifest.json",
		"r2/db1-20261130060000.gz.aes", "r2/db1-20261130060000.gz.aes.manifest.json"}
	for _, k := range before {
		if strings.HasPrefix(k, "r2/db2-") {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	if !slices.Equal(after, want) {
		t.Errorf("after the job:\nextra: %q\nmissing: %q", minus(after, want), minus(want, after))
	}
	if !strings.Contains(r.stderr, "db1: retention (KEEP_LAST=3): 3 backups kept, 59 deleted\n") ||
		!strings.Contains(r.stderr, "error: 1 of 2 databases failed (db2); 1 backed up; retention: 3 backups kept, 59 deleted\n") ||
		strings.Contains(r.stderr, "db2: retention") {
		t.Errorf("job log lacks the retention lines")
	}

	// A bad rule is a settings error: nothing backed up, nothing deleted.
	r = runJob(t, retentionEnv(twoDatabases(), "r2", "", "KEEP_LAST=1", "KEEP_WITHIN=2w"))
	if r.code != 2 || !strings.Contains(r.stderr, `error: KEEP_WITHIN="2w": unknown unit 'w'`) || strings.Contains(r.stderr, "backing up") {
		t.Errorf("bad KEEP_WITHIN: exit %d:\n%s", r.code, r.stderr)
	}
	if now := allKeys(t, t.Context(), retentionBucket); !slices.Equal(now, after) {
		t.Errorf("a run with a bad rule changed the bucket: %q", minus(after, now))
	}
}

// refusingProxy is a fault proxy in front of the gateway that refuses
// DeleteObjects as a whole with status and code, and a single delete of
// any key containing refuse with 403 AccessDenied.
func refusingProxy(t *testing.T, status int, code, refuse string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.Add(faultproxy.Rule{Method: "POST", Query: "delete", Times: -1, Fault: faultproxy.Fault{Status: status, Code: code}})
	if refuse != "" {
		p.Add(faultproxy.Rule{Method: "DELETE", Path: refuse, Times: -1, Fault: faultproxy.Fault{Status: http.StatusForbidden, Code: "AccessDenied"}})
	}
	return p
}

// TestPruneRefusedDelete: a store that refuses a delete (Object Lock, a
// policy without s3:DeleteObject) leaves that backup whole, with a warning
// naming it and the reason; the backup job still succeeds.
func TestPruneRefusedDelete(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r3/", "db1", "2026-11-01", "2026-11-30", "2026-11-01")
	putAll(t, retentionBucket, objs)
	locked := "r3/db1-20261115060000.gz.aes"
	p := refusingProxy(t, http.StatusForbidden, "AccessDenied", locked)

	env := retentionEnv(twoDatabases(), "r3", p.URL, "KEEP_LAST=2")
	r := runJob(t, env, "prune", "db1")
	if r.code != 1 || !strings.Contains(r.stderr, "warning: db1: retention: the store refused to delete s3://retention/"+locked+" (AccessDenied: injected by faultproxy); it stays") ||
		!strings.Contains(r.stderr, "error: retention: the store refused 1 deletes") {
		t.Errorf("prune: exit %d:\n%s", r.code, r.stderr)
	}
	want := []string{locked, locked + ".manifest.json",
		"r3/db1-20261129060000.gz.aes", "r3/db1-20261129060000.gz.aes.manifest.json",
		"r3/db1-20261130060000.gz.aes", "r3/db1-20261130060000.gz.aes.manifest.json"}
	sort.Strings(want)
	if got := allKeys(t, t.Context(), retentionBucket); !slices.Equal(got, want) {
		t.Errorf("after prune:\nextra: %q\nmissing: %q", minus(got, want), minus(want, got))
	}

	// The job: its backup succeeds, the refusal is a warning.
	r = runJob(t, env, "db1")
	t.Logf("job log:\n%s", r.stderr)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: db1: retention: the store refused to delete s3://retention/"+locked) ||
		!strings.Contains(r.stderr, "retention: 2 backups kept, 1 deleted, 1 deletes refused") {
		t.Errorf("job: exit %d", r.code)
	}
	got := allKeys(t, t.Context(), retentionBucket)
	key := backupKey(t, minus(got, want), "r3/db1", ".gz.aes")
	want = []string{key, key + ".manifest.json", locked, locked + ".manifest.json",
		"r3/db1-20261130060000.gz.aes", "r3/db1-20261130060000.gz.aes.manifest.json"}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("after the job:\nextra: %q\nmissing: %q", minus(got, want), minus(want, got))
	}
}

// TestPruneWithoutDeleteObjects: a store without DeleteObjects gets one
// DELETE per key.
func TestPruneWithoutDeleteObjects(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r4/", "db1", "2026-11-21", "2026-11-30", "2026-11-25")
	putAll(t, retentionBucket, objs)
	p := refusingProxy(t, http.StatusNotImplemented, "NotImplemented", "")
	r := runJob(t, retentionEnv(twoDatabases(), "r4", p.URL, "KEEP_WITHIN=1d"), "prune", "db1")
	if r.code != 0 || !strings.Contains(r.stderr, "1 backups kept, 9 deleted") {
		t.Errorf("prune: exit %d:\n%s", r.code, r.stderr)
	}
	// It says why, once.
	const oneByOne = "db1: retention: the store does not implement DeleteObjects, the batch delete (NotImplemented: injected by faultproxy); deleting one key at a time\n"
	if n := strings.Count(r.stderr, oneByOne); n != 1 {
		t.Errorf("the log has %d times %q:\n%s", n, oneByOne, r.stderr)
	}
	want := []string{"r4/db1-20261130060000.gz.aes", "r4/db1-20261130060000.gz.aes.manifest.json"}
	if got := allKeys(t, t.Context(), retentionBucket); !slices.Equal(got, want) {
		t.Errorf("after prune: %q", got)
	}
	deletes := 0
	for _, q := range p.Requests() {
		if q.Method == "DELETE" {
			deletes++
		}
	}
	if deletes != 9+5 { // 9 objects, 5 of them with a manifest
		t.Errorf("%d single deletes, want 14", deletes)
	}
}

// TestPruneObjectLock: two years of daily backups in a bucket with
// Object Lock, three of which the rules would delete are locked (two by a
// GOVERNANCE retention, one by a legal hold). prune -dry-run and prune
// leave those three whole and report them as locked, without failing, and
// delete exactly the rest of what the rules delete without locks. A store
// that does not show the lock (its answers to HEAD stripped of it) gets
// the delete tried, refuses it per key in its DeleteObjects answer, and
// the backup stays whole: a refusal, exit 1.
func TestPruneObjectLock(t *testing.T) {
	const bucket = "retention-locked"
	ctx := t.Context()
	if err := srv.CreateLockBucket(ctx, s3client(), bucket); err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	history(t, objs, "", "db1", "2024-12-01", "2026-11-30", "2025-06-01")
	putAll(t, bucket, objs)
	before := allKeys(t, ctx, bucket)
	env := jobEnv(twoDatabases(), bucket, "", strings.Fields(recommended)...)
	r := runJob(t, env, "prune", "-dry-run", "db1")
	if r.code != 0 {
		t.Fatalf("prune -dry-run: exit %d:\n%s", r.code, r.stderr)
	}
	rules := strings.Fields(r.stdout) // what the rules delete without locks

	held := "db1-20250315060000.gz.aes" // no manifest: the first months have none
	retained := []string{"db1-20251110060000.gz.aes", "db1-20260614060000.gz.aes"}
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, k := range append([]string{held}, retained...) {
		if !slices.Contains(rules, k) {
			t.Fatalf("test error: the rules keep %s", k)
		}
	}
	if _, err := s3client().PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String(held),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range retained {
		if _, err := s3client().PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String(k),
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until)}}); err != nil {
			t.Fatal(err)
		}
	}
	locked := []string{held, retained[0], retained[0] + ".manifest.json", retained[1], retained[1] + ".manifest.json"}
	want := minus(rules, locked)
	sort.Strings(want)

	// The store keeps the legal hold even where it does not show it.
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(faultproxy.Rule{Method: "HEAD", Path: held, Times: -1, Fault: faultproxy.Fault{DropHeaders: []string{"X-Amz-Object-Lock-Legal-Hold"}}})
	r = runJob(t, jobEnv(twoDatabases(), bucket, p.URL, strings.Fields(recommended)...), "prune", "-dry-run", "db1")
	got := strings.Fields(r.stdout)
	sort.Strings(got)
	if r.code != 0 || !slices.Equal(got, sortedWith(want, held)) {
		t.Errorf("prune -dry-run without the hold shown: exit %d, would delete %d keys, want %d:\nextra: %q\nmissing: %q\n%s",
			r.code, len(got), len(want)+1, minus(got, sortedWith(want, held)), minus(sortedWith(want, held), got), r.stderr)
	}

	r = runJob(t, env, "prune", "-dry-run", "db1")
	got = strings.Fields(r.stdout)
	sort.Strings(got)
	if r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("prune -dry-run: exit %d, would delete %d keys, want %d:\nextra: %q\nmissing: %q", r.code, len(got), len(want), minus(got, want), minus(want, got))
	}
	for _, line := range []string{
		"db1: retention: would keep s3://" + bucket + "/" + held + ", which no rule keeps: locked (a legal hold)",
		"db1: retention: would keep s3://" + bucket + "/" + retained[0] + ", which no rule keeps: locked (GOVERNANCE lock until " + until.UTC().Format("2006-01-02 15:04:05") + " UTC)",
		"; 3 locked, kept",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("prune -dry-run's log lacks %q:\n%s", line, r.stderr)
		}
	}
	r = runJob(t, env, "prune", "db1")
	if r.code != 0 || strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, "; 3 locked, kept") {
		t.Errorf("prune: exit %d:\n%s", r.code, r.stderr)
	}
	if after := allKeys(t, ctx, bucket); !slices.Equal(minus(before, after), want) {
		t.Errorf("prune deleted %d keys, want %d:\nextra: %q\nmissing: %q", len(minus(before, after)), len(want), minus(minus(before, after), want), minus(want, minus(before, after)))
	}

	// Through the proxy the hold is not shown: the delete is tried, the
	// store refuses it, and it stays.
	r = runJob(t, jobEnv(twoDatabases(), bucket, p.URL, strings.Fields(recommended)...), "prune", "db1")
	if r.code != 1 || !strings.Contains(r.stderr, "warning: db1: retention: the store refused to delete s3://"+bucket+"/"+held+" (AccessDenied: ") ||
		!strings.Contains(r.stderr, "0 deleted; 2 locked, kept; 1 deletes refused") {
		t.Errorf("prune with the hold not shown: exit %d:\n%s", r.code, r.stderr)
	}
	if after := allKeys(t, ctx, bucket); !slices.Contains(after, held) {
		t.Errorf("the held %s was deleted", held)
	}
}

// sortedWith is keys with k added, sorted.
func sortedWith(keys []string, k string) []string {
	out := append(slices.Clone(keys), k)
	sort.Strings(out)
	return out
}

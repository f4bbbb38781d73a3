package main

// Keys that lie about their time: copies of a real backup, with its
// manifest, under newer names. Retention must not let them push out the
// backup a run just made, and verify must not take one for the newest
// backup.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// clearFolder deletes the keys under folder/ in bucket, now and when the
// test ends: these tests share the bucket with others, each in its own
// folder.
func clearFolder(t *testing.T, bucket, folder string) {
	t.Helper()
	clear := func(ctx context.Context) {
		p := s3.NewListObjectsV2Paginator(s3client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(folder + "/")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				if _, err := s3client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	clear(t.Context())
	t.Cleanup(func() { clear(context.Background()) })
}

// folderKeys are the keys under folder/ in bucket, sorted.
func folderKeys(t *testing.T, bucket, folder string) []string {
	t.Helper()
	var keys []string
	for _, k := range allKeys(t, t.Context(), bucket) {
		if strings.HasPrefix(k, folder+"/") {
			keys = append(keys, k)
		}
	}
	return keys
}

// keyAt is the key of db1's plain gzip openssl backup started at tm.
func keyAt(folder string, tm time.Time) string {
	return folder + "/db1-" + tm.UTC().Format("20060102150405") + ".gz.aes"
}

// copyBackup copies the object from and its manifest to the key to.
func copyBackup(t *testing.T, from, to string) {
	t.Helper()
	putObject(t, "backups", to, getObject(t, "backups", from))
	putObject(t, "backups", to+".manifest.json", getObject(t, "backups", from+".manifest.json"))
}

// rewriteManifest stores the manifest of from, rewritten for the key to and
// the start time in it (finished moves with it), as the manifest of to: a
// copy that nothing tells from a backup made at that time.
func rewriteManifest(t *testing.T, from, to string, started time.Time) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(getObject(t, "backups", from+".manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	b := m["backup"].(map[string]any)
	was, err := time.Parse(time.RFC3339Nano, b["started"].(string))
	if err != nil {
		t.Fatal(err)
	}
	fin, err := time.Parse(time.RFC3339Nano, b["finished"].(string))
	if err != nil {
		t.Fatal(err)
	}
	m["key"] = to
	b["started"], b["finished"] = started.UTC(), started.UTC().Add(fin.Sub(was))
	b["restore_command"] = strings.ReplaceAll(b["restore_command"].(string), from, to)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, "backups", to+".manifest.json", append(out, '\n'))
}

// TestForgedCopiesKeepLast: two copies of a backup, with its manifest,
// named 3 and 4 minutes ahead (inside the clock skew allowed, so not dated
// in the future) do not count for KEEP_LAST=2: the next run keeps its own
// backup and the one before, leaves the copies alone and says so; list
// marks them, and verify fails naming each copy and what it is a copy of.
func TestForgedCopiesKeepLast(t *testing.T) {
	t.Parallel() // its own folder and databases
	const folder = "forged1"
	clearFolder(t, "backups", folder)
	env, old := freshBackup(t, folder, "KEEP_LAST=2")
	now := time.Now()
	forged := []string{keyAt(folder, now.Add(4*time.Minute)), keyAt(folder, now.Add(3*time.Minute))}
	for _, k := range forged {
		copyBackup(t, old, k)
	}
	before := folderKeys(t, "backups", folder)
	nextSecond()

	r := runJob(t, env, "db1")
	t.Logf("job log:\n%s", r.stderr)
	after := folderKeys(t, "backups", folder)
	added := minus(after, before)
	if r.code != 0 || len(added) != 2 {
		t.Fatalf("exit %d; the run added %q", r.code, added)
	}
	key := backupKey(t, added, folder+"/db1", ".gz.aes")
	if want := sorted(append(before, key, key+".manifest.json")); !slices.Equal(after, want) {
		t.Errorf("after the run:\nextra: %q\nmissing: %q", minus(after, want), minus(want, after))
	}
	for _, k := range forged {
		if !strings.Contains(r.stderr, "warning: db1: retention: leaves s3://backups/"+k+" alone (manifest does not match its object: its manifest describes "+old+", started ") {
			t.Errorf("the job log does not say why %s stays", k)
		}
	}
	if !strings.Contains(r.stderr, "db1: retention (KEEP_LAST=2): 4 backups kept, 0 deleted\n") {
		t.Errorf("the job log lacks the retention line")
	}

	r = runJob(t, env, "prune", "-dry-run", "db1")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "leaves s3://backups/"+forged[0]+" alone (manifest does not match its object") {
		t.Errorf("prune -dry-run: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = runJob(t, env, "list", "db1")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 5 {
		t.Fatalf("list: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for i, k := range forged {
		if l := lines[1+i]; !strings.HasSuffix(l, " "+k) || !strings.Contains(l, " MISMATCH ") || !strings.Contains(l, " keep: manifest does not match its object ") {
			t.Errorf("list: line of %s: %q", k, l)
		}
		if !strings.Contains(r.stderr, "warning: "+k+": its manifest describes "+old+", started ") {
			t.Errorf("list: no warning names %s and %s:\n%s", k, old, r.stderr)
		}
	}
	for _, l := range lines[3:] {
		if !strings.Contains(l, " yes ") || !strings.Contains(l, " keep: last ") {
			t.Errorf("list: %q", l)
		}
	}

	r = runJob(t, env, "list", "-json", "db1")
	var entries []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || len(entries) != 4 {
		t.Fatalf("list -json: %v:\n%s", err, r.stdout)
	}
	for _, e := range entries {
		why, has := e["manifest_mismatch"].(string)
		if isForged := slices.Contains(forged, e["key"].(string)); isForged != has || isForged && !strings.Contains(why, "its manifest describes "+old) || e["manifest"] != true {
			t.Errorf("list -json: %v", e)
		}
	}

	r = runJob(t, env, "verify", "db1")
	if r.code != 1 || !strings.Contains(r.stderr, "error: db1: s3://backups/"+forged[0]+": its manifest describes "+old+", started ") {
		t.Errorf("verify: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestThisRunsBackupKept: copies whose manifests were rewritten to match
// their newer names fill KEEP_LAST=2 as backups would; the run still keeps
// the backup it made, and says why.
func TestThisRunsBackupKept(t *testing.T) {
	t.Parallel() // its own folder and databases
	const folder = "forged2"
	clearFolder(t, "backups", folder)
	env, old := freshBackup(t, folder, "KEEP_LAST=2")
	now := time.Now()
	var copies []string
	for _, d := range []time.Duration{4 * time.Minute, 3 * time.Minute} {
		k := keyAt(folder, now.Add(d))
		putObject(t, "backups", k, getObject(t, "backups", old))
		rewriteManifest(t, old, k, now.Add(d))
		copies = append(copies, k, k+".manifest.json")
	}
	before := folderKeys(t, "backups", folder)
	nextSecond()

	r := runJob(t, env, "db1")
	t.Logf("job log:\n%s", r.stderr)
	after := folderKeys(t, "backups", folder)
	added := minus(after, before)
	if r.code != 0 || len(added) != 2 {
		t.Fatalf("exit %d; the run added %q", r.code, added)
	}
	key := backupKey(t, added, folder+"/db1", ".gz.aes")
	if want := sorted(append(copies, key, key+".manifest.json")); !slices.Equal(after, want) {
		t.Errorf("after the run:\nextra: %q\nmissing: %q", minus(after, want), minus(want, after))
	}
	if !strings.Contains(r.stderr, "warning: db1: retention: keeps s3://backups/"+key+" (this run's backup), which no rule keeps") ||
		!strings.Contains(r.stderr, "db1: retention: deleted s3://backups/"+old+" (kept by no rule)\n") ||
		!strings.Contains(r.stderr, "db1: retention (KEEP_LAST=2): 3 backups kept, 1 deleted\n") {
		t.Errorf("the job log lacks the retention lines")
	}
}

// TestVerifyCopiedOldBackup: a 48-hour-old backup copied with its manifest
// under a name of a minute ago does not pass verify -max-age 26h for a
// recent backup: verify fails naming the copy and the backup it copies.
func TestVerifyCopiedOldBackup(t *testing.T) {
	const folder = "forged3"
	clearFolder(t, "backups", folder)
	env, fresh := freshBackup(t, folder)
	// A good backup of 48 hours ago: the fresh one, renamed, with its
	// manifest rewritten to match.
	now := time.Now()
	old := keyAt(folder, now.Add(-48*time.Hour))
	putObject(t, "backups", old, getObject(t, "backups", fresh))
	rewriteManifest(t, fresh, old, now.Add(-48*time.Hour))
	deleteObject(t, "backups", fresh)
	deleteObject(t, "backups", fresh+".manifest.json")
	if r := runJob(t, env, "verify", "db1"); r.code != 0 || !strings.Contains(r.stderr, "db1: ok: "+old+" (2d00h old)") {
		t.Fatalf("verify of the 48-hour-old backup: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, env, "verify", "-max-age", "26h", "db1"); r.code != 1 || !strings.Contains(r.stderr, "older than the allowed 26h") {
		t.Fatalf("verify -max-age 26h of the 48-hour-old backup: exit %d:\n%s", r.code, r.stderr)
	}

	copied := keyAt(folder, now.Add(-time.Minute))
	copyBackup(t, old, copied)
	r := runJob(t, env, "verify", "-max-age", "26h", "db1")
	t.Logf("verify:\n%s", r.stderr)
	if r.code != 1 {
		t.Errorf("verify -max-age 26h with a copy named a minute ago: exit %d, want 1", r.code)
	}
	var named bool
	for _, l := range strings.Split(r.stderr, "\n") {
		named = named || strings.HasPrefix(l, "iron-streaming-backup: error: db1: ") && strings.Contains(l, copied) && strings.Contains(l, old)
	}
	if !named {
		t.Errorf("no error line names both %s and %s", copied, old)
	}
}

// TestPruneUnreadableManifest: a manifest that is not one cannot tell
// whether its backup is what its name says: prune deletes nothing and
// fails naming it, and so does list.
func TestPruneUnreadableManifest(t *testing.T) {
	const folder = "forged4"
	clearFolder(t, "backups", folder)
	objs := map[string][]byte{}
	history(t, objs, folder+"/", "db1", "2026-11-26", "2026-11-30", "2026-11-26")
	bad := folder + "/db1-20261128060000.gz.aes.manifest.json"
	objs[bad] = []byte("{}")
	putAll(t, "backups", objs)
	before := folderKeys(t, "backups", folder)
	env := jobEnv(twoDatabases(), "backups", "", "S3_PREFIX="+folder, "KEEP_LAST=1")
	r := runJob(t, env, "prune", "db1")
	if after := folderKeys(t, "backups", folder); !slices.Equal(after, before) {
		t.Errorf("prune deleted %q", minus(before, after))
	}
	if r.code != 1 || !strings.Contains(r.stderr, "error: db1: manifest s3://backups/"+bad+": not a manifest") || !strings.Contains(r.stderr, "nothing pruned") {
		t.Errorf("prune: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, env, "list"); r.code != 1 || !strings.Contains(r.stderr, bad) {
		t.Errorf("list: exit %d:\n%s", r.code, r.stderr)
	}
}

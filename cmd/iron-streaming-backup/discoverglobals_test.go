package main

import (
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// lineGlobalsKeys are the keys of the globals objects in bucket (not their
// manifests), sorted.
func lineGlobalsKeys(t *testing.T, bucket string) []string {
	t.Helper()
	var out []string
	for _, k := range objects(t, bucket) {
		if strings.HasSuffix(k, ".globals.gz.aes") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestDiscoverGlobals: a '*' line with DUMP_GLOBALS=true stores the
// globals once per run (and in one shard), under the line's prefix, and
// none beside its databases' dumps; list shows them, verify checks them,
// the metrics report them, retention keeps and deletes them by its rules
// (in the job and in prune), never as leftovers, and not after they
// failed; restore -globals of a found database restores the roles of its
// line's newest globals at or before its dump, and the line's prefix is
// no database to restore.
func TestDiscoverGlobals(t *testing.T) {
	t.Parallel()
	c, err := testenv.StartPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := c.Psql(t.Context(), "postgres", `CREATE ROLE lg_owner NOLOGIN; CREATE ROLE lg_reader LOGIN IN ROLE lg_owner; CREATE ROLE lg_member LOGIN IN ROLE lg_owner; CREATE DATABASE a; CREATE DATABASE b`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Psql(t.Context(), "a", `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 20); ALTER TABLE t OWNER TO lg_owner; GRANT SELECT ON t TO lg_reader`); err != nil {
		t.Fatal(err)
	}
	line := strings.Join([]string{c.Host, strconv.Itoa(c.Port), "*", c.User, c.Password, "srv"}, ":") + "\n"
	bucket := newBucket(t)
	env := jobEnv(line, bucket, "", "DUMP_GLOBALS=true", "DATABASES_INCLUDE=a,b")

	r := runJob(t, env)
	if r.code != 0 || !strings.Contains(r.stderr, "srv: globals done: s3://"+bucket+"/srv-") {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	first := lineGlobalsKeys(t, bucket)
	if len(first) != 1 || !regexp.MustCompile(`^srv-\d{14}\.globals\.gz\.aes$`).MatchString(first[0]) {
		t.Fatalf("want one globals object for the line, srv-<time>.globals.gz.aes; the bucket holds %q", objects(t, bucket))
	}
	if got := discovered(t, bucket); !slices.Equal(got, []string{"srv.a", "srv.b"}) {
		t.Errorf("dumps of %q", got)
	}
	m, _ := readManifest(t, bucket, first[0])["backup"].(map[string]any)
	if m["companion"] != "globals" || m["prefix"] != "srv" || m["list_prefix"] != "srv" || m["database"] != "*" {
		t.Errorf("the line's globals' manifest: %v", m)
	}
	dumpA := backupKey(t, objects(t, bucket), "srv.a", ".gz.aes")
	if ts := func(k string) string { return regexp.MustCompile(`\d{14}`).FindString(k) }; ts(first[0]) > ts(dumpA) {
		t.Errorf("the line's globals %s started after its database's dump %s", first[0], dumpA)
	}

	// Shards: the line's globals in one of them, the one of its prefix.
	sharded := newBucket(t)
	for _, sh := range []string{"0/2", "1/2"} {
		if r := runJob(t, jobEnv(line, sharded, "", "DUMP_GLOBALS=true", "DATABASES_INCLUDE=a,b", "SHARD="+sh)); r.code != 0 {
			t.Errorf("shard %s: exit %d\n%s", sh, r.code, r.stderr)
		}
	}
	if got := lineGlobalsKeys(t, sharded); len(got) != 1 || !strings.HasPrefix(got[0], "srv-") || len(objects(t, sharded)) != 6 {
		t.Errorf("two shards wrote %q", objects(t, sharded))
	}

	// list shows them as the line's backups, verify checks them.
	r = runJob(t, env, "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^srv +\S+ \S+ +\S+ +\S+ +\S+ +yes +only +`+regexp.QuoteMeta(first[0])+`$`).MatchString(r.stdout) {
		t.Errorf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runJob(t, env, "list", "-json", "srv")
	if r.code != 0 || !strings.Contains(r.stdout, `"companion": "globals"`) || !strings.Contains(r.stdout, `"key": "`+first[0]+`"`) {
		t.Errorf("list -json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runJob(t, env, "verify", "-max-age", "1h")
	if r.code != 0 || !strings.Contains(r.stderr, "srv: ok: globals "+first[0]+" (") || !strings.Contains(r.stderr, "3 of 3 backups verified") ||
		strings.Contains(r.stderr, "no globals beside it") {
		t.Errorf("verify: exit %d\n%s", r.code, r.stderr)
	}

	// Retention: the line's globals count as the line's backups, by the
	// rules, in the job (after its globals succeeded) and in prune.
	// The monitors report them as the line prefix's result.
	nextSecond()
	metrics := filepath.Join(t.TempDir(), "backup.prom")
	if r := runJob(t, append(env, "METRICS_FILE="+metrics)); r.code != 0 {
		t.Fatalf("second backup: exit %d\n%s", r.code, r.stderr)
	}
	if prom, err := os.ReadFile(metrics); err != nil || !regexp.MustCompile(`(?m)^iron_streaming_backup_\w*last_run_success\{prefix="srv"\} 1$`).Match(prom) ||
		!regexp.MustCompile(`(?m)^iron_streaming_backup_\w*stored_bytes\{prefix="srv"\} [1-9]`).Match(prom) {
		t.Errorf("metrics (%v):\n%s", err, prom)
	}
	r = runJob(t, append(env, "KEEP_LAST=2"), "prune", "-dry-run")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "retention of 3 prefixes: 6 backups kept, 0 to delete") {
		t.Errorf("prune -dry-run KEEP_LAST=2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	nextSecond()
	if r := runJob(t, append(env, "KEEP_LAST=2")); r.code != 0 {
		t.Fatalf("third backup, KEEP_LAST=2: exit %d\n%s", r.code, r.stderr)
	}
	third := lineGlobalsKeys(t, bucket)
	if len(third) != 2 || slices.Contains(third, first[0]) || slices.Contains(objects(t, bucket), first[0]+".manifest.json") {
		t.Errorf("after the job's retention, KEEP_LAST=2, the globals are %q, want the two newest", third)
	}
	// The line's globals fail: that is the line prefix's failure (exit
	// 1), which prunes none of them; its databases are backed up and
	// pruned.
	dir := t.TempDir()
	for _, p := range []string{"pg_dump", "psql"} {
		if err := os.Symlink(c.Bin(p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pg_dumpall"), []byte("#!/bin/bash\necho 'pg_dumpall: error: no' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	nextSecond()
	r = runJob(t, append(env, "KEEP_LAST=1", "PG_DUMP="+filepath.Join(dir, "pg_dump")))
	if r.code != 1 || !strings.Contains(r.stderr, "error: srv: globals: pg_dumpall failed") || !strings.Contains(r.stderr, "1 of 3 databases failed (srv)") ||
		strings.Contains(r.stderr, "srv: retention") || !strings.Contains(r.stderr, "srv.a: retention") {
		t.Errorf("a failed line's globals: exit %d\n%s", r.code, r.stderr)
	}
	if got := lineGlobalsKeys(t, bucket); !slices.Equal(got, third) {
		t.Errorf("after the line's globals failed, its globals are %q, want %q", got, third)
	}
	if got := discovered(t, bucket); !slices.Equal(got, []string{"srv.a", "srv.b"}) || len(objects(t, bucket)) != 8 {
		t.Errorf("after the line's globals failed, the bucket holds %q", objects(t, bucket))
	}

	r = runJob(t, append(env, "KEEP_LAST=1"), "prune")
	if got := lineGlobalsKeys(t, bucket); r.code != 0 || len(got) != 1 || got[0] != third[1] {
		t.Errorf("prune KEEP_LAST=1: exit %d, globals %q, want %q\n%s", r.code, got, third[1:], r.stderr)
	}
	if n := len(objects(t, bucket)); n != 6 {
		t.Errorf("after prune KEEP_LAST=1 the bucket holds %q, want 3 backups and their manifests", objects(t, bucket))
	}

	// restore -globals of a found database: the roles of its line.
	if _, err := c.Psql(t.Context(), "postgres", "DROP ROLE lg_member"); err != nil {
		t.Fatal(err)
	}
	into := fmt.Sprintf("host=%s port=%d user=%s dbname=a_restored", c.SocketDir, c.Port, c.User)
	renv := append(env, c.SocketEnv()...)
	r = runJob(t, renv, "restore", "srv.a", "-into", into, "-create", "-globals", "-dry-run")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 || !strings.Contains(lines[0], third[1]+" - |") {
		t.Errorf("restore -globals -dry-run: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	r = runJob(t, renv, "restore", "srv.a", "-into", into, "-create", "-globals", "-trust-dump")
	if r.code != 0 || !strings.Contains(r.stderr, "srv.a: restored the roles of s3://"+bucket+"/"+third[1]+": created lg_member;") {
		t.Fatalf("restore -globals: exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := c.Psql(t.Context(), "postgres", "SELECT string_agg(g.rolname, ',') FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'lg_member'"); got != "lg_owner" {
		t.Errorf("lg_member restored as a member of %q, want lg_owner", got)
	}
	if a, b := fullDump(t, c, "a"), fullDump(t, c, "a_restored"); a != b {
		t.Errorf("the restore of srv.a with its owners and grants differs from a")
	}

	// The line's prefix holds no database.
	r = runJob(t, renv, "restore", "srv", "-into", into+"2", "-create")
	if r.code == 0 || !strings.Contains(r.stderr, "is the globals of a '*' line, not a database") {
		t.Errorf("restore of the line's prefix: exit %d\n%s", r.code, r.stderr)
	}

	// Retention counts the line's globals, not the dumps that need them
	// (a dropped database's dumps outlive them): with none left at or
	// before a dump, restore takes the oldest later ones, and says so.
	oldA := backupKey(t, objects(t, bucket), "srv.a", ".gz.aes")
	nextSecond()
	if r := runJob(t, env); r.code != 0 {
		t.Fatalf("fifth backup: exit %d\n%s", r.code, r.stderr)
	}
	for _, k := range []string{third[1], third[1] + ".manifest.json"} {
		if _, err := s3client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	later := lineGlobalsKeys(t, bucket)
	if len(later) != 1 || later[0] == third[1] {
		t.Fatalf("the line's globals are %q, want the fifth run's", later)
	}
	r = runJob(t, renv, "restore", "srv.a", "-key", oldA, "-into", into+"3", "-create", "-globals", "-dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, later[0]+" - |") ||
		!strings.Contains(r.stderr, "srv.a: warning: no globals of the '*' line srv at or before ") || !strings.Contains(r.stderr, "using the oldest later ones, "+later[0]) {
		t.Errorf("restore -globals of a dump older than every globals: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

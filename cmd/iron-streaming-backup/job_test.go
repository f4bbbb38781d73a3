package main

// End-to-end tests of the backup job against a real PostgreSQL cluster and
// a real S3 server: the job binary runs with the original image's
// environment, and every backup is restored with stock tools.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

var (
	pg     *testenv.Postgres
	srv    *testenv.S3Server
	binDir string // the project's commands, built once
)

// Passwords with the characters libpq's pgpass format escapes.
const (
	pw1     = `db1:pa\ss-5ecret`
	pw2     = `db2-pa:ss\word`
	encPass = "backup-encryption-key-7f3a"
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	defer testenv.StopAll()
	ctx := context.Background()
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "isb-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	if pg, err = testenv.StartPostgres(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		return 1
	}
	if srv, err = testenv.StartS3(ctx, "backups", "other"); err != nil {
		fmt.Fprintln(os.Stderr, "start S3 gateway:", err)
		return 1
	}
	if err := seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sample data:", err)
		return 1
	}
	return m.Run()
}

// seed creates two databases with varied data, each with its own login.
func seed(ctx context.Context) error {
	for i, pw := range []string{pw1, pw2} {
		db, user := fmt.Sprintf("app%d", i+1), fmt.Sprintf("backup%d", i+1)
		if err := pg.CreateUser(ctx, user, pw); err != nil {
			return err
		}
		if err := pg.CreateDatabase(ctx, db); err != nil {
			return err
		}
		bench := pg.Command(ctx, "pgbench", "-i", "-q", "-s", "1", db)
		if out, err := bench.CombinedOutput(); err != nil {
			return fmt.Errorf("pgbench -i: %v: %s", err, out)
		}
		if _, err := pg.Psql(ctx, db, `
CREATE SCHEMA docs;
CREATE TABLE docs.page (id int PRIMARY KEY, title text, body text, tags text[], meta jsonb);
INSERT INTO docs.page SELECT i, 'Seite ' || i || ' — 日本語 ✓ " '' \ tab	end',
  repeat(md5(i::text) || E'\n', 50), ARRAY['a','b,c'], jsonb_build_object('n', i, 'u', 'ü')
  FROM generate_series(1, 3000) i;
CREATE SCHEMA bin;
CREATE TABLE bin.blob (id int PRIMARY KEY, data bytea);
INSERT INTO bin.blob SELECT i, decode(string_agg(md5(i::text || j::text), ''), 'hex')
  FROM generate_series(1, 200) i, generate_series(1, 100) j GROUP BY i;
CREATE VIEW docs.recent AS SELECT id, title FROM docs.page WHERE id > 2900;
CREATE FUNCTION docs.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
GRANT USAGE ON SCHEMA docs, bin TO `+user+`;
GRANT SELECT ON ALL TABLES IN SCHEMA public, docs, bin TO `+user+`;
`); err != nil {
			return err
		}
	}
	return nil
}

// pgpassLine is a line of the job's list, with libpq escaping.
func pgpassLine(db, user, password, prefix string, extra ...string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace
	f := []string{pg.Host, strconv.Itoa(pg.Port), db, user, esc(password), prefix}
	return strings.Join(append(f, extra...), ":")
}

func twoDatabases() string {
	return pgpassLine("app1", "backup1", pw1, "db1") + "\n" + pgpassLine("app2", "backup2", pw2, "db2") + "\n"
}

// jobEnv is the environment of a job run: the original image's variables,
// the S3 server's endpoint (endpoint overrides it, e.g. a fault proxy), and
// extra settings.
func jobEnv(pgpassList, bucket, endpoint string, extra ...string) []string {
	if endpoint == "" {
		endpoint = srv.Endpoint
	}
	env := []string{
		"PATH=" + binDir + ":" + pg.BinDir + ":/usr/bin:/bin",
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
		"PGPASS_FILE_BASE64=" + base64.StdEncoding.EncodeToString([]byte(pgpassList)),
		"PASS_FILE_BASE64=" + base64.StdEncoding.EncodeToString([]byte(encPass+"\n")),
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_REGION=" + srv.Region,
		"AWS_ENDPOINT_URL=" + endpoint,
		"S3_BUCKET=" + bucket,
		"S3_PATH_STYLE=true",
	}
	return append(env, extra...)
}

type jobRun struct {
	code   int
	stderr string
	stdout string
}

func runJob(t *testing.T, env []string, args ...string) jobRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "iron-streaming-backup"), args...)
	cmd.Env = env
	return runCmd(t, cmd)
}

// runCmd runs cmd and returns its output and exit status.
func runCmd(t *testing.T, cmd *exec.Cmd) jobRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := jobRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", cmd.Args[0], err)
	}
	return r
}

func s3client() *s3.Client { return srv.Client() }

// objects lists the keys in bucket.
func objects(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := s3client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func uploadsInProgress(t *testing.T, bucket string) int {
	t.Helper()
	out, err := s3client().ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// newBucket creates a bucket of the test's own, for a test that runs in
// parallel with others.
func newBucket(t *testing.T) string {
	t.Helper()
	name := bucketName(t, "t")
	if err := srv.CreateBucket(t.Context(), s3client(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// bucketName is a new bucket's name for the test, starting with kind.
func bucketName(t *testing.T, kind string) string {
	name := fmt.Sprintf("%s%d-%s", kind, bucketSeq.Add(1), strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")))
	return strings.TrimRight(name[:min(len(name), 63)], "-")
}

var bucketSeq atomic.Int64

func emptyBucket(t *testing.T, bucket string) {
	t.Helper()
	for _, k := range objects(t, bucket) {
		if _, err := s3client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
}

// backupKey finds the one backup object of prefix in keys.
func backupKey(t *testing.T, keys []string, prefix, ext string) string {
	t.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-\d{14}` + regexp.QuoteMeta(ext) + `$`)
	var found []string
	for _, k := range keys {
		if re.MatchString(k) {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one object %s-<time>%s, bucket holds %q", prefix, ext, keys)
	}
	return found[0]
}

// restoreOneLiner runs a restore pipeline (a bash one-liner reading KEYFILE and
// writing into database NEWDB) into a new database and returns its name.
func restoreOneLiner(t *testing.T, oneLiner string, extraEnv ...string) string {
	t.Helper()
	newdb := fmt.Sprintf("restored_%d", restoreSeq.Add(1))
	if err := pg.CreateDatabase(t.Context(), newdb); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(encPass+"\n"), 0o600)
	line := strings.NewReplacer("KEYFILE", keyFile, "NEWDB", newdb).Replace(oneLiner)
	cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", line)
	// The user's environment (the AWS CLI may live anywhere on PATH), with
	// the servers' settings on top.
	env := append(os.Environ(), jobEnv("", "", "")...)
	env = append(env, "PATH="+binDir+":"+pg.BinDir+":"+os.Getenv("PATH"))
	cmd.Env = append(append(env, pg.SocketEnv()...), extraEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore %q: %v\n%s", line, err, out)
	}
	return newdb
}

// dumpOf is pg_dump of a database without the \restrict lines, whose key is
// random on every run.
func dumpOf(t *testing.T, db string) string {
	t.Helper()
	out, err := pg.Command(t.Context(), "pg_dump", "--no-owner", "--no-privileges", "-d", db).Output()
	if err != nil {
		t.Fatalf("pg_dump %s: %v", db, err)
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if strings.HasPrefix(l, `\restrict `) || strings.HasPrefix(l, `\unrestrict `) {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

func sameDump(t *testing.T, src, restored string) {
	t.Helper()
	a, b := dumpOf(t, src), dumpOf(t, restored)
	if a != b {
		t.Fatalf("pg_dump of %s (%d bytes) and of its restore %s (%d bytes) differ", src, len(a), restored, len(b))
	}
	if !strings.Contains(a, "pgbench_accounts") || !strings.Contains(a, "日本語") {
		t.Fatalf("the source dump lacks the sample data")
	}
}

func readManifest(t *testing.T, bucket, key string) map[string]any {
	t.Helper()
	out, err := s3client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key + ".manifest.json")})
	if err != nil {
		t.Fatalf("manifest of %s: %v", key, err)
	}
	defer out.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// secretWatch samples /proc while the job runs: the command line and the
// environment of every descendant of the job, and (files) the files the
// job and its descendants have open.
type secretWatch struct {
	mu       sync.Mutex
	seen     map[int]bool
	findings []string
	children int
	files    []string // secret files no process of the job may open
}

func (w *secretWatch) run(ctx context.Context, root int, secrets []string) {
	w.seen = map[int]bool{}
	rootExe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", root))
	for ctx.Err() == nil {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		parents := map[int]int{}
		for _, p := range procs {
			pid, _ := strconv.Atoi(filepath.Base(p))
			stat, err := os.ReadFile(p + "/stat")
			if err != nil {
				continue
			}
			s := string(stat)
			fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
			ppid, _ := strconv.Atoi(fields[1])
			parents[pid] = ppid
		}
		for pid := range parents {
			if pid != root && !descends(parents, pid, root) {
				continue
			}
			w.checkFiles(pid)
			if pid == root {
				continue
			}
			// A child between fork and exec is still the job, with the
			// job's own environment: only what a child runs is watched.
			// Its program is read first, so that what follows is the
			// exec'd program's.
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe == rootExe {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			w.mu.Lock()
			if !w.seen[pid] && len(cmdline) > 0 {
				w.seen[pid] = true
				w.children++
			}
			for _, s := range secrets {
				if bytes.Contains(cmdline, []byte(s)) || bytes.Contains(environ, []byte(s)) {
					w.findings = append(w.findings, fmt.Sprintf("pid %d (%s) holds a secret", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
				}
			}
			w.mu.Unlock()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func descends(parents map[int]int, pid, root int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		pid = parents[pid]
		if pid == root {
			return true
		}
	}
	return false
}

// TestBackupAndRestore is the product's promise: the seed payload's shape
// (two databases in a base64 pgpass list), one object per database, each
// restored with the README's stock one-liner into a database identical to
// its source; no secret in any child's argv or environment or in the log,
// and no secret file left behind.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	tmp := t.TempDir() // its own, since other runs may share os.TempDir()

	cmd := exec.Command(filepath.Join(binDir, "iron-streaming-backup"))
	cmd.Env = replaceEnv(jobEnv(twoDatabases(), bucket, ""), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, stopWatch := context.WithCancel(t.Context())
	w := &secretWatch{}
	secrets := []string{pw1, pw2, encPass, srv.SecretKey,
		base64.StdEncoding.EncodeToString([]byte(twoDatabases()))[:40]}
	watched := make(chan struct{})
	go func() { w.run(ctx, cmd.Process.Pid, secrets); close(watched) }()
	err := cmd.Wait()
	stopWatch()
	<-watched
	if err != nil {
		t.Fatalf("job failed: %v\n%s", err, stderr.String())
	}
	log := stderr.String()
	t.Logf("job log:\n%s", log)
	if stdout.Len() != 0 {
		t.Errorf("the job wrote to stdout: %q", stdout.String())
	}
	for _, f := range w.findings {
		t.Error(f)
	}
	if w.children < 2 {
		t.Errorf("saw %d child processes of the job; the watch did not work", w.children)
	}
	for _, s := range append(secrets, srv.AccessKey) {
		if strings.Contains(log, s) {
			t.Errorf("the job's log contains a secret")
		}
	}
	// The pg_dump of the server's own major version, where Debian puts it.
	usedDump := fmt.Sprintf(", pg_dump %d.", pg.Major)
	usedPath := fmt.Sprintf("(/usr/lib/postgresql/%d/bin/pg_dump)", pg.Major)
	for _, want := range []string{"db1: backing up", "db1: server PostgreSQL", usedDump, usedPath, "db2: done:", "2 of 2 databases backed up"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the job left %s behind", left[0].Name())
	}

	keys := objects(t, bucket)
	for i, prefix := range []string{"db1", "db2"} {
		key := backupKey(t, keys, prefix, ".gz.aes")
		m := readManifest(t, bucket, key)
		b, _ := m["backup"].(map[string]any)
		if b == nil || b["database"] != fmt.Sprintf("app%d", i+1) || b["kdf"] != "evp" || b["compression"] != "gzip" ||
			!strings.Contains(fmt.Sprint(b["restore_command"]), "openssl enc -d -aes-256-cbc") {
			t.Errorf("manifest of %s: %v", key, m)
		}
		db := restoreOneLiner(t, "s3get s3://"+bucket+"/"+key+" | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d NEWDB >/dev/null")
		sameDump(t, fmt.Sprintf("app%d", i+1), db)
	}
}

// TestOptionsRoundTrip: zstd, custom format, PBKDF2, a key folder, two
// databases in parallel; restored with stock zstd, openssl and pg_restore.
func TestOptionsRoundTrip(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	r := runJob(t, jobEnv(twoDatabases(), bucket, "",
		"COMPRESSION=zstd", "DUMP_FORMAT=custom", "ENCRYPTION_KDF=pbkdf2", "ENCRYPTION_ITER=2000",
		"S3_PREFIX=nightly", "PARALLEL=2", "LOG_FORMAT=json",
		"AGE_IDENTITY_FILE=/nonexistent/key.txt")) // a setting a backup warns about
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	allJSON := func(what, log string) {
		t.Helper()
		for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
			if !json.Valid([]byte(l)) {
				t.Errorf("%s: not a JSON log line: %q", what, l)
			}
		}
	}
	allJSON("backup", r.stderr)
	if !strings.Contains(r.stderr, `"level":"WARN","msg":"AGE_IDENTITY_FILE is set but a backup never reads it`) {
		t.Errorf("backup: no warning about AGE_IDENTITY_FILE:\n%s", r.stderr)
	}
	keys := objects(t, bucket)
	key := backupKey(t, keys, "nightly/db2", ".dump.zst.aes")
	// verify's warnings and result lines are JSON too.
	deleteObject(t, bucket, backupKey(t, keys, "nightly/db1", ".dump.zst.aes")+".manifest.json")
	r = runJob(t, jobEnv(twoDatabases(), bucket, "", "COMPRESSION=zstd", "DUMP_FORMAT=custom", "ENCRYPTION_KDF=pbkdf2", "ENCRYPTION_ITER=2000",
		"S3_PREFIX=nightly", "LOG_FORMAT=json"), "verify")
	if r.code != 0 {
		t.Fatalf("verify: exit %d:\n%s", r.code, r.stderr)
	}
	allJSON("verify", r.stderr)
	for _, want := range []string{`"level":"WARN","msg":"nightly/db1-`, `"msg":"2 of 2 backups verified"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("verify log lacks %s:\n%s", want, r.stderr)
		}
	}
	db := restoreOneLiner(t, "s3get s3://"+bucket+"/"+key+" | openssl enc -d -aes-256-cbc -pbkdf2 -iter 2000 -pass file:KEYFILE | zstd -d | pg_restore --no-owner -d NEWDB")
	sameDump(t, "app2", db)
}

// TestOnlyPrefixAndIgnore: a positional prefix selects one database, and a
// line marked ignore is never backed up.
func TestOnlyPrefixAndIgnore(t *testing.T) {
	emptyBucket(t, "backups")
	list := twoDatabases() + pgpassLine("app1", "backup1", pw1, "db3", "ignore") + "\n"
	if r := runJob(t, jobEnv(list, "backups", ""), "db2"); r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	keys := objects(t, "backups")
	backupKey(t, keys, "db2", ".gz.aes")
	if len(keys) != 2 {
		t.Errorf("want db2's object and manifest only, bucket holds %q", keys)
	}
	if r := runJob(t, jobEnv(list, "backups", ""), "db3"); r.code != 0 || !strings.Contains(r.stderr, "nothing to back up") {
		t.Errorf("selecting an ignored line: exit %d:\n%s", r.code, r.stderr)
	}
	emptyBucket(t, "backups")
	if r := runJob(t, jobEnv(list, "backups", "")); r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	for _, k := range objects(t, "backups") {
		if strings.HasPrefix(k, "db3") {
			t.Errorf("the ignored line was backed up: %s", k)
		}
	}
}

// TestPgDumpKilled: a dump that dies half-way leaves nothing for its
// database, and the other database is still backed up. The upload goes
// through a proxy that delays parts, so the kill lands mid-stream.
func TestPgDumpKilled(t *testing.T) {
	emptyBucket(t, "backups")
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(faultproxy.Rule{Method: "PUT", Times: -1, Fault: faultproxy.Fault{Delay: 300 * time.Millisecond}})
	list := pgpassLine("bigdb", "postgres", pg.Password, "big") + "\n" + pgpassLine("app2", "backup2", pw2, "db2") + "\n"
	if err := bigDatabase(t); err != nil {
		t.Fatal(err)
	}

	killed := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			out, _ := pg.Psql(context.Background(), "postgres",
				`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'bigdb' AND application_name = 'pg_dump' AND query LIKE 'COPY public.big %'`)
			if strings.Contains(out, "t") {
				killed <- "killed"
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		killed <- "no pg_dump backend found to kill"
	}()
	r := runJob(t, jobEnv(list, "backups", p.URL, "COMPRESSION_LEVEL=1"))
	if k := <-killed; k != "killed" {
		t.Fatal(k)
	}
	t.Logf("job log:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "error: big: pg_dump failed") || !strings.Contains(r.stderr, "1 of 2 databases failed (big)") {
		t.Errorf("log lacks the failure lines")
	}
	keys := objects(t, "backups")
	for _, k := range keys {
		if strings.HasPrefix(k, "big") {
			t.Errorf("the killed dump left %s", k)
		}
	}
	backupKey(t, keys, "db2", ".gz.aes")
	if n := uploadsInProgress(t, "backups"); n != 0 {
		t.Errorf("%d unfinished multipart uploads left", n)
	}
}

var bigOnce sync.Once
var bigErr error

// bigDatabase makes a database whose dump is large and barely compressible
// (random bytes), so that it spans several parts.
func bigDatabase(t *testing.T) error {
	bigOnce.Do(func() {
		if bigErr = pg.CreateDatabase(t.Context(), "bigdb"); bigErr != nil {
			return
		}
		_, bigErr = pg.Psql(t.Context(), "bigdb", `
CREATE TABLE big (id int, data bytea);
INSERT INTO big SELECT i, (SELECT string_agg(decode(md5(random()::text || g || i), 'hex'), '') FROM generate_series(1, 64) g)
  FROM generate_series(1, 40000) i;`)
	})
	return bigErr
}

// bigThroughProxy makes the big database, and returns a fault proxy in
// front of the S3 server, closed when the test ends.
func bigThroughProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	if err := bigDatabase(t); err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestS3FaultsRetried: a SlowDown and a connection reset on parts of the
// upload are retried, and the backup restores.
func TestS3FaultsRetried(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	p := bigThroughProxy(t)
	slow := p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 1, Fault: faultproxy.SlowDown})
	reset := p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 3, Fault: faultproxy.ResetBody})
	list := pgpassLine("bigdb", "postgres", pg.Password, "big") + "\n"
	r := runJob(t, jobEnv(list, bucket, p.URL, "PROGRESS_INTERVAL=200ms"))
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "stored so far") {
		t.Errorf("no progress line in the log:\n%s", r.stderr)
	}
	if slow.Hits(p) != 1 || reset.Hits(p) != 1 {
		t.Fatalf("faults injected: SlowDown %d, reset %d; want 1 each (is the dump big enough for 3 parts?)", slow.Hits(p), reset.Hits(p))
	}
	key := backupKey(t, objects(t, bucket), "big", ".gz.aes")
	db := restoreOneLiner(t, "s3get s3://"+bucket+"/"+key+" | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d NEWDB >/dev/null")
	a, b := dumpOf(t, "bigdb"), dumpOf(t, db)
	if a != b {
		t.Fatal("restored bigdb differs from its source")
	}
}

// TestS3PersistentFailure: when every part upload fails the job fails, and
// leaves no object, no manifest and no unfinished upload.
func TestS3PersistentFailure(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	p := bigThroughProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Times: -1, Fault: faultproxy.InternalError})
	list := pgpassLine("bigdb", "postgres", pg.Password, "big") + "\n"
	r := runJob(t, jobEnv(list, bucket, p.URL))
	t.Logf("job log:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if keys := objects(t, bucket); len(keys) != 0 {
		t.Errorf("bucket holds %q after a failed upload", keys)
	}
	if n := uploadsInProgress(t, bucket); n != 0 {
		t.Errorf("%d unfinished multipart uploads left", n)
	}
}

// TestVersionCheck: a pg_dump older than the server fails that database
// with both versions named.
func TestVersionCheck(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "pg_dump")
	os.WriteFile(fake, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"), 0o755)
	emptyBucket(t, "backups")
	r := runJob(t, jobEnv(twoDatabases(), "backups", "", "PG_DUMP="+fake), "db1")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
	}
	want := fmt.Sprintf("error: db1: pg_dump 9.6 is older than the server (PostgreSQL %d.", pg.Major)
	if !strings.Contains(r.stderr, want) {
		t.Errorf("log lacks %q:\n%s", want, r.stderr)
	}
	if keys := objects(t, "backups"); len(keys) != 0 {
		t.Errorf("bucket holds %q", keys)
	}
}

// TestWrongDatabasePassword: a database that refuses the job's login fails
// that database alone, with one line, no object and no secret shown. (The
// settings the job refuses before touching a database are in
// testdata/settings.txtar.)
func TestWrongDatabasePassword(t *testing.T) {
	emptyBucket(t, "backups")
	r := runJob(t, jobEnv(pgpassLine("app1", "backup1", "wrong-password", "db1")+"\n", "backups", ""))
	if r.code != 1 || !strings.Contains(r.stderr, "error: db1: cannot connect to") {
		t.Errorf("exit %d, want 1 and a line naming the connection:\n%s", r.code, r.stderr)
	}
	for _, s := range []string{"wrong-password", encPass, srv.SecretKey} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("stderr contains a secret:\n%s", r.stderr)
		}
	}
	if keys := objects(t, "backups"); len(keys) != 0 {
		t.Errorf("bucket holds %q", keys)
	}
}

// TestSettingsErrorsTogether: every bad setting is one line of the same
// report, exit 2, and nothing is backed up.
func TestSettingsErrorsTogether(t *testing.T) {
	emptyBucket(t, "backups")
	env := jobEnv(twoDatabases(), "Bad_Bucket", "garbage://", "PG_DUMP=/nonexistent/pg_dump", "COMPRESSION=lz4")
	env = replaceEnv(env, "AWS_REGION=eu west 1")
	r := runJob(t, env)
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	for _, want := range []string{
		`error: S3_BUCKET: invalid bucket name "Bad_Bucket"`,
		`error: AWS_ENDPOINT_URL: invalid endpoint "garbage://"`,
		`error: AWS_REGION="eu west 1": not a region name`,
		`error: PG_DUMP="/nonexistent/pg_dump": no such file`,
		`error: COMPRESSION="lz4"`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "backing up") {
		t.Errorf("a backup started")
	}
	t.Logf("stderr:\n%s", r.stderr)
}

// TestPreflight: the bucket is checked with one request before the first
// pg_dump. A store that refuses to list but lets write (a write-only
// policy) gets a warning and its backup; one that refuses the write too
// fails the job before any pg_dump (the write check; iam_test.go has the
// same with a real store's refusals).
func TestPreflight(t *testing.T) {
	emptyBucket(t, "backups")
	p := bigThroughProxy(t)
	list := pgpassLine("app1", "backup1", pw1, "db1") + "\n"

	// The check is one ListObjectsV2 of at most one key under S3_PREFIX.
	r := runJob(t, jobEnv(list, "backups", p.URL, "S3_PREFIX=nightly/"))
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	var lists []faultproxy.Request
	for _, q := range p.Requests() {
		if q.Method == "GET" && strings.Contains(q.RawQuery, "list-type=2") {
			lists = append(lists, q)
		}
	}
	if len(lists) != 1 || !strings.Contains(lists[0].RawQuery, "max-keys=1") || !strings.Contains(lists[0].RawQuery, "prefix=nightly%2F") {
		t.Errorf("list requests: %+v, want one with max-keys=1 and prefix=nightly/", lists)
	}

	emptyBucket(t, "backups")
	p.Clear()
	p.Add(faultproxy.Rule{Method: "GET", Query: "list-type", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	r = runJob(t, jobEnv(list, "backups", p.URL))
	if r.code != 0 {
		t.Fatalf("list refused: exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning: checking s3://backups: access denied (at "+p.URL+"): the credentials may not list the bucket") {
		t.Errorf("no warning:\n%s", r.stderr)
	}
	backupKey(t, objects(t, "backups"), "db1", ".gz.aes")

	emptyBucket(t, "backups")
	p.Add(faultproxy.Rule{Method: "PUT", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	p.Add(faultproxy.Rule{Method: "POST", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	r = runJob(t, jobEnv(list, "backups", p.URL))
	t.Logf("write refused too:\n%s", r.stderr)
	if r.code != 2 || !strings.Contains(r.stderr, "error: upload to s3://backups/.iron-streaming-backup-write-check: access denied (at "+p.URL+"): the credentials may not write backups to s3://backups (s3:PutObject)\n") || strings.Contains(r.stderr, "db1: ") {
		t.Errorf("write refused: exit %d, want 2 and the write check's line, before db1 started", r.code)
	}
	// The hint names the job's settings, not s3put's flags.
	if !strings.Contains(r.stderr, "hint: the credentials lack s3:PutObject, or they are wrong: check AWS_ACCESS_KEY_ID") || strings.Contains(r.stderr, "--") {
		t.Errorf("write refused: no hint in the job's terms")
	}
	if keys := objects(t, "backups"); len(keys) != 0 {
		t.Errorf("bucket holds %q", keys)
	}
	if n := uploadsInProgress(t, "backups"); n != 0 {
		t.Errorf("%d unfinished multipart uploads", n)
	}
}

func dropEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func replaceEnv(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	return append(dropEnv(env, name), kv)
}

// TestRunnerPayload runs the job as the image does: runner mode reads an
// IronIO payload whose cmd is the image's /app/backup.sh (scripts/backup.sh)
// with a prefix argument, and passes on its exit status.
func TestRunnerPayload(t *testing.T) {
	emptyBucket(t, "backups")
	root, _ := testenv.RepoRoot()
	env := map[string]string{}
	var base []string
	for _, kv := range jobEnv(twoDatabases(), "backups", "") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "TMPDIR" {
			base = append(base, kv)
			continue
		}
		env[k] = v
	}
	payload, _ := json.Marshal(map[string]any{"version": "1", "cmd": []string{filepath.Join(root, "scripts/backup.sh"), "db1"}, "env": env})
	path := filepath.Join(t.TempDir(), "payload.json")
	os.WriteFile(path, payload, 0o600)

	r := runJob(t, append(base, "PAYLOAD_FILE="+path), "runner")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	keys := objects(t, "backups")
	backupKey(t, keys, "db1", ".gz.aes")
	if len(keys) != 2 {
		t.Errorf("want db1's object and manifest only, bucket holds %q", keys)
	}

	// A failing payload's status comes through.
	env["S3_BUCKET"] = "no-such-bucket"
	payload, _ = json.Marshal(map[string]any{"version": "1", "cmd": []string{filepath.Join(root, "scripts/backup.sh")}, "env": env})
	os.WriteFile(path, payload, 0o600)
	if r := runJob(t, base, "runner", "-payload", path); r.code != 2 {
		t.Errorf("exit %d for a payload with a bucket that does not exist, want 2:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, base, "runner"); r.code != 2 || !strings.Contains(r.stderr, "no payload file") {
		t.Errorf("runner without a payload: exit %d:\n%s", r.code, r.stderr)
	}
}

// runPipe runs a bash pipeline (KEYFILE replaced by the key's file) and
// returns its stdout.
func runPipe(t *testing.T, line string) []byte { return runPipeIn(t, nil, line) }

func runPipeIn(t *testing.T, stdin []byte, line string) []byte {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(encPass+"\n"), 0o600)
	cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", strings.ReplaceAll(line, "KEYFILE", keyFile))
	cmd.Env = jobEnv("", "", "")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, stderr.String())
	}
	return out
}

// TestSIGTERM: a job stopped by its scheduler in the middle of an upload
// leaves no object, no unfinished upload and no private folder, and exits
// non-zero.
func TestSIGTERM(t *testing.T) {
	emptyBucket(t, "backups")
	p := bigThroughProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Times: -1, Fault: faultproxy.Fault{Delay: 500 * time.Millisecond}})
	tmp := t.TempDir() // its own, since other runs may share os.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "iron-streaming-backup"))
	cmd.Env = replaceEnv(jobEnv(pgpassLine("bigdb", "postgres", pg.Password, "big")+"\n", "backups", p.URL), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until a part upload is under way.
	deadline := time.Now().Add(time.Minute)
	for uploadsInProgress(t, "backups") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	t.Logf("job log:\n%s", stderr.String())
	if err == nil {
		t.Fatal("the job exited 0 after SIGTERM")
	}
	if !strings.Contains(stderr.String(), "error: big: ") {
		t.Errorf("no failure line for the interrupted database")
	}
	if keys := objects(t, "backups"); len(keys) != 0 {
		t.Errorf("bucket holds %q after SIGTERM", keys)
	}
	if n := uploadsInProgress(t, "backups"); n != 0 {
		t.Errorf("%d unfinished multipart uploads after SIGTERM", n)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the job left %s behind", left[0].Name())
	}
}

// TestCommandPrefix: a list line whose prefix is a command of the job is
// refused wherever the list is read, naming the line, and nothing runs.
// Without that, the payload ["/app/backup.sh", "list"] scheduled to back up
// that database lists the bucket and exits 0 every night.
func TestCommandPrefix(t *testing.T) {
	emptyBucket(t, "backups")
	root, _ := testenv.RepoRoot()
	list := twoDatabases() + pgpassLine("app1", "backup1", pw1, "list") + "\n"
	const want = `error: $PGPASS_FILE_BASE64: line 3: prefix "list" is a command of the backup job`
	for _, args := range [][]string{
		{filepath.Join(root, "scripts/backup.sh"), "list"}, // as the payload runs it
		{filepath.Join(root, "scripts/backup.sh")},
		{filepath.Join(root, "scripts/backup.sh"), "db1"},
		{filepath.Join(root, "scripts/backup.sh"), "verify"},
	} {
		t.Run("backup.sh "+strings.Join(args[1:], " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.Env = jobEnv(list, "backups", "")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), want) || strings.Count(stderr.String(), "\n") > 2 {
				t.Errorf("stderr is not the one line %q:\n%s", want, stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			if keys := objects(t, "backups"); len(keys) != 0 {
				t.Errorf("bucket holds %q", keys)
			}
		})
	}
}

// TestCommandsReserved: the words the job dispatches, those its usage
// shows, and those a list may not use as a prefix are the same.
func TestCommandsReserved(t *testing.T) {
	// The synopsis: the lines from "Usage:" to the first blank one.
	synopsis, _, _ := strings.Cut(usage, "\n\n")
	re := regexp.MustCompile(`(?m)^    iron-streaming-backup \[?([a-z]+)`)
	var shown []string
	for _, m := range re.FindAllStringSubmatch(synopsis, -1) {
		shown = append(shown, m[1])
	}
	dispatched := slices.Sorted(maps.Keys(commands))
	slices.Sort(shown)
	if !slices.Equal(shown, dispatched) || !slices.Equal(dispatched, cli.JobCommands) {
		t.Errorf("usage shows %q, the job dispatches %q, lists may not use %q", shown, dispatched, cli.JobCommands)
	}
	_, err := pgpass.Parse(strings.NewReader("h:5432:d:u:pw:verify\n"), cli.JobCommands...)
	if !errors.Is(err, pgpass.ErrCommand) {
		t.Errorf("a list with the prefix verify: %v", err)
	}
}

// TestKilledRunLeavesNoPasswords: a run killed with SIGKILL (out of memory,
// a hard timeout) cannot remove its private folder, but by then its
// password file is gone already: it goes as soon as pg_dump has read it,
// before pg_dump writes anything. The next run removes the dead run's
// folder; a live concurrent run's folder is never touched.
func TestKilledRunLeavesNoPasswords(t *testing.T) {
	emptyBucket(t, "backups")
	tmp := t.TempDir()
	folders := func() []string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(tmp, "iron-streaming-backup-*"))
		return m
	}

	// Hold a lock on a table of app1, so that its pg_dump connects and
	// then waits, having written nothing.
	locker := pg.Command(t.Context(), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "app1")
	lockIn, err := locker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := locker.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { lockIn.Close(); locker.Wait() }()
	fmt.Fprintln(lockIn, "BEGIN; LOCK TABLE docs.page IN ACCESS EXCLUSIVE MODE; SELECT 1;")

	list := twoDatabases()
	dead := exec.Command(filepath.Join(binDir, "iron-streaming-backup"), "db1")
	dead.Env = replaceEnv(jobEnv(list, "backups", ""), "TMPDIR="+tmp)
	var deadLog bytes.Buffer
	dead.Stderr = &deadLog
	if err := dead.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := false
	for deadline := time.Now().Add(time.Minute); !waiting && time.Now().Before(deadline); {
		out, _ := pg.Psql(t.Context(), "postgres",
			`SELECT count(*) FROM pg_stat_activity WHERE datname = 'app1' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'`)
		waiting = out == "1"
		time.Sleep(20 * time.Millisecond)
	}
	if !waiting {
		dead.Process.Kill()
		dead.Wait()
		t.Fatalf("pg_dump never waited for the lock:\n%s", deadLog.String())
	}
	live := folders()
	if len(live) != 1 {
		t.Fatalf("private folders of the running job: %q", live)
	}
	if files, _ := os.ReadDir(live[0]); len(files) != 0 {
		t.Errorf("pg_dump has connected, but the private folder still holds %v", files[0].Name())
	}

	// A concurrent run leaves the live run's folder alone.
	r := runJob(t, replaceEnv(jobEnv(list, "backups", ""), "TMPDIR="+tmp), "db2")
	if r.code != 0 {
		t.Fatalf("concurrent run: exit %d:\n%s", r.code, r.stderr)
	}
	if now := folders(); len(now) != 1 || now[0] != live[0] {
		t.Fatalf("after a concurrent run: folders %q, want the live run's %q", now, live)
	}

	// SIGKILL runs no clean-up: the folder stays, without a password.
	dead.Process.Signal(syscall.SIGKILL)
	dead.Wait()
	fmt.Fprintln(lockIn, "COMMIT;") // the orphaned pg_dump goes on, and dies writing to no one
	if now := folders(); len(now) != 1 || now[0] != live[0] {
		t.Fatalf("after SIGKILL: folders %q, want the dead run's %q", now, live)
	}
	if files, _ := os.ReadDir(live[0]); len(files) != 0 {
		t.Errorf("the killed run left %s in its folder", files[0].Name())
	}

	// The next run removes it, and says so. It may start within the
	// second of the concurrent run and name the same key: that run's
	// backup goes first.
	emptyBucket(t, "backups")
	r = runJob(t, replaceEnv(jobEnv(list, "backups", ""), "TMPDIR="+tmp), "db2")
	if r.code != 0 {
		t.Fatalf("next run: exit %d:\n%s", r.code, r.stderr)
	}
	if now := folders(); len(now) != 0 {
		t.Errorf("after the next run: folders %q", now)
	}
	if !strings.Contains(r.stderr, "warning: removed "+live[0]+", the private folder of an earlier run") {
		t.Errorf("the next run did not say it removed %s:\n%s", live[0], r.stderr)
	}
}

// TestShardsBackUpEachOnce runs the job as the pods of an Indexed Job do:
// together the shards back up every prefix of the list exactly once.
func TestShardsBackUpEachOnce(t *testing.T) {
	emptyBucket(t, "backups")
	prefixes := []string{"s-a", "s-b", "s-c", "s-d", "s-e"}
	var list strings.Builder
	for i, p := range prefixes {
		list.WriteString(pgpassLine(fmt.Sprintf("app%d", i%2+1), fmt.Sprintf("backup%d", i%2+1), []string{pw1, pw2}[i%2], p) + "\n")
	}
	const count = 3
	for i := range count {
		env := jobEnv(list.String(), "backups", "", "SHARD_COUNT=3", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
		r := runJob(t, env)
		if r.code != 0 {
			t.Fatalf("shard %d: exit %d:\n%s", i, r.code, r.stderr)
		}
		t.Logf("shard %d:\n%s", i, r.stderr)
	}
	keys := objects(t, "backups")
	for _, p := range prefixes {
		backupKey(t, keys, p, ".gz.aes") // exactly one
	}
	if len(keys) != 2*len(prefixes) {
		t.Errorf("bucket holds %q, want one backup and one manifest per prefix", keys)
	}
}

// TestSameKeyRace: two runs started in the same second (two schedulers, a
// retried task, two lists sharing a prefix) name the same object. The one
// that commits second must fail with a line that says so, and leave the
// other's object and manifest as they are. A proxy in front of the S3
// server stands in for the other run: it stores that run's object and
// manifest at the job's key just before a request of the job's reaches
// the key, either its first one (the other run finished earlier) or its
// commit (the other run finished a moment before this one).
func TestSameKeyRace(t *testing.T) {
	commit := func(r *http.Request) bool {
		q := r.URL.Query()
		return r.Method == "PUT" && !q.Has("partNumber") || r.Method == "POST" && q.Has("uploadId")
	}
	for _, tc := range []struct {
		name, db, prefix string
		at               func(*http.Request) bool
	}{
		{"other run done before", "app1", "db1", func(*http.Request) bool { return true }},
		{"other run commits first", "app1", "db1", commit},
		{"other run commits first, multipart", "bigdb", "big", commit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emptyBucket(t, "backups")
			line := pgpassLine("app1", "backup1", pw1, tc.prefix)
			if tc.db == "bigdb" {
				if err := bigDatabase(t); err != nil {
					t.Fatal(err)
				}
				line = pgpassLine("bigdb", "postgres", pg.Password, tc.prefix)
			}
			theirs := []byte("the other run's backup\n")
			theirManifest := []byte(`{"version": 1, "tool": "the other run"}` + "\n")
			var key string
			proxy, statuses := raceProxy(t, tc.prefix, tc.at, func(k string) {
				key = k
				for k, body := range map[string][]byte{k: theirs, k + ".manifest.json": theirManifest} {
					if _, err := s3client().PutObject(context.Background(), &s3.PutObjectInput{
						Bucket: aws.String("backups"), Key: aws.String(k), Body: bytes.NewReader(body),
					}); err != nil {
						t.Errorf("storing the other run's %s: %v", k, err)
					}
				}
			})
			r := runJob(t, jobEnv(line+"\n", "backups", proxy))
			t.Logf("job log:\n%s", r.stderr)
			if key == "" {
				t.Fatal("the job sent no request for its object")
			}
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			want := fmt.Sprintf("iron-streaming-backup: error: %s: completing the upload: another backup already exists at s3://backups/%s (two runs in the same second?)", tc.prefix, key)
			if !strings.Contains(r.stderr, want) {
				t.Errorf("log lacks %q", want)
			}
			if got := getObject(t, "backups", key); !bytes.Equal(got, theirs) {
				t.Errorf("the other run's object was replaced: %d bytes", len(got))
			}
			if got := getObject(t, "backups", key+".manifest.json"); !bytes.Equal(got, theirManifest) {
				t.Errorf("the other run's manifest was replaced: %.200s", got)
			}
			if keys := objects(t, "backups"); len(keys) != 2 {
				t.Errorf("bucket holds %q, want the other run's object and manifest", keys)
			}
			if n := uploadsInProgress(t, "backups"); n != 0 {
				t.Errorf("%d unfinished multipart uploads left", n)
			}
			// The commit that came after the other run's was refused
			// by the server (If-None-Match), not only by the job's look
			// at the key before it.
			if s := statuses(); tc.name != "other run done before" && !slices.Contains(s, http.StatusPreconditionFailed) {
				t.Errorf("the server answered the job's commit with %v, want 412", s)
			}
		})
	}
}

// raceProxy starts a proxy in front of the S3 server that calls act once,
// with the key, before passing on the first request for the backup object
// of prefix that at selects. statuses returns the HTTP statuses of the
// answers to the requests at selected.
func raceProxy(t *testing.T, prefix string, at func(*http.Request) bool, act func(key string)) (endpoint string, statuses func() []int) {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []int
	)
	object := regexp.MustCompile(`^/backups/(` + regexp.QuoteMeta(prefix) + `-\d{14}\.gz\.aes)$`)
	selected := func(r *http.Request) (string, bool) {
		if m := object.FindStringSubmatch(r.URL.Path); m != nil && at(r) {
			return m[1], true
		}
		return "", false
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // keep the signed Host
			r.Out.Header.Del("Expect")
		},
		ModifyResponse: func(resp *http.Response) error {
			if _, ok := selected(resp.Request); ok {
				mu.Lock()
				seen = append(seen, resp.StatusCode)
				mu.Unlock()
			}
			return nil
		},
	}
	var once sync.Once
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key, ok := selected(r); ok {
			once.Do(func() { act(key) })
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s.URL, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

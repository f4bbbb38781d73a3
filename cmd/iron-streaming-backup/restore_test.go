package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

var restoreSeq atomic.Int64

// sourceDatabase makes a database of its own with the sample data and
// returns its name and a list line that backs it up as prefix.
func sourceDatabase(t *testing.T, prefix string) (db, list string) {
	t.Helper()
	db = fmt.Sprintf("rsrc%d", restoreSeq.Add(1))
	if err := pg.CreateDatabase(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(t.Context(), db, `
CREATE TABLE items (id int PRIMARY KEY, name text, data bytea);
INSERT INTO items SELECT i, 'item ' || i || ' — ü', decode(md5(i::text), 'hex') FROM generate_series(1, 2000) i;
CREATE SCHEMA audit;
CREATE TABLE audit.log (at timestamptz, what text);
INSERT INTO audit.log SELECT timestamptz '2026-01-01' + i * interval '1 hour', 'event ' || i FROM generate_series(1, 500) i;
CREATE FUNCTION audit.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';`); err != nil {
		t.Fatal(err)
	}
	return db, pgpassLine(db, "postgres", pg.Password, prefix) + "\n"
}

// restoreTarget is a new database name and a role that may create it
// and nothing else, and the -into connection string of that role.
func restoreTarget(t *testing.T) (db, conn string) {
	t.Helper()
	n := restoreSeq.Add(1)
	db, role := fmt.Sprintf("rdst%d", n), fmt.Sprintf("rrole%d", n)
	if _, err := pg.Psql(t.Context(), "postgres", "CREATE ROLE "+role+" LOGIN CREATEDB"); err != nil {
		t.Fatal(err)
	}
	return db, fmt.Sprintf("host=%s port=%d dbname=%s user=%s", pg.SocketDir, pg.Port, db, role)
}

func databaseExists(t *testing.T, db string) bool {
	t.Helper()
	out, err := pg.Psql(t.Context(), "postgres", "SELECT count(*) FROM pg_database WHERE datname = '"+db+"'")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out) == "1"
}

// TestRestoreAt: of three backups, -at picks the newest at or before the
// time (the boundary second included), -key names one, and each restores
// to what the source held then.
func TestRestoreAt(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	src, list := sourceDatabase(t, "shop")
	env := jobEnv(list, bucket, "", "S3_PREFIX=r/")
	var keys, dumps []string
	for i := range 3 {
		if i > 0 {
			if _, err := pg.Psql(t.Context(), src, fmt.Sprintf("INSERT INTO items VALUES (%d, 'added %d', NULL)", 10000+i, i)); err != nil {
				t.Fatal(err)
			}
			nextSecond()
		}
		if r := runJob(t, env, "shop"); r.code != 0 {
			t.Fatalf("backup %d: exit %d\n%s", i, r.code, r.stderr)
		}
		var key string
		for _, k := range objects(t, bucket) {
			if strings.HasSuffix(k, ".gz.aes") && !slices.Contains(keys, k) {
				key = k
			}
		}
		keys, dumps = append(keys, key), append(dumps, dumpOf(t, src))
	}
	keyTime := func(k string) time.Time {
		tm, err := time.Parse("20060102150405", strings.TrimSuffix(strings.TrimPrefix(k, "r/shop-"), ".gz.aes"))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		name string
		args []string
		want int // the backup restored
	}{
		{"now", nil, 2},
		{"0s ago", []string{"-at", "0s"}, 2},
		{"the second of the second", []string{"-at", keyTime(keys[1]).Format(time.RFC3339)}, 1},
		{"a second before the third", []string{"-at", keyTime(keys[2]).Add(-time.Second).Format("2006-01-02T15:04:05")}, 1},
		{"a second before the second", []string{"-at", keyTime(keys[1]).Add(-time.Second).Format(time.RFC3339)}, 0},
		{"key", []string{"-key", strings.TrimPrefix(keys[0], "r/")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, conn := restoreTarget(t)
			r := runJob(t, env, append([]string{"restore", "shop", "-into", conn, "-create"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("restore: exit %d\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "shop: restoring s3://"+bucket+"/"+keys[tc.want]+" (") ||
				!strings.Contains(r.stderr, "shop: restored s3://"+bucket+"/"+keys[tc.want]+" into "+db+": ") ||
				!strings.Contains(r.stderr, "row counts match the dump's") {
				t.Errorf("restore did not say it restored %s:\n%s", keys[tc.want], r.stderr)
			}
			if got := dumpOf(t, db); got != dumps[tc.want] {
				t.Errorf("the restore differs from backup %d's source", tc.want)
			}
			if strings.Contains(r.stderr, encPass) || strings.Contains(r.stderr, pg.Password) {
				t.Errorf("the log shows a password:\n%s", r.stderr)
			}
		})
	}

	// Before the first backup, and in the future: nothing is restored.
	db, conn := restoreTarget(t)
	r := runJob(t, env, "restore", "-into", conn, "-create", "-at", "1h", "shop")
	if r.code != 1 || !strings.Contains(r.stderr, "all 3 backups started after") || !strings.Contains(r.stderr, "hint: 'iron-streaming-backup list shop'") {
		t.Errorf("-at before every backup: exit %d\n%s", r.code, r.stderr)
	}
	r = runJob(t, env, "restore", "-into", conn, "-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "shop")
	if r.code != 2 || !strings.Contains(r.stderr, "is in the future") {
		t.Errorf("-at in the future: exit %d\n%s", r.code, r.stderr)
	}
	if databaseExists(t, db) {
		t.Errorf("a restore that found nothing created %s", db)
	}
}

// awsFolder is the folder of an AWS CLI the stock one-liners can use.
func awsFolder(t *testing.T) string {
	t.Helper()
	dir, err := testenv.FindAWS()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// restoreOneLinerInto runs a stock one-liner that names its target, with
// the password file in place of KEYFILE.
func restoreOneLinerInto(t *testing.T, line string, extraEnv ...string) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(encPass+"\n"), 0o600)
	line = strings.ReplaceAll(line, "KEYFILE", keyFile)
	cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", line)
	env := append(os.Environ(), jobEnv("", "", "")...)
	cmd.Env = append(append(env, pg.SocketEnv()...), extraEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
}

// TestRestoreFormats: custom and plain dumps, gzip and zstd, openssl and
// age restore to the source, and -dry-run prints the stock tools'
// one-liner, which restores the same.
func TestRestoreFormats(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	k := ageKeygen(t)
	src, list := sourceDatabase(t, "fmt")
	want := dumpOf(t, src)
	awsDir := awsFolder(t)
	for _, tc := range []struct {
		name     string
		settings []string
	}{
		{"custom zstd age", []string{"DUMP_FORMAT=custom", "COMPRESSION=zstd", "ENCRYPTION=age", "AGE_RECIPIENTS=" + k.Recipient, "AGE_IDENTITY_FILE=" + k.IdentityFile}},
		{"custom gzip pbkdf2", []string{"DUMP_FORMAT=custom", "ENCRYPTION_KDF=pbkdf2", "ENCRYPTION_ITER=1000"}},
		{"plain zstd", []string{"COMPRESSION=zstd"}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			env := jobEnv(list, bucket, "", append([]string{"S3_PREFIX=" + strings.ReplaceAll(tc.name, " ", "-") + "/"}, tc.settings...)...)
			if r := runJob(t, env, "fmt"); r.code != 0 {
				t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
			}
			db, conn := restoreTarget(t)
			r := runJob(t, env, "restore", "fmt", "-into", conn, "-create")
			if r.code != 0 || !strings.Contains(r.stderr, "row counts match the dump's") {
				t.Fatalf("restore: exit %d\n%s", r.code, r.stderr)
			}
			if dumpOf(t, db) != want {
				t.Errorf("the restore differs from the source")
			}

			// The dry run's one-liner, with the stock tools, into a new
			// database, as the superuser: a plain dump's one-liner keeps
			// the dump's ownership.
			db2 := db + "_stock"
			if err := pg.CreateDatabase(t.Context(), db2); err != nil {
				t.Fatal(err)
			}
			conn2 := fmt.Sprintf("host=%s port=%d dbname=%s user=%s", pg.SocketDir, pg.Port, db2, pg.User)
			r = runJob(t, env, "restore", "fmt", "-into", conn2, "-dry-run")
			line := strings.TrimSpace(r.stdout)
			if r.code != 0 || !strings.HasPrefix(line, "aws s3 cp s3://"+bucket+"/") || strings.Count(line, "\n") != 0 {
				t.Fatalf("-dry-run: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
			}
			line = strings.ReplaceAll(line, "age -d -i key.txt", "age -d -i "+k.IdentityFile)
			restoreOneLinerInto(t, line, "PATH="+binDir+":"+pg.BinDir+":"+os.Getenv("PATH")+":"+awsDir)
			if dumpOf(t, db2) != want {
				t.Errorf("the stock one-liner's restore differs from the source: %s", line)
			}
		})
	}
}

// TestRestoreRefusals: what is refused leaves everything as it was.
func TestRestoreRefusals(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	_, list := sourceDatabase(t, "refuse")
	env := jobEnv(list, bucket, "", "S3_PREFIX=x/")
	if r := runJob(t, env, "refuse"); r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}

	// A target that holds something: refused, untouched; -clean
	// replaces what the role owns there.
	db, conn := restoreTarget(t)
	role := conn[strings.LastIndex(conn, "user=")+5:]
	if _, err := pg.Psql(t.Context(), "postgres", "CREATE DATABASE "+db+" OWNER "+role); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(t.Context(), db, "SET ROLE "+role+"; CREATE TABLE keep (x int); INSERT INTO keep VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	r := runJob(t, env, "restore", "refuse", "-into", conn)
	if r.code != 2 || !strings.Contains(r.stderr, "the target database is not empty: "+db+" holds 1 relation;") {
		t.Errorf("a target with a table: exit %d\n%s", r.code, r.stderr)
	}
	if out, _ := pg.Psql(t.Context(), db, "SELECT count(*) FROM keep"); strings.TrimSpace(out) != "1" {
		t.Errorf("the refused restore changed the target: %q", out)
	}
	r = runJob(t, env, "restore", "refuse", "-into", conn, "-clean")
	if r.code != 0 {
		t.Fatalf("-clean: exit %d\n%s", r.code, r.stderr)
	}
	if n := relations(t, db); n == "0" || strings.Contains(dumpOf(t, db), "keep") {
		t.Errorf("-clean: %s relations, the old table still there: %v", n, strings.Contains(dumpOf(t, db), "keep"))
	}

	// A superuser, without -trust-dump: refused before anything.
	sdb := fmt.Sprintf("rsu%d", restoreSeq.Add(1))
	r = runJob(t, env, "restore", "refuse", "-create", "-into", fmt.Sprintf("host=%s port=%d dbname=%s user=%s", pg.SocketDir, pg.Port, sdb, pg.User))
	if r.code != 2 || !strings.Contains(r.stderr, "is a superuser") || !strings.Contains(r.stderr, "hint: as a superuser: CREATE ROLE restorer LOGIN CREATEDB") {
		t.Errorf("as a superuser: exit %d\n%s", r.code, r.stderr)
	}
	if databaseExists(t, sdb) {
		t.Errorf("the refused restore left database %s", sdb)
	}

	// A password in the connection string is refused.
	r = runJob(t, env, "restore", "refuse", "-into", "dbname=x password=hunter2")
	if r.code != 2 || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("a password in -into: exit %d\n%s", r.code, r.stderr)
	}
	// Bad arguments.
	for _, args := range [][]string{
		{"restore", "-into", "dbname=x"},
		{"restore", "refuse"},
		{"restore", "refuse", "other", "-into", "dbname=x"},
		{"restore", "refuse", "-into", "dbname=x", "-at", "yesterday"},
		{"restore", "refuse", "-into", "dbname=x", "-at", "1h", "-key", "k"},
		{"restore", "-into", "dbname=x", "../etc"},
		{"restore", "refuse", "-into", "dbname=x", "-jobs", "2"},
		{"restore", "refuse", "-into", "dbname=x", "-globals-passwords"},
		{"restore", "refuse", "-into", "dbname=x", "-globals", "-globals-as", "user=a password=hunter2"},
	} {
		if r := runJob(t, env, args...); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("%q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// TestRestoreDamaged: a tampered or truncated object fails the restore
// with exit 1, and the target holds nothing: the transaction is rolled
// back, and a database -create made is dropped.
func TestRestoreDamaged(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	_, list := sourceDatabase(t, "dmg")
	for _, damage := range []string{"flipped", "truncated"} {
		t.Run(damage, func(t *testing.T) {
			env := jobEnv(list, bucket, "", "S3_PREFIX="+damage+"/")
			if r := runJob(t, env, "dmg"); r.code != 0 {
				t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
			}
			var key string
			for _, k := range objects(t, bucket) {
				if strings.HasPrefix(k, damage+"/") && strings.HasSuffix(k, ".gz.aes") {
					key = k
				}
			}
			obj := getObject(t, bucket, key)
			if damage == "flipped" {
				obj[len(obj)*2/3] ^= 0x20
			} else {
				obj = obj[:len(obj)*2/3]
			}
			putObject(t, bucket, key, obj)

			// Into an existing empty database: it stays empty.
			db, conn := restoreTarget(t)
			role := conn[strings.LastIndex(conn, "user=")+5:]
			if _, err := pg.Psql(t.Context(), "postgres", "CREATE DATABASE "+db+" OWNER "+role); err != nil {
				t.Fatal(err)
			}
			r := runJob(t, env, "restore", "dmg", "-into", conn, "-force-unverified")
			if r.code != 1 || !strings.Contains(r.stderr, "error: dmg: ") {
				t.Errorf("restore of a %s object: exit %d\n%s", damage, r.code, r.stderr)
			}
			if n := relations(t, db); n != "0" {
				t.Errorf("a failed restore left %s relations", n)
			}
			// With -create: the database is dropped again.
			db2, conn2 := restoreTarget(t)
			r = runJob(t, env, "restore", "dmg", "-into", conn2, "-create", "-force-unverified")
			if r.code != 1 || databaseExists(t, db2) {
				t.Errorf("-create, %s object: exit %d, database left: %v\n%s", damage, r.code, databaseExists(t, db2), r.stderr)
			}
			// Without -force-unverified a truncated object is not even
			// a candidate: its size differs from its manifest's.
			if damage == "truncated" {
				r = runJob(t, env, "restore", "dmg", "-into", conn2, "-create")
				if r.code != 1 || !strings.Contains(r.stderr, "skipped "+key+": the object has") {
					t.Errorf("truncated, verified only: exit %d\n%s", r.code, r.stderr)
				}
			}
		})
	}
}

// TestDocsRestoreCommand runs the restore command's recipe of
// docs/restore.md as written, with the server's address in PGHOST and
// PGPORT and the job's settings, and the metrics file a monitor gets.
func TestDocsRestoreCommand(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	src, list := sourceDatabase(t, "db1")
	metrics := filepath.Join(t.TempDir(), "backup.prom")
	env := jobEnv(list, bucket, "", "METRICS_FILE="+metrics)
	if r := runJob(t, env, "db1"); r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	lines := docBlockLines(t, "# recipe: restore command")
	if len(lines) != 3 {
		t.Fatalf("the documentation's recipe: %q", lines)
	}
	env = append(env, "PGHOST="+pg.SocketDir, "PGPORT="+strconv.Itoa(pg.Port), "PGUSER="+pg.User)
	for i, l := range lines {
		cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", l)
		cmd.Env = env
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", l, err, stderr.String())
		}
		switch i {
		case 1: // the dry run: its one-liner, nothing restored
			if !strings.HasPrefix(stdout.String(), "aws s3 cp s3://"+bucket+"/db1-") || databaseExists(t, "db1_restored") {
				t.Errorf("%s: stdout %q\n%s", l, stdout.String(), stderr.String())
			}
		case 2:
			if !strings.Contains(stderr.String(), "row counts match the dump's") {
				t.Errorf("%s:\n%s", l, stderr.String())
			}
		}
	}
	if dumpOf(t, "db1_restored") != dumpOf(t, src) {
		t.Error("the restore differs from the source")
	}
	m, err := os.ReadFile(metrics)
	if err != nil || !strings.Contains(string(m), `iron_streaming_backup_restore_last_run_success{prefix="db1"} 1`) {
		t.Errorf("metrics after the restore: %v\n%s", err, m)
	}
}

// TestRestoreInterrupted: SIGTERM in the middle of a restore rolls it
// back, exit 1, and drops the database -create made.
func TestRestoreInterrupted(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	p := bigThroughProxy(t)
	env := jobEnv(pgpassLine("bigdb", "postgres", pg.Password, "big")+"\n", bucket, p.URL)
	if r := runJob(t, env, "big"); r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	// Every read of the object waits, so that the restore is under way
	// for a while.
	p.Add(faultproxy.Rule{Method: "GET", Path: "/big-", Times: -1, Fault: faultproxy.Fault{Delay: 300 * time.Millisecond}})
	db, conn := restoreTarget(t)
	cmd := exec.Command(filepath.Join(binDir, "iron-streaming-backup"), "restore", "big", "-into", conn, "-create")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !databaseExists(t, db) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "error: big: ") {
		t.Errorf("restore after SIGTERM: %v\n%s", err, stderr.String())
	}
	if databaseExists(t, db) {
		t.Errorf("the interrupted restore left database %s", db)
	}
}

package main

// What a dump may do to whoever restores it: every test here is an attack
// by the owner of a backed-up database, made through the real job and
// verify -restore-into against the real servers.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// restorer is a least-privileged role as the README's recipe sets one up,
// with a new scratch database that it owns and nothing else; it returns
// the database's name and the connection string of -restore-into.
func restorer(t *testing.T) (db, conn string) {
	t.Helper()
	db = fmt.Sprintf("scratch_%d", restoreSeq.Add(1))
	if _, err := pg.Psql(t.Context(), "postgres", "CREATE ROLE r_"+db+" LOGIN; CREATE DATABASE "+db+" OWNER r_"+db); err != nil {
		t.Fatal(err)
	}
	return db, fmt.Sprintf("host=%s port=%d dbname=%s user=r_%s", pg.SocketDir, pg.Port, db, db)
}

// superuserScratch is a new scratch database and the superuser's
// connection string to it.
func superuserScratch(t *testing.T) (db, conn string) {
	t.Helper()
	db = fmt.Sprintf("scratch_su_%d", restoreSeq.Add(1))
	if err := pg.CreateDatabase(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return db, fmt.Sprintf("host=%s port=%d dbname=%s user=%s", pg.SocketDir, pg.Port, db, pg.User)
}

func relations(t *testing.T, db string) string {
	t.Helper()
	out, err := pg.Psql(t.Context(), db, "SELECT count(*) FROM pg_class WHERE relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) AND relname NOT LIKE 'pg_toast%'")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var tenantSeq atomic.Int64

// tenantDatabase makes a database owned by a login of its own, runs sql
// in it as that owner, and returns the job's list line for it.
func tenantDatabase(t *testing.T, sql string) (db, line string) {
	t.Helper()
	n := tenantSeq.Add(1)
	db, user := fmt.Sprintf("tenant%d", n), fmt.Sprintf("tenant%d_owner", n)
	pw := fmt.Sprintf("tenant-pw-%d", n)
	if err := pg.CreateUser(t.Context(), user, pw); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(t.Context(), "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", db, user)); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(t.Context(), db, "SET ROLE "+user+";\n"+sql); err != nil {
		t.Fatal(err)
	}
	return db, pgpassLine(db, user, pw, db)
}

// TestVerifyRestoreRole: -restore-into refuses a superuser unless the
// dump is trusted, and restores as the documentation's restore role.
func TestVerifyRestoreRole(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "role")
	env, _ := freshBackup(t, "role")

	db, conn := superuserScratch(t)
	r := runJob(t, env, "verify", "-restore-into", conn, "db1")
	if r.code != 2 || !strings.Contains(r.stderr, `error: refused: the restoring role "postgres" is a superuser`) ||
		!strings.Contains(r.stderr, "hint: as a superuser: CREATE ROLE restorer LOGIN") {
		t.Errorf("verify -restore-into as a superuser: exit %d:\n%s", r.code, r.stderr)
	}
	if n := relations(t, db); n != "0" {
		t.Errorf("a refused restore left %s relations", n)
	}

	r = runJob(t, env, "verify", "-restore-into", conn, "-trust-dump", "db1")
	if r.code != 0 || !strings.Contains(r.stderr, `warning: -trust-dump: restoring as postgres, which is a superuser`) ||
		!strings.Contains(r.stderr, "restored and row counts compared") {
		t.Fatalf("verify -restore-into -trust-dump: exit %d:\n%s", r.code, r.stderr)
	}

	// The restore is rolled back once its rows are counted: the scratch
	// database is empty again, ready for the next run.
	db, conn = restorer(t)
	for range 2 {
		r = runJob(t, env, "verify", "-restore-into", conn, "db1")
		if r.code != 0 || !strings.Contains(r.stderr, "restored and row counts compared") || strings.Contains(r.stderr, "warning") {
			t.Fatalf("verify -restore-into as the restore role: exit %d:\n%s", r.code, r.stderr)
		}
		if n := relations(t, db); n != "0" {
			t.Errorf("verify left %s relations in the scratch database", n)
		}
	}
	// A restore role that owns another database could change it.
	if _, err := pg.Psql(t.Context(), "postgres", "CREATE DATABASE "+db+"_other OWNER r_"+db); err != nil {
		t.Fatal(err)
	}
	r = runJob(t, env, "verify", "-restore-into", conn, "db1")
	if r.code != 2 || !strings.Contains(r.stderr, "owns or may act as the owner of the databases "+db+"_other") {
		t.Errorf("a restore role that owns another database: exit %d:\n%s", r.code, r.stderr)
	}

	if r := runJob(t, env, "verify", "-trust-dump", "db1"); r.code != 2 || !strings.Contains(r.stderr, "-trust-dump is for -restore-into") {
		t.Errorf("-trust-dump alone: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestVerifyTrojan: the owner of a database puts COPY … TO PROGRAM in a
// function that a CHECK constraint calls. Before, verify -restore-into as
// a superuser (the only way plain dumps restored, because of ALTER …
// OWNER) ran it: a shell on the database server, exit 0.
func TestVerifyTrojan(t *testing.T) {
	t.Parallel() // its own folder and databases
	dir, err := os.MkdirTemp("", "trojan-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777) // the server runs the program as the postgres system user
	marker := filepath.Join(dir, "pwned")
	clearFolder(t, "backups", "trojan")
	// It tries whenever it runs as anyone but its owner; as its owner it
	// lets the rows in, so that the backup holds them.
	db, line := tenantDatabase(t, fmt.Sprintf(`
CREATE FUNCTION public.ok(int) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	IF current_user NOT LIKE 'tenant%%' THEN
		EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('cat >/dev/null; touch %s');
	END IF;
	RETURN true;
END $f$;
CREATE TABLE public.victim (id int CHECK (public.ok(id)));
INSERT INTO public.victim VALUES (1), (2);
`, marker))
	env := jobEnv(line, "backups", "", "S3_PREFIX=trojan")
	if r := runJob(t, env, db); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}

	// The default path as a superuser: refused before anything runs.
	sdb, sconn := superuserScratch(t)
	r := runJob(t, env, "verify", "-restore-into", sconn, db)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("verify -restore-into ran the tenant's program on the database server:\n%s", r.stderr)
	}
	if r.code != 2 || !strings.Contains(r.stderr, "is a superuser") {
		t.Errorf("verify -restore-into as a superuser: exit %d:\n%s", r.code, r.stderr)
	}
	// As the restore role: the program is not run; the restore fails and
	// commits nothing.
	rdb, rconn := restorer(t)
	r = runJob(t, env, "verify", "-restore-into", rconn, db)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the restore role ran the tenant's program:\n%s", r.stderr)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "pg_execute_server_program") {
		t.Errorf("verify -restore-into as the restore role: exit %d:\n%s", r.code, r.stderr)
	}
	if n := relations(t, rdb); n != "0" {
		t.Errorf("a failed restore left %s relations", n)
	}
	// Trusted, as a superuser, it runs: the trojan is real.
	runJob(t, env, "verify", "-restore-into", sconn, "-trust-dump", db)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the test proves nothing: the trojan did not run for a trusting superuser either (%v)", err)
	}
	_ = sdb
}

// TestVerifyCreateDump: a dump made with --clean --create drops and
// recreates the database it came from and \connects to it. The job no
// longer makes one, and a restore refuses one before it is sent.
func TestVerifyCreateDump(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "create")
	env := jobEnv(twoDatabases(), "backups", "", "S3_PREFIX=create", "PG_DUMP_ARGS=--clean --if-exists --create")
	if r := runJob(t, env, "db1"); r.code != 2 || !strings.Contains(r.stderr, `"--clean" (--clean) is refused`) {
		t.Errorf("backup with --create: exit %d:\n%s", r.code, r.stderr)
	}

	prod, line := tenantDatabase(t, "CREATE TABLE live (v text); INSERT INTO live VALUES ('written after the backup');")
	cmd := pg.Command(t.Context(), "pg_dump", "--clean", "--if-exists", "--create", "-d", prod)
	plain, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte("DROP DATABASE IF EXISTS "+prod)) || !bytes.Contains(plain, []byte("\\connect")) {
		t.Fatalf("pg_dump --create wrote no DROP DATABASE and \\connect:\n%s", plain)
	}
	key := fmt.Sprintf("create/%s-%s.gz.aes", prod, time.Now().UTC().Format("20060102150405"))
	putObject(t, "backups", key, runPipeIn(t, plain, "gzip | openssl enc -e -aes-256-cbc -md sha256 -pass file:KEYFILE"))
	env = jobEnv(line, "backups", "", "S3_PREFIX=create")
	_, rconn := restorer(t)
	_, sconn := superuserScratch(t)
	for _, args := range [][]string{{"-restore-into", rconn}, {"-restore-into", sconn, "-trust-dump"}} {
		r := runJob(t, env, append(append([]string{"verify"}, args...), prod)...)
		if r.code != 1 || !strings.Contains(r.stderr, "refused: the dump holds DROP DATABASE") {
			t.Errorf("verify %q of a --create dump: exit %d:\n%s", args, r.code, r.stderr)
		}
		if out, err := pg.Psql(t.Context(), prod, "SELECT v FROM live"); err != nil || out != "written after the backup" {
			t.Fatalf("the live database was replaced: %q %v", out, err)
		}
	}
}

// TestClientOnlyEncodingBackup: an owner sets client_encoding to SJIS or
// BIG5 and standard_conforming_strings off for the database, and comments
// a table with a character that ends in a backslash byte. Every backup
// used to fail as incomplete; now it counts, and restores equal.
func TestClientOnlyEncodingBackup(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "enc")
	for _, tc := range []struct{ enc, chars string }{{"SJIS", "ソ表"}, {"BIG5", "許功"}} {
		t.Run(tc.enc, func(t *testing.T) {
			db, line := tenantDatabase(t, fmt.Sprintf(`
CREATE TABLE public.t (v text);
INSERT INTO public.t SELECT '%[1]s' || i FROM generate_series(1, 5) i;
COMMENT ON TABLE public.t IS '%[1]s';
CREATE TABLE public.u (v text);
INSERT INTO public.u VALUES (E'\\%[1]s''');
COMMENT ON TABLE public.u IS 'x%[1]s';
`, tc.chars))
			if _, err := pg.Psql(t.Context(), "postgres", fmt.Sprintf("ALTER DATABASE %[1]s SET client_encoding = '%[2]s'; ALTER DATABASE %[1]s SET standard_conforming_strings = off;", db, tc.enc)); err != nil {
				t.Fatal(err)
			}
			env := jobEnv(line, "backups", "", "S3_PREFIX=enc")
			if r := runJob(t, env, db); r.code != 0 {
				t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
			}
			key := backupKey(t, objects(t, "backups"), "enc/"+db, ".gz.aes")
			rows := readManifest(t, "backups", key)["backup"].(map[string]any)["rows"]
			if fmt.Sprint(rows) != "map[public.t:5 public.u:1]" {
				t.Errorf("manifest rows %v", rows)
			}
			_, conn := restorer(t)
			if r := runJob(t, env, "verify", "-restore-into", conn, db); r.code != 0 || !strings.Contains(r.stderr, "2 tables, 6 rows") {
				t.Fatalf("verify -restore-into: exit %d:\n%s", r.code, r.stderr)
			}
		})
	}
}

// TestPsqlVariableInDump: a view over a table named "USER" dumps as
// a[1:"USER".n], which psql rewrites with its variable USER. The restore
// runs no psql: the view comes back as it was.
func TestPsqlVariableInDump(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "vars")
	db, line := tenantDatabase(t, `
CREATE TABLE "USER" (n int);
INSERT INTO "USER" VALUES (1);
CREATE TABLE public.t (a int[]);
INSERT INTO public.t VALUES (ARRAY[1, 2, 3]);
CREATE VIEW public.v AS SELECT t.a[1 : "USER".n] AS s FROM public.t, "USER";
`)
	env := jobEnv(line, "backups", "", "S3_PREFIX=vars")
	if r := runJob(t, env, db); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}
	_, conn := restorer(t)
	// Before, psql made the view's text a[1"postgres".n] and the restore
	// failed on it.
	if r := runJob(t, env, "verify", "-restore-into", conn, db); r.code != 0 || !strings.Contains(r.stderr, "restored and row counts compared") {
		t.Fatalf("verify -restore-into: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestDocsRestoreRole runs the restore-role recipe of docs/restore.md as written,
// with the server's address in PGHOST and PGPORT and the job's settings.
func TestDocsRestoreRole(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "recipe")
	env, _ := freshBackup(t, "recipe")
	lines := docBlockLines(t, "# recipe: restore role")
	if len(lines) != 3 {
		t.Fatalf("the documentation's recipe: %q", lines)
	}
	env = append(env, "PGHOST="+pg.SocketDir, "PGPORT="+strconv.Itoa(pg.Port), "PGUSER="+pg.User)
	for _, l := range lines {
		cmd := exec.CommandContext(t.Context(), "bash", "-c", l)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", l, err, out)
		}
		if strings.HasPrefix(l, "iron-streaming-backup") && !strings.Contains(string(out), "restored and row counts compared") {
			t.Errorf("%s:\n%s", l, out)
		}
	}
	if n := relations(t, "scratch"); n != "0" {
		t.Errorf("verify left %s relations in the scratch database", n)
	}
}

// TestVerifyCustomRestore: a custom dump is restored through the same
// statement-by-statement restore, rolled back, with row counts. An archive
// whose entries were edited to hold a COMMIT (pg_restore into a database
// sent each entry as one query, so a --single-transaction restore that
// failed later had committed what came before) commits nothing.
func TestVerifyCustomRestore(t *testing.T) {
	t.Parallel() // its own folder and databases
	clearFolder(t, "backups", "custom")
	first, second := strings.Repeat("C", 40), strings.Repeat("D", 40)
	db, line := tenantDatabase(t, "CREATE TABLE public.t (v int); INSERT INTO public.t VALUES (1), (2); COMMENT ON TABLE public.t IS '"+first+
		"'; CREATE TABLE public.u (v int); COMMENT ON TABLE public.u IS '"+second+"';")
	env := jobEnv(line, "backups", "", "S3_PREFIX=custom", "DUMP_FORMAT=custom")
	if r := runJob(t, env, db); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}
	scratch, conn := restorer(t)
	r := runJob(t, env, "verify", "-restore-into", conn, db)
	if r.code != 0 || !strings.Contains(r.stderr, "2 tables, 2 rows") || !strings.Contains(r.stderr, "restored and row counts compared") {
		t.Fatalf("verify -restore-into of a custom dump: exit %d:\n%s", r.code, r.stderr)
	}
	if n := relations(t, scratch); n != "0" {
		t.Errorf("verify left %s relations in the scratch database", n)
	}

	key := backupKey(t, objects(t, "backups"), "custom/"+db, ".dump.gz.aes")
	archive := runPipe(t, "s3get s3://backups/"+key+" | openssl enc -d -aes-256-cbc -md sha256 -pass file:KEYFILE | gzip -d")
	// Same lengths, so that the archive stays readable.
	edit := func(old, new string) {
		t.Helper()
		new += strings.Repeat(old[:1], len(old)-len(new))
		if !bytes.Contains(archive, []byte(old)) {
			t.Fatal("the archive does not hold the text to edit")
		}
		archive = bytes.Replace(archive, []byte(old), []byte(new), 1)
	}
	edit(first, "x'; COMMIT; SELECT '")
	edit(second, "x' syntax error '")
	putObject(t, "backups", key, runPipeIn(t, archive, "gzip | openssl enc -e -aes-256-cbc -md sha256 -pass file:KEYFILE"))
	deleteObject(t, "backups", key+".manifest.json")
	r = runJob(t, env, "verify", "-restore-into", conn, db)
	if r.code != 1 || !strings.Contains(r.stderr, "syntax error") {
		t.Errorf("verify -restore-into of an edited archive: exit %d:\n%s", r.code, r.stderr)
	}
	if n := relations(t, scratch); n != "0" {
		t.Errorf("a failed restore left %s relations: the edited archive's COMMIT committed", n)
	}
}

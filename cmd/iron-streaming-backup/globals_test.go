package main

// The globals (DUMP_GLOBALS=true): pg_dumpall --globals-only beside every
// dump, as on a managed service whose login is not a superuser.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// The login of a managed service: CREATEDB CREATEROLE, not a superuser,
// owner of the database it backs up. Its password has the characters
// libpq's pgpass format escapes.
const (
	gAdmin   = "g_admin"
	gAdminPW = `g_adm:in\pa55-word`
	gReader  = "g_reader"
	gOwner   = "g_owner"
	gDB      = "gdb"
)

var (
	globalsOnce sync.Once
	globalsErr  error
)

// globalsDatabase makes, as the managed login would, a role that owns a
// schema and its table, a login that is a member of it with a setting of
// its own, and a database owned by the managed login.
func globalsDatabase(t *testing.T) {
	t.Helper()
	globalsOnce.Do(func() {
		ctx := context.Background()
		if globalsErr = pg.CreateUser(ctx, gAdmin, gAdminPW); globalsErr != nil {
			return
		}
		if _, globalsErr = pg.Psql(ctx, "postgres", `
ALTER ROLE `+gAdmin+` CREATEDB CREATEROLE;
SET ROLE `+gAdmin+`;
CREATE ROLE `+gOwner+` NOLOGIN;
GRANT `+gOwner+` TO `+gAdmin+`;
CREATE ROLE `+gReader+` LOGIN PASSWORD 'reader-pw-7c1' IN ROLE `+gOwner+`;
ALTER ROLE `+gReader+` SET work_mem = '8MB';
CREATE DATABASE `+gDB+`;
`); globalsErr != nil {
			return
		}
		_, globalsErr = pg.Psql(ctx, gDB, `
SET ROLE `+gAdmin+`;
CREATE TABLE admin_notes (id int PRIMARY KEY, note text);
INSERT INTO admin_notes SELECT i, 'note ' || i FROM generate_series(1, 100) i;
CREATE SCHEMA owned AUTHORIZATION `+gOwner+`;
CREATE TABLE owned.items (id int PRIMARY KEY, name text);
INSERT INTO owned.items SELECT i, 'item ' || i FROM generate_series(1, 500) i;
ALTER TABLE owned.items OWNER TO `+gOwner+`;
GRANT SELECT ON owned.items TO `+gReader+`;
`)
	})
	if globalsErr != nil {
		t.Fatal(globalsErr)
	}
}

// rolesQuery describes the test's roles: attributes, memberships, settings.
const rolesQuery = `
SELECT r.rolname, r.rolsuper, r.rolcanlogin, r.rolcreatedb, r.rolcreaterole,
  (SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
  (SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0)
FROM pg_roles r WHERE r.rolname IN ('g_admin', 'g_owner', 'g_reader') ORDER BY 1`

const passwordsQuery = `SELECT rolname, coalesce(rolpassword, 'NULL') FROM pg_authid WHERE rolname IN ('g_admin', 'g_reader') ORDER BY 1`

// restoreGlobals runs the stock restore of a globals object into the
// cluster c as its superuser, and returns psql's errors.
func restoreGlobals(t *testing.T, c *testenv.Postgres, key string) []string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(encPass+"\n"), 0o600)
	line := "s3get s3://backups/" + key + " | openssl enc -d -aes-256-cbc -pass file:" + keyFile + " | gzip -d | psql -X -q -d postgres"
	cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", line)
	cmd.Env = append(jobEnv("", "", ""), c.SocketEnv()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, stderr.String())
	}
	var errs []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "ERROR:") {
			errs = append(errs, l[strings.Index(l, "ERROR:"):])
		}
	}
	return errs
}

// fullDump is pg_dump of a database with its owners and privileges,
// without the \restrict lines.
func fullDump(t *testing.T, c *testenv.Postgres, db string) string {
	t.Helper()
	return clusterDump(t, c, db)
}

// clusterDump is pg_dump of database db of the cluster c with args,
// without the \restrict lines (a new key each run). db reaches pg_dump
// as a name only, whatever it holds.
func clusterDump(t *testing.T, c *testenv.Postgres, db string, args ...string) string {
	t.Helper()
	out, err := c.Command(t.Context(), "pg_dump", append(args, "-d", "dbname='"+db+"'")...).Output()
	if err != nil {
		t.Fatalf("pg_dump %s: %v", db, err)
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if !strings.HasPrefix(l, `\restrict `) && !strings.HasPrefix(l, `\unrestrict `) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestGlobalsRestoreRoles: the managed login's backup holds the roles
// (without their passwords, which it may not read, and says so), they
// restore into a fresh cluster with stock tools, and then the database
// restores with its owners and grants. A superuser's backup holds the
// passwords too. No secret reaches a child's argv or environment, or the
// log.
func TestGlobalsRestoreRoles(t *testing.T) {
	globalsDatabase(t)
	emptyBucket(t, "backups")

	// The managed login, watched for secrets in its children.
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "iron-streaming-backup"))
	cmd.Env = replaceEnv(jobEnv(pgpassLine(gDB, gAdmin, gAdminPW, "groles")+"\n", "backups", "", "DUMP_GLOBALS=true"), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, stopWatch := context.WithCancel(t.Context())
	w := &secretWatch{}
	secrets := []string{gAdminPW, encPass, srv.SecretKey}
	watched := make(chan struct{})
	go func() { w.run(ctx, cmd.Process.Pid, secrets); close(watched) }()
	err := cmd.Wait()
	stopWatch()
	<-watched
	log := stderr.String()
	t.Logf("job log:\n%s", log)
	if err != nil {
		t.Fatalf("job failed: %v", err)
	}
	for _, f := range w.findings {
		t.Error(f)
	}
	if w.children < 3 {
		t.Errorf("saw %d child processes of the job; the watch did not work", w.children)
	}
	for _, s := range append(secrets, "SCRAM-SHA-256$", "reader-pw-7c1") {
		if strings.Contains(log, s) {
			t.Errorf("the job's log contains a secret (%.6s…)", s)
		}
	}
	for _, want := range []string{
		"groles: warning: the login may not read role passwords (pg_dumpall: permission denied for table pg_authid",
		"groles: globals done: s3://backups/groles-",
		"role passwords not included: set them after a restore",
		"1 of 1 databases backed up",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the job left %s behind", left[0].Name())
	}

	keys := objects(t, "backups")
	dumpKey := backupKey(t, keys, "groles", ".gz.aes")
	globalsKey := backupKey(t, keys, "groles", ".globals.gz.aes")
	if strings.TrimSuffix(globalsKey, ".globals.gz.aes") != strings.TrimSuffix(dumpKey, ".gz.aes") {
		t.Errorf("the globals %s do not have their dump's name and time %s", globalsKey, dumpKey)
	}
	if len(keys) != 4 {
		t.Errorf("want the dump, the globals and a manifest each, bucket holds %q", keys)
	}
	m := readManifest(t, "backups", globalsKey)
	b, _ := m["backup"].(map[string]any)
	if m["key"] != globalsKey || b == nil || b["companion"] != "globals" || b["role_passwords"] != false ||
		b["database"] != gDB || !strings.HasSuffix(fmt.Sprint(b["restore_command"]), "| gzip -d | psql -d postgres") {
		t.Errorf("manifest of the globals: %v", m)
	}
	if db, _ := readManifest(t, "backups", dumpKey)["backup"].(map[string]any); db == nil || db["companion"] != nil || db["role_passwords"] != nil {
		t.Errorf("manifest of the dump: %v", db)
	}

	// A fresh cluster: the roles first, then the database, with the
	// documentation's lines as written (docs/restore.md).
	fresh, err := testenv.StartPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Stop()
	lines := docBlockLines(t, "# restore roles: gzip plain evp")
	if len(lines) != 3 || !strings.Contains(lines[0], ".globals.gz.aes") || !strings.HasPrefix(lines[1], "createdb ") {
		t.Fatalf("the documentation's restore of a server with its roles: %q", lines)
	}
	awsDir, err := testenv.FindAWS()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(encPass+"\n"), 0o600)
	put := strings.NewReplacer("s3://my-bucket/db1-20261127060000.globals.gz.aes", "s3://backups/"+globalsKey,
		"s3://my-bucket/db1-20261127060000.gz.aes", "s3://backups/"+dumpKey, "file:backup.key", "file:"+keyFile,
		"app_owner", gAdmin, "-d newdb", "-d "+gDB, " newdb", " "+gDB)
	var errs []string
	for i, l := range lines {
		line := put.Replace(l)
		if !strings.Contains(line, "backups/") && i != 1 || strings.Contains(line, "newdb") || strings.Contains(line, "my-bucket") {
			t.Fatalf("the documentation's line names no backup like the test's: %s", l)
		}
		cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", line)
		cmd.Env = append(append(os.Environ(), jobEnv("", "", "")...), "PATH="+binDir+":"+pg.BinDir+":"+os.Getenv("PATH")+":"+awsDir)
		cmd.Env = append(cmd.Env, fresh.SocketEnv()...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out.String())
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if i := strings.Index(l, "ERROR:"); i >= 0 {
				errs = append(errs, l[i:])
			}
		}
	}
	if want := []string{`ERROR:  role "postgres" already exists`}; !slices.Equal(errs, want) {
		t.Errorf("restoring the globals and the database: errors %q, want only %q", errs, want)
	}
	want, err := pg.Psql(t.Context(), "postgres", rolesQuery)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fresh.Psql(t.Context(), "postgres", rolesQuery)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || !strings.Contains(want, "g_reader|f|t|f|f|g_owner|work_mem=8MB") {
		t.Errorf("roles in the fresh cluster:\n%s\nin the source:\n%s", got, want)
	}
	if pws, _ := fresh.Psql(t.Context(), "postgres", passwordsQuery); pws != "g_admin|NULL\ng_reader|NULL" {
		t.Errorf("passwords in the fresh cluster from the managed login's globals: %q", pws)
	}
	if owner, _ := fresh.Psql(t.Context(), "postgres", "SELECT datdba::regrole FROM pg_database WHERE datname = '"+gDB+"'"); owner != gAdmin {
		t.Errorf("the restored database is owned by %q", owner)
	}
	if a, b := fullDump(t, pg, gDB), fullDump(t, fresh, gDB); a != b || !strings.Contains(a, "OWNER TO "+gOwner) || !strings.Contains(a, "TO "+gReader) {
		t.Errorf("pg_dump with owners and grants of the source (%d bytes) and of its restore (%d bytes) differ", len(a), len(b))
	}

	// verify checks the globals too; list shows them.
	env := jobEnv(pgpassLine(gDB, gAdmin, gAdminPW, "groles")+"\n", "backups", "", "DUMP_GLOBALS=true")
	r := runJob(t, env, "verify", "groles")
	if r.code != 0 || !strings.Contains(r.stderr, "; globals ok: "+globalsKey) || !strings.Contains(r.stderr, "without role passwords") {
		t.Errorf("verify: exit %d:\n%s", r.code, r.stderr)
	}
	// A damaged globals object fails the backup's verification, naming it.
	orig := getObject(t, "backups", globalsKey)
	putObject(t, "backups", globalsKey, orig[:len(orig)-40])
	r = runJob(t, env, "verify", "groles")
	putObject(t, "backups", globalsKey, orig)
	if r.code != 1 || !strings.Contains(r.stderr, "error: groles: globals "+globalsKey+": checksum mismatch") {
		t.Errorf("verify of cut globals: exit %d:\n%s", r.code, r.stderr)
	}
	r = runJob(t, env, "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^PREFIX +STARTED \(UTC\) +AGE +SIZE +MANIFEST +GLOBALS +KEY$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^groles .* yes +yes +`+regexp.QuoteMeta(dumpKey)+`$`).MatchString(r.stdout) {
		t.Errorf("list: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runJob(t, env, "list", "-json")
	var list []struct {
		Key        string
		Companions map[string]struct {
			Key      string
			Size     int64
			Manifest bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].Key != dumpKey ||
		list[0].Companions["globals"].Key != globalsKey || !list[0].Companions["globals"].Manifest || list[0].Companions["globals"].Size == 0 {
		t.Errorf("list -json: %v:\n%s", err, r.stdout)
	}

	// A superuser's globals hold the passwords: restored over the fresh
	// cluster's roles, they set them as in the source.
	emptyBucket(t, "backups")
	r = runJob(t, jobEnv(pgpassLine(gDB, "postgres", pg.Password, "gsuper")+"\n", "backups", "", "DUMP_GLOBALS=true"))
	t.Logf("superuser's job log:\n%s", r.stderr)
	if r.code != 0 || strings.Contains(r.stderr, "not included") || strings.Contains(r.stderr, "warning") {
		t.Fatalf("superuser: exit %d", r.code)
	}
	keys = objects(t, "backups")
	globalsKey = backupKey(t, keys, "gsuper", ".globals.gz.aes")
	if b, _ := readManifest(t, "backups", globalsKey)["backup"].(map[string]any); b == nil || b["role_passwords"] != true {
		t.Errorf("manifest of the superuser's globals: %v", b)
	}
	restoreGlobals(t, fresh, globalsKey)
	want, _ = pg.Psql(t.Context(), "postgres", passwordsQuery)
	got, _ = fresh.Psql(t.Context(), "postgres", passwordsQuery)
	if got != want || !strings.Contains(want, "SCRAM-SHA-256$") {
		t.Errorf("passwords after the superuser's globals differ from the source's")
	}
}

// TestGlobalsFailureKeepsDump: a pg_dumpall that dies midway, or ends
// early with status 0, or fails with its password file in its message,
// leaves no globals and no unfinished upload, fails the prefix naming the
// globals, and keeps the dump and its manifest; the message holds no
// password. pg_dumpall is the one beside PG_DUMP: a wrapper around the
// real one.
func TestGlobalsFailureKeepsDump(t *testing.T) {
	globalsDatabase(t)
	for _, tc := range []struct {
		name, script, want string
	}{
		{"killed midway", `"$REAL" "$@" | head -c 300; kill -KILL $$`, "pg_dumpall failed (signal: killed)"},
		{"cut short with status 0", `"$REAL" "$@" | head -c 300; exit 0`, `pg_dumpall exited 0 but its output lacks "-- PostgreSQL database cluster dump complete"`},
		{"password file in its message", `echo "pg_dumpall: error: cannot use $(cat "$PGPASSFILE")" >&2; exit 1`, "pg_dumpall failed (exit status 1): pg_dumpall: error: cannot use "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emptyBucket(t, "backups")
			dir := t.TempDir()
			for _, p := range []string{"pg_dump", "psql"} {
				if err := os.Symlink(pg.Bin(p), filepath.Join(dir, p)); err != nil {
					t.Fatal(err)
				}
			}
			script := "#!/bin/bash\nREAL=" + pg.Bin("pg_dumpall") + "\n" + tc.script + "\n"
			if err := os.WriteFile(filepath.Join(dir, "pg_dumpall"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			env := jobEnv(pgpassLine(gDB, gAdmin, gAdminPW, "gw")+"\n", "backups", "", "DUMP_GLOBALS=true", "PG_DUMP="+filepath.Join(dir, "pg_dump"))
			mon := newMonitorServer(t)
			r := runJob(t, append(env, "WEBHOOK_URL="+mon.URL+"/hook"))
			t.Logf("job log:\n%s", r.stderr)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			keys := objects(t, "backups")
			dumpKey := backupKey(t, keys, "gw", ".gz.aes")
			if !slices.Equal(keys, []string{dumpKey, dumpKey + ".manifest.json"}) {
				t.Errorf("bucket holds %q, want the dump and its manifest alone", keys)
			}
			if n := uploadsInProgress(t, "backups"); n != 0 {
				t.Errorf("%d unfinished multipart uploads left", n)
			}
			// The webhook names the kept dump beside the failure.
			reqs, _ := mon.take()
			var doc struct {
				Status    string
				Databases []struct {
					Status, Key, Error string
					PlainBytes         int64 `json:"plain_bytes"`
				}
			}
			if hooks := under(reqs, "/hook"); len(hooks) != 1 || json.Unmarshal(hooks[0].body, &doc) != nil || doc.Status != "failure" ||
				len(doc.Databases) != 1 || doc.Databases[0].Key != dumpKey || doc.Databases[0].PlainBytes == 0 ||
				!strings.HasPrefix(doc.Databases[0].Error, "globals: ") {
				t.Errorf("webhook: %d requests, document %+v", len(hooks), doc)
			}
			for _, want := range []string{
				"gw: done: ",
				"error: gw: globals: " + tc.want,
				"the dump s3://backups/" + dumpKey + " is complete and kept",
				"1 of 1 databases failed (gw)",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("log lacks %q", want)
				}
			}
			if strings.Contains(r.stderr, gAdminPW) || strings.Contains(r.stderr, `g_adm\:in\\pa55-word`) {
				t.Error("the log holds the password")
			}
			// The dump is a backup: it restores; verify with
			// DUMP_GLOBALS=true names what is missing.
			restoreOneLiner(t, "s3get s3://backups/"+dumpKey+" | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -X -q -d NEWDB >/dev/null")
			if r := runJob(t, env, "verify", "gw"); r.code != 1 || !strings.Contains(r.stderr, "error: gw: "+dumpKey+" has no globals beside it (DUMP_GLOBALS=true)") {
				t.Errorf("verify: exit %d:\n%s", r.code, r.stderr)
			}
		})
	}
}

// TestRestoreGlobals: restore -globals into a fresh cluster. As a
// CREATEROLE role (-globals-as) and a least-privileged owner, the roles
// come with their memberships and settings (the old login without
// CREATEROLE, said so), then the data, which the restoring role owns; a
// failed data restore drops the roles it created. As the superuser with
// -trust-dump, the roles exist already and are left as they are, and the
// data keeps its owners and grants: pg_dump of the source and of the
// restore are equal.
func TestRestoreGlobals(t *testing.T) {
	globalsDatabase(t)
	emptyBucket(t, "backups")
	env := jobEnv(pgpassLine(gDB, "postgres", pg.Password, "gcmd")+"\n", "backups", "", "DUMP_GLOBALS=true")
	if r := runJob(t, env); r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	fresh, err := testenv.StartPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Stop()
	if _, err := fresh.Psql(t.Context(), "postgres", "CREATE ROLE restorer LOGIN CREATEDB"); err != nil {
		t.Fatal(err)
	}
	// The documentation's recipe (docs/restore.md), for this backup and
	// cluster.
	recipe := docBlockLines(t, "# recipe: restore command with roles")
	if len(recipe) != 2 {
		t.Fatalf("the documentation's recipe: %q", recipe)
	}
	put := strings.NewReplacer("restore db1 ", "restore gcmd ", "db1_restored", "least", "db1_restorer", "restorer")
	runRecipe := func(line string) jobRun {
		cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", put.Replace(line))
		cmd.Env = append(slices.Clone(env), "PGHOST="+fresh.SocketDir, "PGPORT="+strconv.Itoa(fresh.Port), "PGUSER="+fresh.User)
		return runCmd(t, cmd)
	}
	conn := func(user, db string) string {
		return fmt.Sprintf("host=%s port=%d dbname=%s user=%s", fresh.SocketDir, fresh.Port, db, user)
	}

	// Without a role that may create roles: refused before anything.
	r := runJob(t, env, "restore", "gcmd", "-into", conn("restorer", "least"), "-create", "-globals")
	if r.code != 2 || !strings.Contains(r.stderr, `-globals: refused: the role cannot create roles: the role "restorer" has neither CREATEROLE nor SUPERUSER`) ||
		!strings.Contains(r.stderr, "-globals-as") {
		t.Errorf("-globals as a role without CREATEROLE: exit %d\n%s", r.code, r.stderr)
	}
	if n, _ := fresh.Psql(t.Context(), "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'g\\_%'"); n != "0" {
		t.Fatalf("a refused restore created %s roles", n)
	}

	if r := runRecipe(recipe[0]); r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", recipe[0], r.code, r.stderr)
	}

	// A data restore that fails (a table of the target's name is there
	// already, owned by another role) drops the roles the globals made.
	if _, err := fresh.Psql(t.Context(), "postgres", "CREATE DATABASE least OWNER restorer"); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Psql(t.Context(), "least", "CREATE TABLE admin_notes (x int); ALTER TABLE admin_notes OWNER TO role_admin"); err != nil {
		t.Fatal(err)
	}
	r = runJob(t, env, "restore", "gcmd", "-into", conn("restorer", "least"), "-clean", "-globals", "-globals-as", conn("role_admin", "postgres"))
	if r.code == 0 || !strings.Contains(r.stderr, "gcmd: restored the roles of s3://backups/gcmd-") {
		t.Errorf("restore into a database holding another role's table: exit %d\n%s", r.code, r.stderr)
	}
	if n, _ := fresh.Psql(t.Context(), "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'g\\_%'"); n != "0" {
		t.Errorf("the failed restore left %s of the roles it created", n)
	}
	if _, err := fresh.Psql(t.Context(), "postgres", "DROP DATABASE least"); err != nil {
		t.Fatal(err)
	}

	r = runRecipe(recipe[1])
	t.Logf("%s:\n%s", recipe[1], r.stderr)
	if r.code != 0 {
		t.Fatalf("restore -globals: exit %d", r.code)
	}
	for _, want := range []string{
		`gcmd: warning: globals: role "postgres" exists: left as it is`,
		`gcmd: warning: globals: role "g_admin" not given CREATEROLE`,
		"gcmd: restored the roles of s3://backups/gcmd-",
		"row counts match the dump's",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "SCRAM-SHA-256$") {
		t.Error("the log holds a password hash")
	}
	// The source's cluster has the other tests' roles too.
	if !regexp.MustCompile(`restored the roles of s3://backups/gcmd-\d{14}\.globals\.gz\.aes: created (\w+, )*g_admin, g_owner, g_reader(, \w+)*;`).MatchString(r.stderr) {
		t.Error("the log does not name the roles created")
	}
	want, _ := pg.Psql(t.Context(), "postgres", rolesQuery)
	want = strings.Replace(want, "g_admin|f|t|t|t|", "g_admin|f|t|t|f|", 1) // no CREATEROLE
	if got, _ := fresh.Psql(t.Context(), "postgres", rolesQuery); got != want {
		t.Errorf("roles restored by the least-privileged restore:\n%s\nwant\n%s", got, want)
	}
	if got, want := fullDump(t, fresh, "least"), fullDump(t, pg, gDB); got == want || !strings.Contains(got, "OWNER TO restorer") {
		t.Errorf("the least-privileged restore kept the dump's owners")
	}
	wantPW, _ := pg.Psql(t.Context(), "postgres", passwordsQuery)
	if got, _ := fresh.Psql(t.Context(), "postgres", passwordsQuery); got != wantPW || !strings.Contains(got, "SCRAM-SHA-256$") {
		t.Errorf("passwords of the created roles differ from the source's")
	}

	// As the superuser, trusting the dump: the roles are there now and
	// left alone (a changed password stays), the data keeps its owners.
	if _, err := fresh.Psql(t.Context(), "postgres", "ALTER ROLE g_reader PASSWORD 'changed-here'"); err != nil {
		t.Fatal(err)
	}
	changed, _ := fresh.Psql(t.Context(), "postgres", passwordsQuery)
	r = runJob(t, append(env, fresh.SocketEnv()...), "restore", "gcmd", "-into", conn("postgres", gDB), "-create", "-globals", "-trust-dump")
	if r.code != 0 || !strings.Contains(r.stderr, "created none;") {
		t.Fatalf("restore -globals -trust-dump: exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := fresh.Psql(t.Context(), "postgres", passwordsQuery); got != changed {
		t.Error("-globals changed an existing role's password without -globals-passwords")
	}
	if a, b := fullDump(t, pg, gDB), fullDump(t, fresh, gDB); a != b || !strings.Contains(a, "OWNER TO "+gOwner) || !strings.Contains(a, "TO "+gReader) {
		t.Errorf("pg_dump with owners and grants of the source (%d bytes) and of its restore (%d bytes) differ", len(a), len(b))
	}
	// -globals-passwords sets them as they were.
	if _, err := fresh.Psql(t.Context(), "postgres", "CREATE ROLE restorer2 LOGIN CREATEDB"); err != nil {
		t.Fatal(err)
	}
	r = runJob(t, env, "restore", "gcmd", "-into", conn("restorer2", "again"), "-create", "-globals", "-globals-passwords", "-globals-as", conn("role_admin", "postgres"))
	if r.code != 0 {
		t.Fatalf("restore -globals-passwords: exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := fresh.Psql(t.Context(), "postgres", passwordsQuery); got != wantPW {
		t.Error("-globals-passwords left the existing role's password")
	}

	// The dry run prints the globals' one-liner first.
	r = runJob(t, env, "restore", "gcmd", "-into", conn("restorer", "x"), "-globals", "-dry-run")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 ||
		!strings.Contains(lines[0], ".globals.gz.aes - |") || !strings.HasSuffix(lines[0], "| psql -d postgres") {
		t.Errorf("-globals -dry-run: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

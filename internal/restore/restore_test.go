package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

var pg *testenv.Postgres

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	defer testenv.StopAll()
	var err error
	if pg, err = testenv.StartPostgres(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		return 1
	}
	// The tenant owns the dumped databases and writes what is in them;
	// the restorer is the least-privileged role docs/restore.md sets up.
	if _, err := pg.Psql(context.Background(), "postgres", `
CREATE ROLE tenant LOGIN;
CREATE ROLE restorer LOGIN;
`); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var dbSeq atomic.Int32

// database creates a database owned by owner and runs sql in it as owner.
// A database for "restorer" gets a least-privileged owner of its own,
// named "r_" and the database's name, as the README's recipe sets one up:
// a restore role that owns other databases is refused.
func database(t *testing.T, owner, sql string) string {
	t.Helper()
	name := fmt.Sprintf("db%d", dbSeq.Add(1))
	if owner == "restorer" {
		owner = "r_" + name
		if _, err := pg.Psql(t.Context(), "postgres", "CREATE ROLE "+owner+" LOGIN"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.Psql(t.Context(), "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, owner)); err != nil {
		t.Fatal(err)
	}
	if sql != "" {
		if _, err := pg.Psql(t.Context(), name, "SET ROLE "+owner+";\n"+sql); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

func connString(user, db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s", pg.SocketDir, pg.Port, user, db)
}

func dump(t *testing.T, db string, args ...string) []byte {
	t.Helper()
	cmd := pg.Command(t.Context(), "pg_dump", append(args, "-d", db)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, stderr.String())
	}
	return out.Bytes()
}

// restore writes dump into a Plain over a connection as user to db, in
// pieces, and commits it when the dump is complete.
func restore(t *testing.T, user, db string, dump []byte, trusted bool) (*Plain, error) {
	t.Helper()
	conn, err := Connect(t.Context(), connString(user, db))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlain(t.Context(), conn, Options{Trusted: trusted, Ending: dumpstat.Complete})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for rest := dump; len(rest) > 0; {
		n := min(len(rest), 7777)
		if _, err := p.Write(rest[:n]); err != nil {
			return p, err
		}
		rest = rest[n:]
	}
	if !p.Counter().Complete() {
		return p, errors.New("incomplete")
	}
	return p, p.Commit()
}

var restrictRE = regexp.MustCompile(`(?m)^\\(un)?restrict .*$`)

// schemaAndData is a database's dump without owners, privileges and the
// per-dump \restrict keys: what a least-privileged restore must keep.
func schemaAndData(t *testing.T, db string) string {
	return restrictRE.ReplaceAllString(string(dump(t, db, "--no-owner", "--no-privileges")), "")
}

// tenantSQL is a database as its owner makes it: a schema, generated and
// array columns, a sequence, a view whose text psql would rewrite
// (pg_dump writes a[1:"USER".n], and psql reads :"USER" as its variable
// USER; written here with spaces, which psql leaves alone), SQL-standard and plpgsql functions, a trigger, a
// large object, grants and comments.
const tenantSQL = `
CREATE SCHEMA app;
CREATE TABLE app.t (id serial PRIMARY KEY, v text, g int GENERATED ALWAYS AS (id * 2) STORED, a int[]);
INSERT INTO app.t (v, a) SELECT 'row ' || i || E'\t\\ ''q''', ARRAY[i, i + 1] FROM generate_series(1, 50) i;
CREATE TABLE "USER" (n int);
INSERT INTO "USER" VALUES (1);
CREATE VIEW app.v AS SELECT t.a[1 : "USER".n] AS s FROM app.t, "USER";
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT a + b; SELECT CASE WHEN a > 0 THEN a ELSE b END; END;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := NEW.v || ''; RETURN NEW; END$$;
CREATE TRIGGER touch BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch();
SELECT lo_from_bytea(0, 'a large object');
GRANT USAGE ON SCHEMA app TO PUBLIC;
GRANT SELECT ON app.t TO restorer;
COMMENT ON TABLE app.t IS 'it''s a table';
`

func TestPlainRestoresAsOwner(t *testing.T) {
	t.Parallel()
	src := database(t, "tenant", tenantSQL)
	d := dump(t, src)
	if !bytes.Contains(d, []byte(`[1:"USER".n]`)) || !bytes.Contains(d, []byte("BEGIN ATOMIC")) || !bytes.Contains(d, []byte("OWNER TO tenant")) {
		t.Fatalf("the dump lacks what the test is about:\n%s", d)
	}
	dst := database(t, "restorer", "")
	p, err := restore(t, "r_"+dst, dst, d, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Skipped == 0 || p.Sent == 0 {
		t.Errorf("sent %d, skipped %d", p.Sent, p.Skipped)
	}
	if got, want := schemaAndData(t, dst), schemaAndData(t, src); got != want {
		t.Errorf("restored database differs:\n%s\nsource:\n%s", got, want)
	}
	conn, err := Connect(t.Context(), connString("r_"+dst, dst))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := CountRows(t.Context(), conn, p.Counter().Tables())
	if err != nil || rows[`app.t`] != 50 || rows[`public."USER"`] != 1 {
		t.Errorf("rows %v, %v", rows, err)
	}
	// The restorer owns what it restored: ownership was left out.
	if out, _ := pg.Psql(t.Context(), dst, `SELECT tableowner FROM pg_tables WHERE tablename = 't'`); out != "r_"+dst {
		t.Errorf("app.t is owned by %q", out)
	}
}

func TestPlainTrustedKeepsOwners(t *testing.T) {
	t.Parallel()
	src := database(t, "tenant", tenantSQL)
	dst := database(t, "postgres", "")
	if _, err := restore(t, pg.User, dst, dump(t, src), true); err != nil {
		t.Fatal(err)
	}
	if out, _ := pg.Psql(t.Context(), dst, `SELECT tableowner FROM pg_tables WHERE tablename = 't'`); out != "tenant" {
		t.Errorf("app.t is owned by %q", out)
	}
}

// markerDir is a folder the server (the postgres system user) may write
// in, for the programs a hostile dump would run.
func markerDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "restore-marker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	return dir
}

// TestTrojanCheck: a tenant's CHECK constraint runs COPY … TO PROGRAM
// when whoever restores may. Restored by the trusted path as a
// superuser it runs (what the default path must never do); as the
// least-privileged restorer nothing runs.
func TestTrojanCheck(t *testing.T) {
	t.Parallel()
	dir := markerDir(t)
	for _, tc := range []struct {
		name string
		cond string // when the trojan tries
	}{
		{"only where it can", "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"},
		{"always", "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			src := database(t, "tenant", fmt.Sprintf(`
CREATE FUNCTION public.ok(int) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	IF %s THEN
		EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('cat >/dev/null; touch %s');
	END IF;
	RETURN true;
END $f$;
CREATE TABLE public.victim (id int CHECK (public.ok(id)));
`, tc.cond, marker))
			// The tenant may not run programs, so the rows go in another way.
			if _, err := pg.Psql(t.Context(), src, "ALTER TABLE public.victim DISABLE TRIGGER ALL; SET session_replication_role = replica; INSERT INTO public.victim SELECT 1 WHERE false;"); err != nil {
				t.Fatal(err)
			}
			d := bytes.Replace(dump(t, src), []byte("COPY public.victim (id) FROM stdin;\n"), []byte("COPY public.victim (id) FROM stdin;\n1\n2\n"), 1)

			dst := database(t, "restorer", "")
			_, err := restore(t, "r_"+dst, dst, d, false)
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatalf("the least-privileged restore ran the tenant's program (restore: %v)", err)
			}
			if tc.cond == "true" && (err == nil || !strings.Contains(err.Error(), "pg_execute_server_program")) {
				t.Errorf("restore: %v, want a refusal to run programs", err)
			}
			if tc.cond != "true" && err != nil {
				t.Errorf("restore: %v", err)
			}

			// The same dump restored by a superuser who trusts it runs
			// the program: the trojan is real.
			trusting := database(t, "postgres", "")
			if _, err := restore(t, pg.User, trusting, d, true); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(marker); err != nil {
				t.Fatalf("the test proves nothing: the trojan did not run as a superuser either: %v", err)
			}
			os.Remove(marker)
		})
	}
}

func TestCheckRole(t *testing.T) {
	t.Parallel()
	if _, err := pg.Psql(t.Context(), "postgres", `
CREATE ROLE r_creator LOGIN CREATEROLE;
CREATE ROLE r_program LOGIN; GRANT pg_execute_server_program TO r_program;
CREATE ROLE r_reader LOGIN; GRANT pg_read_server_files TO r_reader;
CREATE ROLE r_writer LOGIN; GRANT pg_write_server_files TO r_writer;
CREATE ROLE r_admin SUPERUSER NOLOGIN;
CREATE ROLE r_member LOGIN NOINHERIT; GRANT r_admin TO r_member;
CREATE ROLE r_indirect LOGIN; GRANT r_program TO r_indirect;
CREATE ROLE r_repl LOGIN REPLICATION;
CREATE ROLE r_signal LOGIN; GRANT pg_signal_backend TO r_signal;
CREATE ROLE r_dbowner NOLOGIN; CREATE ROLE r_owns LOGIN; GRANT r_dbowner TO r_owns;
CREATE DATABASE r_proddb OWNER r_dbowner;
`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role, why string
	}{
		{pg.User, "is a superuser"},
		{"r_creator", "has CREATEROLE"},
		{"r_program", "pg_execute_server_program"},
		{"r_reader", "pg_read_server_files"},
		{"r_writer", "pg_write_server_files"},
		{"r_member", "may SET ROLE to r_admin"},
		{"r_indirect", "pg_execute_server_program"},
		{"r_repl", "has REPLICATION"},
		{"r_signal", "pg_signal_backend"},
		{"r_owns", "owner of the databases r_proddb"},
		// The login is what counts: a dump may RESET ROLE.
		{pg.User + " options='-c role=restorer'", "is a superuser"},
		{"restorer", ""},
	} {
		conn, err := Connect(t.Context(), connString(tc.role, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckRole(t.Context(), conn)
		conn.Close(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rerr := r.Err()
		switch {
		case tc.why == "" && rerr != nil:
			t.Errorf("%s: %v", tc.role, rerr)
		case tc.why != "" && (rerr == nil || !strings.Contains(rerr.Error(), tc.why) || !strings.Contains(rerr.Error(), "-trust-dump") || !errors.Is(rerr, ErrRefused)):
			t.Errorf("%s: %v, want %q", tc.role, rerr, tc.why)
		}
	}
}

// TestPlainRefusesOtherDatabases: a dump made with --clean --create drops
// and recreates the database it came from and \connects to it. Restored
// anywhere, nothing of it may reach that database.
func TestPlainRefusesOtherDatabases(t *testing.T) {
	t.Parallel()
	prod := database(t, "tenant", "CREATE TABLE live (v text); INSERT INTO live VALUES ('written after the backup');")
	d := dump(t, prod, "--clean", "--if-exists", "--create")
	for _, user := range []string{"restorer", pg.User} {
		dst := database(t, user, "")
		_, err := restore(t, user, dst, d, user == pg.User)
		if err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "DROP DATABASE") {
			t.Errorf("%s: restore of a --create dump: %v", user, err)
		}
		if out, err := pg.Psql(t.Context(), prod, "SELECT v FROM live"); err != nil || out != "written after the backup" {
			t.Fatalf("the live database was touched: %q %v", out, err)
		}
		if out, _ := pg.Psql(t.Context(), dst, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"); out != "0" {
			t.Errorf("%s: the target holds %s relations after a refused restore", user, out)
		}
	}
}

// TestPlainRefuses: what a hostile dump may hold instead of pg_dump's
// output. Each is refused before it is sent, the marker program never
// runs, and nothing is committed.
func TestPlainRefuses(t *testing.T) {
	t.Parallel()
	dir := markerDir(t)
	marker := filepath.Join(dir, "pwned")
	head := "SET client_encoding = 'UTF8';\nCREATE TABLE public.first (v int);\n"
	tail := "\n--\n" + dumpstat.Complete + "\n--\n"
	for _, tc := range []struct {
		name, body, want string
	}{
		{"shell escape", `\! touch ` + marker + "\n", `psql command "\\! touch`},
		{"connect", "\\connect postgres\nDROP TABLE x;\n", `\\connect`},
		{"c", "\\c postgres\n", `\\c postgres`},
		{"copy from a file", "\\copy public.first from '/etc/passwd'\n", `\\copy`},
		{"set a variable", "\\set x 1\n", `\\set`},
		{"gexec", "SELECT 'DROP TABLE public.first'\n\\gexec\n;\n", `\\gexec`},
		{"restrict inside a statement", "SELECT 1\n\\restrict abc\n;\n", `\\restrict`},
		{"restrict with more", "\\restrict abc \\! touch " + marker + "\n", `\\restrict`},
		{"a semicolon forced into a statement", "SELECT 1 \\; SELECT 2;\n", `\\;`},
		{"create database", "CREATE DATABASE other;\n", "CREATE DATABASE"},
		{"drop database", "DROP DATABASE IF EXISTS postgres;\n", "DROP DATABASE"},
		{"alter database", "ALTER DATABASE postgres CONNECTION LIMIT 0;\n", "ALTER DATABASE"},
		{"alter role", "ALTER ROLE postgres PASSWORD 'x';\n", "ALTER ROLE"},
		{"create user", "CREATE USER x SUPERUSER;\n", "CREATE USER"},
		{"alter system", "ALTER SYSTEM SET work_mem = '1GB';\n", "ALTER SYSTEM"},
		{"copy to a program", "COPY (SELECT 1) TO PROGRAM 'touch " + marker + "';\n", "COPY"},
		{"copy from a program", "COPY public.first FROM PROGRAM 'touch " + marker + "';\n", "COPY"},
		{"copy with options", "COPY public.first FROM stdin WITH (FORMAT csv);\n1\n\\.\n", "COPY"},
		{"rollback", "ROLLBACK;\n", "ROLLBACK"},
		{"a DO block", "DO $$BEGIN PERFORM 1; END$$;\n", "a DO block"},
		{"text after COPY on its line", "COPY public.first (v) FROM stdin; \\! touch " + marker + "\n1\n\\.\n", "text after a COPY"},
		{"a NUL byte", "SELECT 1; \x00 'x\n\\! touch " + marker + "\n';\n", "NUL"},
		{"encoding changed behind the dump's back", "SELECT set_config('client_' || 'encoding', 'BIG5', false);\nSELECT 1;\n", "client_encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := database(t, "restorer", "")
			p, err := restore(t, "r_"+dst, dst, []byte(head+tc.body+tail), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrRefused) && !strings.Contains(tc.want, "COPY") {
				t.Errorf("restore: %v, want %q", err, tc.want)
			}
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatal("the marker program ran")
			}
			if out, _ := pg.Psql(t.Context(), dst, "SELECT count(*) FROM pg_class WHERE relname = 'first'"); out != "0" {
				t.Errorf("a refused restore committed: %q (sent %d)", out, p.Sent)
			}
		})
	}
}

// TestPlainOneTransaction: a dump cut short commits nothing, and neither
// does one whose large objects come in BEGIN … COMMIT of their own.
func TestPlainOneTransaction(t *testing.T) {
	t.Parallel()
	src := database(t, "tenant", tenantSQL)
	d := dump(t, src)
	if !bytes.Contains(d, []byte("\nBEGIN;\n")) || !bytes.Contains(d, []byte("\nCOMMIT;\n")) {
		t.Fatal("the dump has no transaction of its own for its large object")
	}
	cut := d[:bytes.Index(d, []byte("COMMIT;"))+len("COMMIT;\n")]
	dst := database(t, "restorer", "")
	conn, err := Connect(t.Context(), connString("r_"+dst, dst))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlain(t.Context(), conn, Options{Ending: dumpstat.Complete})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(cut); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if out, _ := pg.Psql(t.Context(), dst, "SELECT count(*) FROM pg_largeobject_metadata"); out != "0" {
		t.Errorf("%s large objects committed by the dump's own COMMIT", out)
	}
}

// TestPlainSmuggled: text that the lexer reads as one statement and the
// server as several (a COMMIT hidden after a dollar quote longer than the
// lexer's cap, a literal continued across a line that psql ends, a SET
// followed by more on its line, psql's guess at BEGIN … END). Sent with
// the extended protocol, each is one statement or an error: nothing of
// the refused restore is committed, and no refused statement runs.
func TestPlainSmuggled(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("L", dumpstat.MaxStatement+10)
	head := "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nCREATE TABLE public.first (v int);\n"
	tail := "ALTER SYSTEM SET work_mem = '1GB';\n\n--\n" + dumpstat.Complete + "\n--\n"
	for _, tc := range []struct{ name, body string }{
		{"long dollar tag", "SELECT $" + long + "$ ' $" + long + "$; COMMIT; SELECT 1 --';\n"},
		{"literal continued across psql's line", "SELECT E'a'\n'\\''; COMMIT; SELECT 1 --';\n"},
		{"SET client_encoding and more on its line", "SET client_encoding = 'SJIS'; SELECT E'\x83\\'; COMMIT; SELECT 1 --';\n"},
		{"SET client_encoding, the other way", "SET client_encoding = 'JOHAB';\nSET client_encoding = 'LATIN1'; SELECT 1 AS a\x8a; COMMIT;\nSET client_encoding = 'UTF8';\n"},
		{"SET standard_conforming_strings and more on its line", "SET standard_conforming_strings = off;\nSET standard_conforming_strings = on; SELECT 'a\\'; COMMIT; SELECT 1 --';\n"},
		{"psql's BEGIN guess", "CREATE FUNCTION public.begin() RETURNS int LANGUAGE sql AS 'select 1'; COMMIT; SELECT 1 AS end;\n"},
		{"a refused class", "SELECT $" + long + "$ ' $" + long + "$; ALTER ROLE CURRENT_USER SET work_mem = '77kB'; SELECT 1 --';\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := database(t, "restorer", "")
			if _, err := restore(t, "r_"+dst, dst, []byte(head+tc.body+tail), false); err == nil {
				t.Fatal("the restore succeeded")
			}
			if out, _ := pg.Psql(t.Context(), dst, "SELECT count(*) FROM pg_class WHERE relname = 'first'"); out != "0" {
				t.Error("a refused restore committed")
			}
			if out, _ := pg.Psql(t.Context(), "postgres", "SELECT count(*) FROM pg_db_role_setting WHERE setrole = 'r_"+dst+"'::regrole"); out != "0" {
				t.Error("a smuggled ALTER ROLE ran")
			}
		})
	}
}

// TestPlainWarningsDuringCopy: a tenant's CHECK raises a warning for every
// row it loads. The restore reads them while it sends the data, instead
// of stalling with the server blocked on a full connection.
func TestPlainWarningsDuringCopy(t *testing.T) {
	t.Parallel()
	src := database(t, "tenant", `
CREATE FUNCTION public.noisy(int) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	IF current_user <> 'tenant' THEN RAISE WARNING 'a warning for row %, long enough to fill a socket buffer soon', $1; END IF;
	RETURN true;
END $f$;
CREATE TABLE public.t (id int CHECK (public.noisy(id)));
INSERT INTO public.t SELECT generate_series(1, 100000);
`)
	d := dump(t, src)
	dst := database(t, "restorer", "")
	// A guard against a hang, not a measure of speed.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	conn, err := Connect(ctx, connString("r_"+dst, dst))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlain(ctx, conn, Options{Ending: dumpstat.Complete})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Write(d); err != nil {
		t.Fatal(err)
	}
	rows, err := p.CountRows(p.Counter().Tables())
	if err != nil || rows["public.t"] != 100000 {
		t.Fatalf("rows %v, %v", rows, err)
	}
}

// TestCountRowsSearchPath: the restored dump's code may set search_path
// to a schema of its own with an = that matches anything; the counts are
// still of the tables the dump names.
func TestCountRowsSearchPath(t *testing.T) {
	t.Parallel()
	src := database(t, "tenant", `
CREATE SCHEMA evil;
CREATE TABLE evil.decoy (v int);
INSERT INTO evil.decoy SELECT generate_series(1, 3);
CREATE FUNCTION evil.eq(name, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = text, FUNCTION = evil.eq);
CREATE TABLE public.t (id int);
INSERT INTO public.t VALUES (1);
`)
	dst := database(t, "restorer", "")
	if _, err := restore(t, "r_"+dst, dst, dump(t, src), false); err != nil {
		t.Fatal(err)
	}
	conn, err := Connect(t.Context(), connString("r_"+dst, dst)+" options='-c search_path=evil,pg_catalog'")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := CountRows(t.Context(), conn, []dumpstat.Table{{Key: "public.t", Schema: "public", Name: "t"}, {Key: "public.nothing", Schema: "public", Name: "nothing"}})
	if err != nil || rows["public.t"] != 1 || len(rows) != 1 {
		t.Errorf("rows %v, %v", rows, err)
	}
}

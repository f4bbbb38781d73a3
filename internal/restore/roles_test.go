package restore

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// restoreRoles writes a globals script into a Plain with Roles over a
// connection as user, and commits it when it is complete.
func restoreRoles(t *testing.T, user string, script []byte, r *Roles, trusted bool) error {
	t.Helper()
	conn, err := Connect(t.Context(), connString(user, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlain(t.Context(), conn, Options{Trusted: trusted, Ending: dumpstat.ClusterComplete, Roles: r})
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Write(script); err != nil {
		return err
	}
	if !p.Counter().Complete() {
		return errors.New("incomplete")
	}
	return p.Commit()
}

func psql(t *testing.T, sql string) string {
	t.Helper()
	out, err := pg.Psql(t.Context(), "postgres", sql)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestRolesRoundTrip dumps roles with pg_dumpall, drops them, and
// restores them as a CREATEROLE role: they come back with their
// attributes, passwords, settings, comments and memberships, while the
// roles that existed are left as they were.
func TestRolesRoundTrip(t *testing.T) {
	t.Parallel()
	psql(t, `
CREATE ROLE rt_admin LOGIN CREATEROLE;
CREATE ROLE rt_reader NOLOGIN;
CREATE ROLE "rt App" LOGIN CREATEDB CONNECTION LIMIT 17 PASSWORD 'app-secret' VALID UNTIL '2031-01-01';
ALTER ROLE "rt App" SET search_path TO 'app', 'public';
ALTER ROLE "rt App" SET work_mem TO '8MB';
COMMENT ON ROLE "rt App" IS 'the app''s login';
GRANT rt_reader TO "rt App" WITH ADMIN OPTION;
GRANT pg_read_all_data TO rt_reader;
CREATE ROLE rt_existing LOGIN PASSWORD 'old-secret';
`)
	cmd := pg.Command(t.Context(), "pg_dumpall", "--globals-only")
	var script, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &script, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dumpall: %v: %s", err, stderr.String())
	}
	want := psql(t, `SELECT a.rolname, a.rolcreatedb, a.rolcanlogin, a.rolconnlimit, a.rolvaliduntil, r.rolconfig, shobj_description(a.oid, 'pg_authid'), a.rolpassword IS NOT NULL FROM pg_authid a JOIN pg_roles r USING (oid) WHERE a.rolname IN ('rt App', 'rt_reader') ORDER BY 1`)
	psql(t, `DROP ROLE "rt App"; DROP ROLE rt_reader; ALTER ROLE rt_existing PASSWORD 'new-secret'`)
	newHash := psql(t, `SELECT rolpassword FROM pg_authid WHERE rolname = 'rt_existing'`)

	r := &Roles{}
	if err := restoreRoles(t, "rt_admin", script.Bytes(), r, false); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, `SELECT a.rolname, a.rolcreatedb, a.rolcanlogin, a.rolconnlimit, a.rolvaliduntil, r.rolconfig, shobj_description(a.oid, 'pg_authid'), a.rolpassword IS NOT NULL FROM pg_authid a JOIN pg_roles r USING (oid) WHERE a.rolname IN ('rt App', 'rt_reader') ORDER BY 1`); got != want {
		t.Errorf("restored roles:\n%s\nwant\n%s", got, want)
	}
	if got := psql(t, `SELECT pg_has_role('rt App', 'rt_reader', 'USAGE WITH ADMIN OPTION')::int, pg_has_role('rt_reader', 'pg_read_all_data', 'MEMBER')::int`); got != "1|0" {
		t.Errorf("memberships: %s, want rt App an admin of rt_reader, and rt_reader no member of pg_read_all_data (it existed before)", got)
	}
	if got := psql(t, `SELECT rolpassword FROM pg_authid WHERE rolname = 'rt_existing'`); got != newHash {
		t.Error("an existing role's password was changed without AlterExisting")
	}
	if !contains(r.Created, "rt App") || !contains(r.Created, "rt_reader") || contains(r.Created, "rt_existing") {
		t.Errorf("created %q", r.Created)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{`role "rt_existing" exists: left as it is`, `"pg_read_all_data" not granted to "rt_reader"`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// Again, with AlterExisting: the existing role gets the old password.
	psql(t, `DROP ROLE "rt App"; DROP ROLE rt_reader`)
	if err := restoreRoles(t, "rt_admin", script.Bytes(), &Roles{AlterExisting: true}, false); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, `SELECT rolpassword FROM pg_authid WHERE rolname = 'rt_existing'`); got == newHash {
		t.Error("AlterExisting left the existing role's password")
	}
}

// longRole is a role name as long as the server keeps (63 bytes).
var longRole = "rr_" + strings.Repeat("l", 60)

// TestRolesRefused feeds scripts built to give more than a database
// owner has: nothing of them is committed.
func TestRolesRefused(t *testing.T) {
	psql(t, `CREATE ROLE rr_admin LOGIN CREATEROLE; CREATE ROLE rr_super LOGIN SUPERUSER; CREATE ROLE rr_plain LOGIN; CREATE ROLE "`+longRole+`"`)
	const head = "SET default_transaction_read_only = off;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
	const tail = "\n--\n-- PostgreSQL database cluster dump complete\n--\n\n"
	for _, c := range []struct{ name, body, want string }{
		{"superuser", `CREATE ROLE rr_evil; ALTER ROLE rr_evil WITH SUPERUSER LOGIN PASSWORD 'x';`, ""},
		{"bypassrls", `CREATE ROLE rr_evil; ALTER ROLE rr_evil WITH NOSUPERUSER BYPASSRLS REPLICATION;`, ""},
		{"createrole", `CREATE ROLE rr_evil; ALTER ROLE rr_evil WITH CREATEROLE;`, ""},
		{"drop", `CREATE ROLE rr_evil; DROP ROLE rr_plain;`, "a statement pg_dumpall --globals-only does not write"},
		{"do", `CREATE ROLE rr_evil; DO $$BEGIN EXECUTE 'ALTER ROLE rr_plain SUPERUSER'; END$$;`, "does not write"},
		{"set role", `SET ROLE rr_super; CREATE ROLE rr_evil;`, "does not write"},
		{"psql command", "CREATE ROLE rr_evil;\n\\connect template1\n", "psql command"},
		{"two statements", `CREATE ROLE rr_evil; ALTER ROLE rr_evil WITH LOGIN PASSWORD 'x' ; CREATE ROLE rr_evil2;`, ""},
		{"options", `CREATE ROLE rr_evil; ALTER ROLE rr_evil WITH LOGIN IN ROLE rr_super;`, "does not write"},
		{"grant existing", `CREATE ROLE rr_evil; GRANT rr_super TO rr_evil;`, ""},
		{"current_user", `CREATE ROLE rr_evil; ALTER ROLE current_user WITH PASSWORD 'known';`, "does not write"},
		{"session_user setting", `CREATE ROLE rr_evil; ALTER ROLE SESSION_USER SET search_path TO 'x';`, "does not write"},
		{"all setting", `CREATE ROLE rr_evil; ALTER ROLE ALL SET search_path TO 'x';`, "does not write"},
		{"comment current_role", `CREATE ROLE rr_evil; COMMENT ON ROLE current_role IS 'x';`, "does not write"},
		{"grant to current_user", `CREATE ROLE rr_evil; GRANT rr_evil TO current_user;`, "does not write"},
		// A name longer than the server keeps is the existing role's.
		{"long name", `CREATE ROLE rr_evil; CREATE ROLE "` + longRole + `x"; ALTER ROLE "` + longRole + `x" WITH LOGIN PASSWORD 'known';`, ""},
		// Roles named like options keep their names.
		{"option names", `CREATE ROLE rr_evil; CREATE ROLE replication; ALTER ROLE replication WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN REPLICATION NOBYPASSRLS CONNECTION LIMIT 12; ALTER ROLE replication SET search_path TO replication;`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := restoreRoles(t, "rr_admin", []byte(head+c.body+tail), &Roles{}, false)
			if c.want == "" {
				// Allowed scripts, tidied up after.
				if err != nil {
					t.Fatal(err)
				}
				if got := psql(t, `SELECT pg_has_role('rr_evil', 'rr_super', 'MEMBER')::int, (rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls)::int FROM pg_roles WHERE rolname = 'rr_evil'`); got != "0|0" {
					t.Errorf("rr_evil (member of an existing superuser role, has a right a database owner lacks): %s", got)
				}
				if got := psql(t, `SELECT (rolpassword IS NULL)::int, rolcanlogin::int FROM pg_authid WHERE rolname = '`+longRole+`'`); got != "1|0" {
					t.Errorf("the existing role with a long name was changed: %s", got)
				}
				if c.name == "option names" {
					if got := psql(t, `SELECT rolcanlogin::int, rolreplication::int, rolconnlimit, array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = 'replication'`); got != "1|0|12|search_path=replication" {
						t.Errorf("the role named replication: %s", got)
					}
				}
				psql(t, `DROP ROLE IF EXISTS rr_evil; DROP ROLE IF EXISTS rr_evil2; DROP ROLE IF EXISTS replication`)
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a refusal naming %q", err, c.want)
			}
			if got := psql(t, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'rr_evil%'`); got != "0" {
				t.Errorf("a refused script (%v) left %s roles: %s", err, got, psql(t, `SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname LIKE 'rr_evil%'`))
			}
		})
	}
	for _, c := range []struct{ user, want string }{
		{"rr_plain", "neither CREATEROLE nor SUPERUSER"},
		{"rr_super", "is a superuser"},
	} {
		err := restoreRoles(t, c.user, []byte(head+"CREATE ROLE rr_evil;"+tail), &Roles{}, false)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("as %s: got %v, want a refusal naming %q", c.user, err, c.want)
		}
	}
	// A superuser restores anything with a trusted dump.
	if err := restoreRoles(t, "rr_super", []byte(head+"CREATE ROLE rr_evil3;\nALTER ROLE rr_evil3 WITH SUPERUSER;\nGRANT rr_plain TO rr_evil3 GRANTED BY rr_gone;"+tail), &Roles{}, true); err != nil {
		t.Fatal(err)
	}
	if got := psql(t, `SELECT rolsuper::int, pg_has_role('rr_evil3', 'rr_plain', 'MEMBER')::int FROM pg_roles WHERE rolname = 'rr_evil3'`); got != "1|1" {
		t.Errorf("trusted: %s", got)
	}
}

package backup

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

func TestGlobalsArgs(t *testing.T) {
	e := pgpass.Entry{Host: "db.example.com", Port: "5432", Database: "app", User: "backup", Password: "pw", Prefix: "db1"}
	got := strings.Join(globalsArgs(e, true), " ")
	if got != "--globals-only --host db.example.com --port 5432 --username backup --database dbname='app' --no-password" {
		t.Errorf("args %q", got)
	}
	if got := globalsArgs(e, false); got[len(got)-1] != "--no-role-passwords" {
		t.Errorf("args without passwords %q", got)
	}
}

// TestDbnameArg: a database's name reaches libpq as the name alone, never
// as a connection string of its own.
func TestDbnameArg(t *testing.T) {
	for name, want := range map[string]string{
		"app":                     `dbname='app'`,
		"host=203.0.113.5 port=1": `dbname='host=203.0.113.5 port=1'`,
		`it's \ here`:             `dbname='it\'s \\ here'`,
		"postgresql://evil/other": `dbname='postgresql://evil/other'`,
	} {
		if got := dbnameArg(name); got != want {
			t.Errorf("dbnameArg(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestMayNotReadPasswords(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		// pg_dumpall 15.20 as a CREATEROLE login that is not a superuser.
		{"pg_dumpall: error: query failed: ERROR:  permission denied for table pg_authid\npg_dumpall: detail: Query was: SELECT oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, rolpassword, rolvaliduntil, rolreplication, rolbypassrls, pg_catalog.shobj_description(oid, 'pg_authid') as rolcomment, rolname = current_user AS is_current_user FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 2\n", true},
		{"pg_dumpall: error: query failed: server closed the connection unexpectedly\npg_dumpall: detail: Query was: SELECT oid, rolname, rolpassword FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 2\n", false},
		{`pg_dumpall: error: connection to server at "db" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user "backup"`, false},
		// A server whose lc_messages is German (the client's are C).
		{"pg_dumpall: error: query failed: FEHLER:  keine Berechtigung für Tabelle pg_authid\npg_dumpall: detail: Query was: SELECT oid, rolname FROM pg_authid\n", true},
		// pg_dumpall 12 to 14 print the query as an error line of its own.
		{"pg_dumpall: error: query failed: ERROR:  permission denied for table pg_authid\npg_dumpall: error: query was: SELECT oid, rolname FROM pg_authid\n", true},
		{"pg_dumpall: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dumpall: error: query was: SELECT oid, rolname FROM pg_authid\n", false},
		{"", false},
	} {
		b := &tailBuffer{max: 4096}
		b.Write([]byte(tc.stderr))
		if got := mayNotReadPasswords(b); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.stderr, got, tc.want)
		}
	}
}

func TestRedactEntry(t *testing.T) {
	e := pgpass.Entry{Host: "h", Port: "5432", Database: "d", User: "u", Password: `p:a\ss`, Prefix: "db1"}
	for _, line := range []string{
		`pg_dumpall: error: cannot use h:5432:d:u:p\:a\\ss`,
		`pg_dumpall: error: password p:a\ss`,
		`ERROR: ALTER ROLE u PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy' failed`,
		`ERROR: ALTER ROLE u PASSWORD 'md5` + strings.Repeat("0a", 16) + `'`,
	} {
		got := redactEntry(line, e)
		if strings.Contains(got, e.Password) || strings.Contains(got, `p\:a\\ss`) || strings.Contains(got, "SCRAM-SHA-256$") ||
			strings.Contains(got, "0a0a0a0a") || !strings.Contains(got, "[redacted]") {
			t.Errorf("redactEntry(%q) = %q", line, got)
		}
	}
	if got := redactEntry("pg_dump: error: no such table", e); got != "pg_dump: error: no such table" {
		t.Errorf("a line without secrets changed: %q", got)
	}
}

func TestGlobalsKeyAndRestore(t *testing.T) {
	s := loadSettings(t, nil)
	start := mustTime("2026-11-27T06:00:00Z")
	key := s.CompanionKey("db1", start, globalsName)
	if key != "db1-20261127060000.globals.gz.aes" {
		t.Errorf("key %q", key)
	}
	b, ok := catalog.ParseKey(key)
	if !ok || b.Companion != globalsName || completion(b) != "-- PostgreSQL database cluster dump complete" {
		t.Errorf("ParseKey(%q) = %+v, %v", key, b, ok)
	}
	i := &catalog.Info{Bucket: "my-bucket", Key: key, Format: "plain", Compression: "gzip", Companion: globalsName}
	setEncryption(i, s)
	if got, want := i.StockRestore(), "aws s3 cp s3://my-bucket/db1-20261127060000.globals.gz.aes - | openssl enc -d -aes-256-cbc -md sha256 -pass file:KEYFILE | gzip -d | psql -d postgres"; got != want {
		t.Errorf("restore command\n%s\nwant\n%s", got, want)
	}
}

func TestGlobalsLogLines(t *testing.T) {
	e := pgpass.Entry{Host: "h", Port: "5432", Database: "d", User: "u", Password: "secret-pw", Prefix: "db1"}
	no := false
	i := &catalog.Info{Bucket: "b", Key: "db1-20261127060000.globals.gz.aes", PlainSize: 2048, StoredSize: 900, RolePasswords: &no}
	var text, js strings.Builder
	for _, l := range []*Logger{NewLogger(&text, "tool", false), NewLogger(&js, "tool", true)} {
		l.GlobalsWithoutPasswords(e)
		l.GlobalsDone(e, i)
	}
	want := "tool: db1: warning: the login may not read role passwords (pg_dumpall: permission denied for table pg_authid; not a superuser, as on managed services): saving the roles without their passwords (--no-role-passwords)\n" +
		"tool: db1: globals done: s3://b/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 900 B stored; role passwords not included: set them after a restore\n"
	if text.String() != want {
		t.Errorf("text log:\n%s\nwant\n%s", text.String(), want)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSON log: %q", js.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["prefix"] != "db1" {
			t.Errorf("JSON log line %q: %v", l, err)
		}
	}
	if !strings.Contains(lines[1], `"role_passwords":false`) || !strings.Contains(lines[0], `"level":"WARN"`) {
		t.Errorf("JSON log: %q", lines)
	}
	if strings.Contains(text.String()+js.String(), e.Password) {
		t.Error("a log line holds the password")
	}
}

// TestChildEnvMessagesInC: the children's messages are English whatever
// the job's locale, as the job reads their error lines; the locale's other
// parts pass through.
func TestChildEnvMessagesInC(t *testing.T) {
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	t.Setenv("LC_MESSAGES", "de_DE.UTF-8")
	t.Setenv("LANG", "de_DE.UTF-8")
	t.Setenv("LC_CTYPE", "de_DE.UTF-8")
	env := childEnv("/private/pgpass")
	for _, want := range []string{"LC_MESSAGES=C", "LANG=de_DE.UTF-8", "LC_CTYPE=de_DE.UTF-8", "PGPASSFILE=/private/pgpass"} {
		if !slices.Contains(env, want) {
			t.Errorf("childEnv lacks %s: %q", want, env)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "LC_ALL=") || kv == "LC_MESSAGES=de_DE.UTF-8" {
			t.Errorf("childEnv has %s: %q", kv, env)
		}
	}
}

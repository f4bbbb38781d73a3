package pgpass_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// TestLibpqReadsWriteFile gives a real server roles whose passwords need
// escaping, writes a list of them with WriteFile and connects with psql
// over TCP, where the server asks for a password and libpq can only find it
// in that file.
func TestLibpqReadsWriteFile(t *testing.T) {
	ctx := t.Context()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()

	roles := []struct{ name, password string }{
		{"plain", "plainPassword1"},
		{"colon", "pa:ss:word"},
		{"backslash", `pa\ss\\word`},
		{"trailing", `password\`},
		{"mixed", `\:\\::\#*`},
		{"hash", "#not-a-comment"},
		{"space", " spaced out "},
		{"user:with:colons", `x:y\z`},
	}
	if err := pg.CreateDatabase(ctx, `my:db one`); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	list.WriteString("# roles of the live test\r\n")
	for i, r := range roles {
		if err := pg.CreateUser(ctx, r.name, r.password); err != nil {
			t.Fatal(err)
		}
		esc := strings.NewReplacer(`\`, `\\`, ":", `\:`)
		fmt.Fprintf(&list, "%s:%d:%s:%s:%s:role%d\r\n", pg.Host, pg.Port, esc.Replace(`my:db one`), esc.Replace(r.name), esc.Replace(r.password), i)
	}
	// A wildcard line marked ignore must not reach the file: had it been
	// written first, libpq would use its password for every role.
	list.WriteString("*:*:*:*:wrong::ignore\r\n")

	entries, err := pgpass.Parse(strings.NewReader(list.String()))
	if err != nil {
		t.Fatal(err)
	}
	targets, err := pgpass.Targets(entries, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != len(roles) {
		t.Fatalf("%d targets, want %d", len(targets), len(roles))
	}
	file := filepath.Join(t.TempDir(), "pgpass")
	if err := pgpass.WriteFile(file, targets); err != nil {
		t.Fatal(err)
	}

	psql := func(e pgpass.Entry) (string, error) {
		cmd := pg.Command(ctx, "psql", "-X", "-w", "-A", "-t",
			"-h", e.Host, "-p", e.Port, "-U", e.User, "-d", e.Database,
			"-c", "select current_user || ' ' || current_database()")
		cmd.Env = append(cmd.Env, "PGPASSFILE="+file, "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for _, e := range targets {
		t.Run(e.User, func(t *testing.T) {
			out, err := psql(e)
			if err != nil {
				t.Fatalf("psql as %q: %v: %s", e.User, err, out)
			}
			if want := e.User + ` my:db one`; out != want {
				t.Errorf("psql printed %q, want %q", out, want)
			}
		})
	}

	// A role missing from the file is refused, so the passes above came
	// from the file.
	if err := pg.CreateUser(ctx, "absent", "absentPassword"); err != nil {
		t.Fatal(err)
	}
	absent := targets[0]
	absent.User = "absent"
	if out, err := psql(absent); err == nil {
		t.Errorf("psql as a role missing from the file connected: %s", out)
	}
}

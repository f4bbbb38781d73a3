package restore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// TestContents counts what a database holds of its own: nothing in a new
// one, and each kind of object once made.
func TestContents(t *testing.T) {
	t.Parallel()
	count := func(db string) Contents {
		conn, err := Connect(t.Context(), connString("postgres", db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		c, err := ReadContents(t.Context(), conn)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(database(t, "postgres", "")); !c.Empty() || c.String() != "nothing" {
		t.Errorf("a new database holds %s", c)
	}
	db := database(t, "postgres", `CREATE SCHEMA s; CREATE TABLE s.t (x int); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE TYPE mood AS ENUM ('ok')`)
	if c := count(db); c != (Contents{Relations: 1, Functions: 1, Types: 1, Schemas: 1}) || c.String() != "1 relation, 1 function, 1 type, 1 schema" {
		t.Errorf("holds %+v: %s", c, c)
	}
}

// TestClean: Options.Clean drops what the restoring role owns inside the
// restore's transaction, so that a restore that fails keeps the old
// contents; what other roles own there is refused.
func TestClean(t *testing.T) {
	t.Parallel()
	src := database(t, "restorer", "CREATE TABLE fresh (x int); INSERT INTO fresh VALUES (1), (2);")
	d := dump(t, src, "--no-owner", "--no-privileges")
	db := database(t, "restorer", "CREATE TABLE old (x int); INSERT INTO old VALUES (7);")
	role := "r_" + db
	start := func() (*Plain, error) {
		conn, err := Connect(t.Context(), connString(role, db))
		if err != nil {
			t.Fatal(err)
		}
		return NewPlain(t.Context(), conn, Options{Ending: dumpstat.Complete, Clean: true})
	}
	// A restore that stops: the old table is still there.
	p, err := start()
	if err != nil {
		t.Fatal(err)
	}
	p.Write(d[:len(d)/2])
	p.Close()
	if out, err := pg.Psql(t.Context(), db, "SELECT x FROM old"); err != nil || strings.TrimSpace(out) != "7" {
		t.Errorf("after a restore that stopped, old holds %q (%v)", out, err)
	}
	// One that completes replaces it.
	if p, err = start(); err != nil {
		t.Fatal(err)
	}
	p.Write(d)
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, want := schemaAndData(t, db), schemaAndData(t, src); got != want {
		t.Errorf("after -clean and the restore:\n%s\nwant:\n%s", got, want)
	}
	// Something of another role's stays, and the restore is refused.
	if _, err := pg.Psql(t.Context(), db, "CREATE TABLE theirs (x int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := start(); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "still holds 1 relation of other roles") {
		t.Errorf("a table of the superuser's: %v", err)
	}
}

// TestCreateDatabase creates a database once, by a name that needs
// quoting, and drops it.
func TestCreateDatabase(t *testing.T) {
	t.Parallel()
	conn, err := ConnectTo(t.Context(), connString("postgres", "postgres"), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := `new "db"; DROP DATABASE postgres; --`
	for i, want := range []bool{true, false} {
		created, err := CreateDatabase(t.Context(), conn, name)
		if err != nil || created != want {
			t.Fatalf("CreateDatabase #%d: %v, %v", i+1, created, err)
		}
	}
	if got, err := Database(connString("postgres", "x") + " dbname='" + strings.ReplaceAll(name, "'", `\'`) + "'"); err != nil || got != name {
		t.Errorf("Database: %q, %v", got, err)
	}
	if err := DropDatabase(t.Context(), conn, name); err != nil {
		t.Fatal(err)
	}
	if created, err := CreateDatabase(t.Context(), conn, name); err != nil || !created {
		t.Errorf("after the drop: %v, %v", created, err)
	}
	DropDatabase(t.Context(), conn, name)
}

package restore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotEmpty is wrapped by the error of a target that holds something a
// restore would mix with.
var ErrNotEmpty = errors.New("the target database is not empty")

// Contents counts what a database holds outside the system's schemas:
// what a restore into it would mix with.
type Contents struct {
	Relations int // tables, views, sequences, indexes…
	Functions int // functions and procedures
	Types     int // types of their own (not a relation's)
	Schemas   int // schemas other than public
}

// Empty reports whether the database holds nothing of its own.
func (c Contents) Empty() bool { return c == Contents{} }

func (c Contents) String() string {
	var parts []string
	for _, p := range []struct {
		n          int
		one, other string
	}{{c.Relations, "relation", "relations"}, {c.Functions, "function", "functions"}, {c.Types, "type", "types"}, {c.Schemas, "schema", "schemas"}} {
		switch {
		case p.n == 1:
			parts = append(parts, "1 "+p.one)
		case p.n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.other))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// userNamespaces are the schemas that are not the system's.
const userNamespaces = `(SELECT n.oid FROM pg_catalog.pg_namespace n
	WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast']::pg_catalog.name[])
		AND n.nspname::pg_catalog.text NOT LIKE 'pg\_temp\_%' AND n.nspname::pg_catalog.text NOT LIKE 'pg\_toast\_temp\_%')`

const contentsQuery = `SELECT
	(SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY (ARRAY` + userNamespaces + `)),
	(SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) ANY (ARRAY` + userNamespaces + `)),
	(SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) ANY (ARRAY` + userNamespaces + `)
		AND t.typrelid OPERATOR(pg_catalog.=) 0 AND t.typelem OPERATOR(pg_catalog.=) 0),
	(SELECT pg_catalog.count(*) FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) ANY (ARRAY` + userNamespaces + `)
		AND n.nspname OPERATOR(pg_catalog.<>) 'public')`

// ReadContents counts what the database of conn holds.
func ReadContents(ctx context.Context, conn *pgconn.PgConn) (Contents, error) {
	res := conn.ExecParams(ctx, contentsQuery, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return Contents{}, fmt.Errorf("reading what the target database holds: %w", res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 4 {
		return Contents{}, errors.New("reading what the target database holds: no answer")
	}
	var n [4]int
	for i, v := range res.Rows[0] {
		var err error
		if n[i], err = strconv.Atoi(string(v)); err != nil {
			return Contents{}, fmt.Errorf("reading what the target database holds: %q", v)
		}
	}
	return Contents{Relations: n[0], Functions: n[1], Types: n[2], Schemas: n[3]}, nil
}

// ConnectTo connects with connString to another database of the same
// server (dbname): the maintenance database where a target is created.
func ConnectTo(ctx context.Context, connString, dbname string) (*pgconn.PgConn, error) {
	return connect(ctx, connString, dbname)
}

// Database is the name of the database connString connects to.
func Database(connString string) (string, error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return "", err
	}
	return cfg.Database, nil
}

// CreateDatabase creates the database name, owned by the role conn acts
// as, over conn (to another database of the server). It reports whether
// it created one: false, with no error, when it exists already.
func CreateDatabase(ctx context.Context, conn *pgconn.PgConn, name string) (bool, error) {
	res := conn.ExecParams(ctx, `SELECT 1 FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $1`, [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return false, res.Err
	}
	if len(res.Rows) > 0 {
		return false, nil
	}
	// CREATE DATABASE takes no parameters: the name is quoted as an
	// identifier, the grammar that reads it.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+quoteIdent(name)).ReadAll(); err != nil {
		return false, fmt.Errorf("creating database %s: %w", quoteIdent(name), err)
	}
	return true, nil
}

// DropDatabase drops the database name over conn (to another database of
// the server): the one a failed restore created.
func DropDatabase(ctx context.Context, conn *pgconn.PgConn, name string) error {
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)).ReadAll(); err != nil {
		return fmt.Errorf("dropping database %s: %w", quoteIdent(name), err)
	}
	return nil
}

package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// Connect opens a connection for a restore: connString is a libpq
// connection string or URI, completed from the PG* environment (PGHOST,
// PGUSER, PGPASSWORD, PGPASSFILE, PGSSLMODE, service files) as libpq does.
// The client encoding is UTF8; a plain dump sets its own.
func Connect(ctx context.Context, connString string) (*pgconn.PgConn, error) {
	return connect(ctx, connString, "")
}

// connect connects as Connect does, to database dbname instead of the
// connection string's when dbname is not empty.
func connect(ctx context.Context, connString, dbname string) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	if dbname != "" {
		cfg.Database = dbname
	}
	cfg.RuntimeParams["client_encoding"] = "UTF8"
	cfg.OnNotice = func(*pgconn.PgConn, *pgconn.Notice) {} // a dump's notices are no news
	return pgconn.ConnectConfig(ctx, cfg)
}

// Role is the role a connection restores as, and why it may do more than
// the owner of a database can be given the right to do.
type Role struct {
	Name    string
	Reasons []string // empty when it may not
}

// roleQuery reads the rights of the role a connection logged in as (the
// session user: a restore may RESET ROLE to it, whatever role the
// connection options set) that let code run by a restore reach beyond its
// database: superuser (anything, programs on the server with COPY … TO
// PROGRAM), CREATEROLE, REPLICATION (slots that keep WAL for ever), the
// predefined roles that run the server's programs, read and write its
// files, signal other sessions or create subscriptions, roles it may
// become (SET ROLE) that have any of these, and databases and tablespaces
// it owns or may act as the owner of, other than the target. Operators
// and functions are named with their schema: the database's search_path
// is the tenant's to set.
const roleQuery = `SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolreplication,
	coalesce((SELECT pg_catalog.string_agg(p.rolname::text, ', ' ORDER BY p.rolname)
		FROM pg_catalog.pg_roles p
		WHERE p.rolname OPERATOR(pg_catalog.=) ANY (ARRAY['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_create_subscription']::pg_catalog.name[])
			AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')), ''),
	coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s.rolname), ', ' ORDER BY s.rolname)
		FROM pg_catalog.pg_roles s
		WHERE (s.rolsuper OR s.rolcreaterole OR s.rolreplication) AND s.oid OPERATOR(pg_catalog.<>) r.oid AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')), ''),
	coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(d.datname), ', ' ORDER BY d.datname)
		FROM pg_catalog.pg_database d
		WHERE d.datname OPERATOR(pg_catalog.<>) pg_catalog.current_database() AND pg_catalog.pg_has_role(r.oid, d.datdba, 'MEMBER')), ''),
	coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(t.spcname), ', ' ORDER BY t.spcname)
		FROM pg_catalog.pg_tablespace t
		WHERE pg_catalog.pg_has_role(r.oid, t.spcowner, 'MEMBER')), ''),
	current_user::pg_catalog.text
FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) session_user`

// CheckRole reads the rights of the role conn logged in as.
func CheckRole(ctx context.Context, conn *pgconn.PgConn) (Role, error) {
	res := conn.ExecParams(ctx, roleQuery, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return Role{}, fmt.Errorf("reading the restoring role's rights: %w", res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 9 {
		return Role{}, errors.New("reading the restoring role's rights: no answer for the session user")
	}
	row := res.Rows[0]
	r := Role{Name: string(row[0])}
	for i, why := range []string{1: "is a superuser", 2: "has CREATEROLE", 3: "has REPLICATION"} {
		if why != "" && string(row[i]) == "t" {
			r.Reasons = append(r.Reasons, why)
		}
	}
	for i, why := range []string{4: "is a member of %s", 5: "may SET ROLE to %s", 6: "owns or may act as the owner of the databases %s", 7: "owns or may act as the owner of the tablespaces %s"} {
		if why != "" && len(row[i]) > 0 {
			r.Reasons = append(r.Reasons, fmt.Sprintf(why, row[i]))
		}
	}
	if acting := string(row[8]); acting != r.Name && len(r.Reasons) > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("(it logged in as %s, acting as %s, and the dump may RESET ROLE)", strconv.Quote(r.Name), strconv.Quote(acting)))
	}
	return r, nil
}

// RoleOf connects with connString and reads the rights of its role.
func RoleOf(ctx context.Context, connString string) (Role, error) {
	conn, err := Connect(ctx, connString)
	if err != nil {
		return Role{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return CheckRole(ctx, conn)
}

// Err is the refusal of a role that may do more than a database owner,
// nil for one that may not.
func (r Role) Err() error {
	if len(r.Reasons) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the restoring role %s %s: the dump's functions, defaults, triggers and checks run as that role during the restore, so whoever could change the dumped database could run code with its rights (a superuser's reach programs and files on the database server); restore as a role without these rights that owns the target database, or give -trust-dump to trust everyone who could change the dumped database",
		ErrRefused, strconv.Quote(r.Name), strings.Join(r.Reasons, ", "))
}

// resolveQuery finds the tables a dump names, given as a JSON array of
// {"i": index, "s": schema, "n": name}. The names reach the database only
// as values. A name without a schema is looked up on the search path, as
// the dump's COPY found it.
const resolveQuery = `SELECT t.i, ns.nspname, c.relname
FROM pg_catalog.json_to_recordset($1::pg_catalog.json) AS t(i pg_catalog.int4, s pg_catalog.text, n pg_catalog.text)
JOIN pg_catalog.pg_class c ON c.relname OPERATOR(pg_catalog.=) t.n AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::pg_catalog."char"[])
JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE CASE WHEN t.s OPERATOR(pg_catalog.=) '' THEN c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.quote_ident(t.n))
	ELSE ns.nspname OPERATOR(pg_catalog.=) t.s END
ORDER BY t.i`

// CountRows counts the rows of each table in the database of conn (its
// own rows, ONLY, as pg_dump's COPY of a parent holds them), by the names
// the dump gave them (Table.Key). A table that is not there is not in the
// result. Every name in the queries is schema-qualified, so that a
// search_path the restored dump set cannot put its own operators or
// functions in their place.
func CountRows(ctx context.Context, conn *pgconn.PgConn, tables []dumpstat.Table) (map[string]int64, error) {
	type row struct {
		I int    `json:"i"`
		S string `json:"s"`
		N string `json:"n"`
	}
	rows := make([]row, len(tables))
	for i, t := range tables {
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("counting rows after the restore: %w", err)
		}
		rows[i] = row{i, t.Schema, t.Name}
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	res := conn.ExecParams(ctx, resolveQuery, [][]byte{js}, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("counting rows after the restore: finding the tables: %w", res.Err)
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		i, err := strconv.Atoi(string(r[0]))
		if err != nil || i < 0 || i >= len(tables) {
			return nil, fmt.Errorf("counting rows after the restore: answer %q", r[0])
		}
		q := "SELECT pg_catalog.count(*) FROM ONLY " + quoteIdent(string(r[1])) + "." + quoteIdent(string(r[2]))
		c := conn.ExecParams(ctx, q, nil, nil, nil, nil).Read()
		if c.Err != nil {
			return nil, fmt.Errorf("counting rows of %s: %w", tables[i].Key, c.Err)
		}
		n, err := strconv.ParseInt(string(c.Rows[0][0]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("counting rows of %s: %q", tables[i].Key, c.Rows[0][0])
		}
		got[tables[i].Key] = n
	}
	return got, nil
}

// quoteIdent quotes a name as an SQL identifier. Names come from the
// catalog, valid UTF-8 without NUL (Table.Check), and a quoted identifier
// holds anything else with its quotes doubled.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

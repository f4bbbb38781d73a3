// Package discover finds the databases of a server for a list line whose
// database is '*', and names their backups.
//
// A found database is backed up under the prefix LINE.NAME, where LINE is
// the line's prefix and NAME the database's name with every byte other
// than A-Z a-z 0-9 _ - written as '.' and two lowercase hex digits
// (Escape): "x.y" is "x.2ey", "with space" "with.20space", "Ünïcode"
// ".c3.9cn.c3.afcode". The rule is stable (a name has one prefix, every
// day) and reversible (Unescape), so two names never share a prefix; a
// prefix that would be longer than a prefix may be is refused.
package discover

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Escape writes a database name in the characters of a prefix.
func Escape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, ".%02x", c)
		}
	}
	return b.String()
}

// Unescape reverses Escape; it fails for text Escape does not write.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-':
			b.WriteByte(c)
		case c == '.' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if 'a' <= v && v <= 'z' || 'A' <= v && v <= 'Z' || '0' <= v && v <= '9' || v == '_' || v == '-' {
				return "", fmt.Errorf("%q escapes %q, which is written as it is", s, v)
			}
			b.WriteByte(v)
			i += 2
		default:
			return "", fmt.Errorf("%q is not an escaped database name", s)
		}
	}
	if b.Len() == 0 {
		return "", errors.New("empty database name")
	}
	return b.String(), nil
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// Prefix is the prefix of the database name found by the line with prefix
// line.
func Prefix(line, name string) string { return line + "." + Escape(name) }

// Of tells, for a prefix, the database name it was found for by the line
// with prefix line; ok is false for a prefix that is not one of that
// line's.
func Of(line, prefix string) (name string, ok bool) {
	rest, found := strings.CutPrefix(prefix, line+".")
	if !found {
		return "", false
	}
	name, err := Unescape(rest)
	return name, err == nil
}

// Filter selects found databases by name: DATABASES_INCLUDE and
// DATABASES_EXCLUDE, names or shell globs (path.Match). Exclude wins; an
// empty Include includes every name.
type Filter struct {
	Include, Exclude []string
}

// ParseGlobs reads a comma-separated list of names or globs.
func ParseGlobs(s string) ([]string, error) {
	var out []string
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("%q: %w", g, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Keeps reports whether the filter keeps the database name.
func (f Filter) Keeps(name string) bool {
	match := func(globs []string) bool {
		return slices.ContainsFunc(globs, func(g string) bool { ok, _ := path.Match(g, name); return ok })
	}
	return (len(f.Include) == 0 || match(f.Include)) && !match(f.Exclude)
}

// IsZero reports whether the filter keeps every name.
func (f Filter) IsZero() bool { return len(f.Include) == 0 && len(f.Exclude) == 0 }

// databasesQuery lists the databases that are not templates and allow
// connections, and whether the user may connect to each.
const databasesQuery = `SELECT datname, pg_catalog.has_database_privilege(datname, 'CONNECT') FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate`

// Connect opens a connection to a database of the line's server as its
// user, with its password given directly (never in a connection string
// or the environment); the rest of the libpq settings (sslmode, …) come
// from the environment as libpq reads them.
type Connect func(ctx context.Context, e pgpass.Entry, database string) (*pgconn.PgConn, error)

// DefaultConnect is Connect with pgconn.
func DefaultConnect(ctx context.Context, e pgpass.Entry, database string) (*pgconn.PgConn, error) {
	var cs strings.Builder
	for _, kv := range [][2]string{{"host", e.Host}, {"port", e.Port}, {"user", e.User}, {"dbname", database}} {
		fmt.Fprintf(&cs, "%s=%s ", kv[0], pgpass.ConnValue(kv[1]))
	}
	cfg, err := pgconn.ParseConfig(cs.String())
	if err != nil {
		return nil, err
	}
	cfg.Password = e.Password
	return pgconn.ConnectConfig(ctx, cfg)
}

// listTimeout bounds listing one server's databases.
const listTimeout = time.Minute

// Databases lists the databases of the server of e that are not templates
// and allow connections, those the user may connect to (names) and those
// it may not (closed), each sorted by bytes. It connects to postgres, or
// to template1 where postgres is not there or not open to the user (not
// after a wrong password: one failed login is enough).
func Databases(ctx context.Context, e pgpass.Entry, connect Connect) (names, closed []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	conn, err := connect(ctx, e, "postgres")
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "3D000" || pe.Code == "42501" || pe.Code == "28000") {
		conn, err = connect(ctx, e, "template1")
	}
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res := conn.ExecParams(ctx, databasesQuery, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, nil, fmt.Errorf("listing the databases: %w", res.Err)
	}
	for _, r := range res.Rows {
		if string(r[1]) == "t" {
			names = append(names, string(r[0]))
		} else {
			closed = append(closed, string(r[0]))
		}
	}
	slices.Sort(names) // by bytes, as the log and the tests read them, whatever the collation
	slices.Sort(closed)
	return names, closed, nil
}

// Found is what discovery found for one line.
type Found struct {
	Line     pgpass.Entry   // the line, its database '*'
	Targets  []pgpass.Entry // one per database kept, in name order
	Excluded []string       // names the filter left out
	Closed   []string       // names the user may not connect to
	Listed   []string       // names left out because the list has a line for them (Without)
	// Failed are the databases kept that cannot be backed up under the
	// line (a prefix too long), each with its error.
	Failed []Failure
	Err    error // the server could not be listed, or nothing was kept
}

// A Failure is a database found that cannot be backed up.
type Failure struct {
	Target pgpass.Entry // the line, with the database's name
	Err    error
}

// ErrNothing is wrapped by Found.Err for a line whose server has no
// database the filter keeps.
var ErrNothing = errors.New("no database found")

// Expand finds the databases of one line and makes a target of each the
// filter keeps: the line with the database's name and its prefix
// (Prefix), and ListPrefix the line's.
func Expand(ctx context.Context, line pgpass.Entry, f Filter, connect Connect) Found {
	found := Found{Line: line}
	names, closed, err := Databases(ctx, line, connect)
	if err != nil {
		found.Err = err
		return found
	}
	for _, n := range closed {
		if f.Keeps(n) {
			found.Closed = append(found.Closed, n)
		}
	}
	for _, n := range names {
		if !f.Keeps(n) {
			found.Excluded = append(found.Excluded, n)
			continue
		}
		t := line
		t.Database, t.Prefix, t.ListPrefix, t.Discover = n, Prefix(line.Prefix, n), line.Prefix, false
		if pgpass.CheckPrefix(t.Prefix, nil) != nil {
			t.Prefix = line.Prefix
			found.Failed = append(found.Failed, Failure{t, fmt.Errorf("database %q: its prefix %s.%s… would be longer than 128 characters; back it up on a line of its own, and leave it out with %s", n, line.Prefix, Escape(n)[:16], "DATABASES_EXCLUDE")})
			continue
		}
		found.Targets = append(found.Targets, t)
	}
	if len(found.Targets) == 0 && len(found.Failed) == 0 {
		found.Err = fmt.Errorf("%w on %s:%s", ErrNothing, line.Host, line.Port)
		if len(found.Excluded) > 0 {
			found.Err = fmt.Errorf("%w that DATABASES_INCLUDE and DATABASES_EXCLUDE keep (%d excluded)", found.Err, len(found.Excluded))
		}
	}
	return found
}

// Without leaves out of f's targets the databases for which listed has a
// line of its own (same host, port and database, as written; not ignored,
// not '*'): they are backed up there, under that line's prefix, and not a
// second time.
func (f *Found) Without(listed []pgpass.Entry) {
	own := map[string]bool{}
	for _, e := range listed {
		if !e.Ignore && !e.Discover {
			own[e.Host+"\x00"+e.Port+"\x00"+e.Database] = true
		}
	}
	kept := f.Targets[:0]
	for _, t := range f.Targets {
		if own[t.Host+"\x00"+t.Port+"\x00"+t.Database] {
			f.Listed = append(f.Listed, t.Database)
			continue
		}
		kept = append(kept, t)
	}
	f.Targets = kept
}

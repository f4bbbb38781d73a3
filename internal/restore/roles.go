package restore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// Roles says how Plain restores a pg_dumpall --globals-only script (a
// backup's globals) instead of a database dump. Roles are the server's,
// not one database's, so the script is read by a grammar of its own: only
// the statements pg_dumpall writes for roles run, and each is checked
// before it is sent.
//
//   - A role that exists is left as it is: its CREATE ROLE is skipped, and
//     its ALTER ROLE (attributes, password, settings) and COMMENT too,
//     unless AlterExisting.
//   - Unless the dump is trusted, no role is given SUPERUSER, CREATEROLE,
//     REPLICATION or BYPASSRLS (the attribute is left out, and a note
//     says so), and no role is made a member of a role that existed
//     before the restore (the grant is skipped): the roles of a backup
//     get no more rights on the server than their own objects give them.
//   - Tablespaces, parameter privileges and security labels are skipped.
//
// A membership is sent as GRANT role TO member [WITH ADMIN OPTION], built
// from the names the script gave: its GRANTED BY names a role of the old
// server, which the restoring role may not act for.
type Roles struct {
	// AlterExisting applies the script's ALTER ROLE and COMMENT to roles
	// that existed before the restore: their attributes, settings and
	// passwords are then the old server's.
	AlterExisting bool

	trusted  bool
	super    bool // the restoring role is a superuser
	version  int  // the server's server_version_num
	existing map[string]bool
	noted    map[string]bool // existing roles a note named
	// Created lists the roles the restore created, in order; Notes says
	// what was left out, and why (for a role that exists, once).
	Created []string
	Notes   []string
	// Skipped counts the statements left out.
	Skipped int
}

// ErrCannotCreateRoles matches the refusal of a connection whose role
// cannot create roles.
var ErrCannotCreateRoles = fmt.Errorf("%w: the role cannot create roles", ErrRefused)

// Check checks the role that restores roles: it must have CREATEROLE,
// and, unless the dump is trusted, must not be a superuser (whose ALTER
// ROLE … SET may set what only a superuser may). It reads the roles that
// exist.
func (r *Roles) Check(ctx context.Context, conn *pgconn.PgConn, trusted bool) error {
	res := conn.ExecParams(ctx, `SELECT r.rolname, r.rolsuper, r.rolcreaterole FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) session_user`, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("reading the role that restores the roles: %w", res.Err)
	}
	if len(res.Rows) != 1 {
		return fmt.Errorf("reading the role that restores the roles: no answer for the session user")
	}
	row := res.Rows[0]
	name, super, create := strconv.Quote(string(row[0])), string(row[1]) == "t", string(row[2]) == "t"
	switch {
	case super && !trusted:
		return fmt.Errorf("%w: the role %s that restores the roles is a superuser: the roles' settings would be applied with a superuser's rights; restore them as a role with CREATEROLE that is not a superuser, or give -trust-dump", ErrRefused, name)
	case !super && !create:
		return fmt.Errorf("%w: the role %s has neither CREATEROLE nor SUPERUSER", ErrCannotCreateRoles, name)
	}
	if v := conn.ExecParams(ctx, `SELECT pg_catalog.current_setting('server_version_num')`, nil, nil, nil, nil).Read(); v.Err == nil && len(v.Rows) == 1 {
		r.version, _ = strconv.Atoi(string(v.Rows[0][0]))
	}
	res = conn.ExecParams(ctx, `SELECT rolname FROM pg_catalog.pg_roles`, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("reading the roles of the server: %w", res.Err)
	}
	r.trusted, r.super, r.existing, r.noted = trusted, super, map[string]bool{}, map[string]bool{}
	for _, row := range res.Rows {
		r.existing[string(row[0])] = true
	}
	return nil
}

// decide returns what to do with a statement of the script, the SQL to
// send for run (the statement's text, or one built from its names), and
// why for skip and refuse.
func (r *Roles) decide(s dumpstat.Statement, text string) (act action, sql, why string) {
	ts := s.Tokens()
	g := grammar{ts: ts}
	word := func(w ...string) bool { return g.words(w...) }
	switch {
	case word("set"):
		switch g.word() {
		case "default_transaction_read_only", "client_encoding", "standard_conforming_strings":
			return run, text, ""
		}
	case word("create", "role"):
		name, ok := g.name()
		if !ok || !g.end() {
			break
		}
		if r.existing[name] {
			r.noted[name] = true
			if r.AlterExisting {
				return r.skip("role %s exists: its attributes, password and settings become the backup's, where the restoring role may change them", strconv.Quote(name))
			}
			return r.skip("role %s exists: left as it is", strconv.Quote(name))
		}
		r.existing[name] = true
		r.Created = append(r.Created, name)
		return run, "CREATE ROLE " + quoteIdent(name), ""
	case word("alter", "role"):
		name, ok := g.name()
		if !ok {
			break
		}
		at := g.i
		if g.words("with") && g.roleOptions() || g.i == at && g.roleSetting() {
			if r.isOld(name) && !r.AlterExisting {
				return r.skipOld(name)
			}
			act := run
			if r.isOld(name) {
				act = try // the restoring role may not alter it
			}
			drop := map[int]bool{}
			if !r.super {
				// Only a superuser may write these, even to say what a
				// new role is anyway.
				for _, i := range g.superOnly {
					drop[i] = true
				}
			}
			if !r.trusted {
				for _, i := range g.rightsAt {
					drop[i] = true
				}
				if len(g.rights) > 0 {
					r.Notes = append(r.Notes, fmt.Sprintf("role %s not given %s: a restore gives roles no more rights than a database owner has (-trust-dump restores them as they are)", strconv.Quote(name), strings.Join(g.rights, ", ")))
				}
			}
			return act, "ALTER ROLE " + quoteIdent(name) + " " + rebuild(ts, at, drop), ""
		}
	case word("comment", "on", "role"):
		name, ok := g.name()
		at := g.i
		if !ok || !g.words("is") || !g.literal() || !g.end() {
			break
		}
		act := run
		if r.isOld(name) && !r.AlterExisting {
			return r.skipOld(name)
		} else if r.isOld(name) {
			act = try
		}
		return act, "COMMENT ON ROLE " + quoteIdent(name) + " " + rebuild(ts, at, nil), ""
	case word("grant"):
		if g.grantsOn() {
			return r.skip("a privilege on %s: %s", g.onWhat(), describe([]byte(text)))
		}
		return r.grant(&g, text)
	case word("revoke"):
		if g.grantsOn() {
			return r.skip("a privilege on %s: %s", g.onWhat(), describe([]byte(text)))
		}
	case word("create", "tablespace"), word("alter", "tablespace"), word("comment", "on", "tablespace"):
		return r.skip("tablespaces are not restored: %s", describe([]byte(text)))
	case word("security", "label"):
		return r.skip("security labels are not restored: %s", describe([]byte(text)))
	}
	return refuse, "", "a statement pg_dumpall --globals-only does not write"
}

// rebuild is the statement's tokens from index from on, as written,
// without those at the indexes in drop.
func rebuild(ts []dumpstat.Token, from int, drop map[int]bool) string {
	var b strings.Builder
	var prev byte
	for i := from; i < len(ts); i++ {
		t := ts[i]
		if drop[i] {
			continue
		}
		digit := t.Kind >= '0' && t.Kind <= '9'
		if b.Len() > 0 && t.Kind != ';' && !(digit && (prev == '-' || prev >= '0' && prev <= '9')) {
			b.WriteByte(' ')
		}
		b.WriteString(t.Raw)
		prev = t.Kind
	}
	return b.String()
}

// isOld reports whether a role existed before the restore.
func (r *Roles) isOld(name string) bool {
	return r.existing[name] && !contains(r.Created, name)
}

// skipOld leaves out a statement on a role that existed, with a note
// the first time.
func (r *Roles) skipOld(name string) (action, string, string) {
	if r.noted[name] {
		r.Skipped++
		return skip, "", "an existing role"
	}
	r.noted[name] = true
	return r.skip("role %s exists: left as it is", strconv.Quote(name))
}

func (r *Roles) skip(format string, args ...any) (action, string, string) {
	why := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, why)
	r.Skipped++
	return skip, "", why
}

// grant decides a membership: GRANT role [, …] TO member [, …] [WITH
// option [, …]] [GRANTED BY role] ;
func (r *Roles) grant(g *grammar, text string) (action, string, string) {
	roles, ok := g.names()
	if !ok || !g.words("to") {
		return refuse, "", "a GRANT pg_dumpall --globals-only does not write"
	}
	members, ok := g.names()
	admin := false
	var narrower []string // INHERIT FALSE, SET FALSE: PostgreSQL 16's
	if ok && g.words("with") {
		for ok {
			opt := g.word()
			val := g.word()
			switch {
			case opt == "admin" && (val == "option" || val == "true"):
				admin = true
			case (opt == "inherit" || opt == "set") && val == "false":
				narrower = append(narrower, strings.ToUpper(opt)+" FALSE")
			case (opt == "admin" || opt == "inherit" || opt == "set") && (val == "true" || val == "false" || val == "option"):
			default:
				ok = false
			}
			if !g.punct(',') {
				break
			}
		}
	}
	if ok && g.words("granted", "by") {
		_, ok = g.name()
	}
	if !ok || !g.end() {
		return refuse, "", "a GRANT pg_dumpall --globals-only does not write"
	}
	if !r.trusted {
		for _, role := range roles {
			if !contains(r.Created, role) {
				return r.skip("%s not granted to %s: %s existed before the restore, and a restore makes no role a member of a role it did not create (-trust-dump grants it)",
					strconv.Quote(role), quoteList(members), strconv.Quote(role))
			}
		}
	}
	q := make([]string, len(roles))
	for i, n := range roles {
		q[i] = quoteIdent(n)
	}
	m := make([]string, len(members))
	for i, n := range members {
		m[i] = quoteIdent(n)
	}
	sql := "GRANT " + strings.Join(q, ", ") + " TO " + strings.Join(m, ", ")
	var with []string
	if admin {
		with = append(with, "ADMIN OPTION")
	}
	if len(narrower) > 0 && r.version < 160000 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s granted to %s without %s, which this server (before PostgreSQL 16) does not know: the membership inherits and allows SET ROLE",
			quoteList(roles), quoteList(members), strings.Join(narrower, ", ")))
	} else {
		with = append(with, narrower...)
	}
	if len(with) > 0 {
		sql += " WITH " + strings.Join(with, ", ")
	}
	return run, sql, ""
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// grammar reads a statement's tokens from the start.
type grammar struct {
	ts []dumpstat.Token
	i  int
	// rights lists what roleOptions saw given that a restore gives only
	// to trusted dumps, and rightsAt their indexes; superOnly are the
	// indexes of the options only a superuser may write.
	rights              []string
	rightsAt, superOnly []int
}

// words consumes the words w if the statement goes on with them.
func (g *grammar) words(w ...string) bool {
	if g.i+len(w) > len(g.ts) {
		return false
	}
	for k, x := range w {
		if t := g.ts[g.i+k]; t.Kind != 'w' || t.Text != x {
			return false
		}
	}
	g.i += len(w)
	return true
}

// word consumes a word and returns it, "" when the next token is none.
func (g *grammar) word() string {
	if g.i < len(g.ts) && g.ts[g.i].Kind == 'w' {
		g.i++
		return g.ts[g.i-1].Text
	}
	return ""
}

// name consumes a role's name, a word or a quoted identifier, cut as the
// server cuts it (maxName). The words that stand for another role where
// a role's name goes (CURRENT_USER: the restoring role) are no name.
func (g *grammar) name() (string, bool) {
	if g.i >= len(g.ts) {
		return "", false
	}
	t := g.ts[g.i]
	switch {
	case t.Kind == 'w' && specialRoles[t.Text]:
		return "", false
	case t.Kind == 'w' || t.Kind == 'q':
		g.i++
		return cutName(t.Text), true
	}
	return "", false
}

// specialRoles are the words a role specification takes for a role other
// than one of that name (or for every role).
var specialRoles = map[string]bool{"current_user": true, "session_user": true, "current_role": true, "user": true, "all": true, "public": true, "none": true}

// maxName is the longest name the server keeps, in bytes (NAMEDATALEN-1):
// it cuts longer ones, at a character's start.
const maxName = 63

func cutName(s string) string {
	if len(s) <= maxName {
		return s
	}
	n := maxName
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// names consumes name [, name …].
func (g *grammar) names() ([]string, bool) {
	var out []string
	for {
		n, ok := g.name()
		if !ok {
			return nil, false
		}
		out = append(out, n)
		if !g.punct(',') {
			return out, true
		}
	}
}

func (g *grammar) punct(b byte) bool {
	if g.i < len(g.ts) && g.ts[g.i].Kind == b {
		g.i++
		return true
	}
	return false
}

func (g *grammar) literal() bool { return g.punct('s') }

// number consumes an integer, which the tokens hold as one digit each,
// with an optional minus.
func (g *grammar) number() bool {
	g.punct('-')
	n := 0
	for g.i < len(g.ts) && g.ts[g.i].Kind >= '0' && g.ts[g.i].Kind <= '9' {
		g.i++
		n++
	}
	return n > 0
}

// end reports whether the statement ends here, with its semicolon.
func (g *grammar) end() bool { return g.i == len(g.ts)-1 && g.ts[g.i].Kind == ';' }

// roleOptions consumes ALTER ROLE's options up to the end of the
// statement, noting the rights only a trusted dump gives.
func (g *grammar) roleOptions() bool {
	for !g.end() {
		at := g.i
		switch w := g.word(); w {
		case "superuser", "createrole", "replication", "bypassrls":
			g.rights = append(g.rights, strings.ToUpper(w))
			g.rightsAt = append(g.rightsAt, at)
			if w != "createrole" {
				g.superOnly = append(g.superOnly, at)
			}
		case "nosuperuser", "noreplication", "nobypassrls":
			g.superOnly = append(g.superOnly, at)
		case "inherit", "noinherit", "nocreaterole", "createdb", "nocreatedb", "login", "nologin":
		case "connection":
			if !g.words("limit") || !g.number() {
				return false
			}
		case "encrypted", "password":
			if w == "encrypted" && !g.words("password") {
				return false
			}
			if !g.literal() && !g.words("null") {
				return false
			}
		case "valid":
			if !g.words("until") || !g.literal() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// roleSetting consumes [IN DATABASE name] SET name {TO | =} value [, …]
// or RESET name, as pg_dumpall writes a role's settings.
func (g *grammar) roleSetting() bool {
	if g.words("in", "database") {
		if _, ok := g.name(); !ok {
			return false
		}
	}
	if g.words("reset") {
		_, ok := g.name()
		return ok && g.end()
	}
	if !g.words("set") {
		return false
	}
	for {
		if _, ok := g.name(); !ok {
			return false
		}
		if !g.punct('.') {
			break
		}
	}
	if !g.words("to") && !g.punct('=') {
		return false
	}
	for {
		if !g.literal() && !g.number() && g.word() == "" {
			if _, ok := g.name(); !ok {
				return false
			}
		}
		g.punct('.')
		for g.i < len(g.ts) && g.ts[g.i].Kind >= '0' && g.ts[g.i].Kind <= '9' {
			g.i++
		}
		if !g.punct(',') {
			break
		}
	}
	g.words("user", "set")
	return g.end()
}

// grantsOn reports whether a GRANT or REVOKE is of privileges ON
// something rather than of roles, and consumes up to ON.
func (g *grammar) grantsOn() bool {
	for k := g.i; k < len(g.ts); k++ {
		if t := g.ts[k]; t.Kind == 'w' && t.Text == "on" {
			g.i = k + 1
			return true
		} else if t.Kind == 'w' && (t.Text == "to" || t.Text == "from") {
			return false
		}
	}
	return false
}

// onWhat names what a GRANT … ON is on.
func (g *grammar) onWhat() string {
	if w := g.word(); w != "" {
		return strings.ToLower(w)
	}
	return "something"
}

// DropRoles drops roles, in the reverse order of their creation.
func DropRoles(ctx context.Context, conn *pgconn.PgConn, names []string) error {
	for i := len(names) - 1; i >= 0; i-- {
		if err := conn.ExecParams(ctx, "DROP ROLE "+quoteIdent(names[i]), nil, nil, nil, nil).Read().Err; err != nil {
			return fmt.Errorf("dropping role %s: %w", strconv.Quote(names[i]), err)
		}
	}
	return nil
}

package restore

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// action is what Plain does with a statement of the dump.
type action int

const (
	run    action = iota // send it
	skip                 // leave it out (ownership and privileges of an untrusted dump; transaction control)
	refuse               // stop the restore: it reaches beyond the target
	try                  // send it; if it fails, undo it and go on (restore.Roles)
)

// decide returns what to do with s and, for skip and refuse, why.
// trusted keeps ownership and privileges.
func decide(s dumpstat.Statement, trusted bool) (action, string) {
	ts := s.Tokens()
	w := func(i int) string {
		if i < len(ts) && ts[i].Kind == 'w' {
			return ts[i].Text
		}
		return ""
	}
	first, second := w(0), w(1)
	switch first {
	case "create", "alter", "drop":
		switch second {
		case "database":
			return refuse, strings.ToUpper(first) + " DATABASE"
		case "role", "group", "tablespace":
			return refuse, strings.ToUpper(first + " " + second)
		case "user":
			if w(2) != "mapping" {
				return refuse, strings.ToUpper(first) + " USER"
			}
		case "system":
			if first == "alter" {
				return refuse, "ALTER SYSTEM"
			}
		}
	case "load":
		return refuse, "LOAD"
	case "do":
		// pg_dump writes none; its code would run as the restoring role
		// before anything of the dump needs it.
		return refuse, "a DO block"
	case "reassign":
		return refuse, "REASSIGN OWNED"
	case "copy":
		if !s.Copy || !copyFromStdin(ts) {
			return refuse, "a COPY that is not COPY table FROM stdin"
		}
	case "begin", "start", "commit", "end":
		// pg_dump wraps large objects in BEGIN and COMMIT; the whole dump
		// is one transaction already, which its COMMIT would end early.
		if first != "start" || second == "transaction" {
			return skip, "transaction control"
		}
	case "rollback", "abort", "savepoint", "release", "prepare":
		if first != "prepare" || second == "transaction" {
			return refuse, strings.ToUpper(first)
		}
	}
	if trusted {
		return run, ""
	}
	switch {
	case first == "grant" || first == "revoke":
		return skip, "privileges"
	case first == "alter" && second == "default" && w(2) == "privileges":
		return skip, "privileges"
	case first == "set" && (second == "session" && w(2) == "authorization" || second == "session_authorization"):
		return skip, "ownership"
	case first == "alter" && ownerTo(ts):
		return skip, "ownership"
	}
	return run, ""
}

// ownerTo reports whether the statement ends OWNER TO name ;.
func ownerTo(ts []dumpstat.Token) bool {
	n := len(ts)
	return n >= 4 && ts[n-1].Kind == ';' && (ts[n-2].Kind == 'w' || ts[n-2].Kind == 'q') &&
		ts[n-3].Kind == 'w' && ts[n-3].Text == "to" && ts[n-4].Kind == 'w' && ts[n-4].Text == "owner"
}

// copyFromStdin reports whether a COPY statement is exactly as pg_dump
// writes it, with nothing else in it:
//
//	COPY [schema.]table [( column [, …] )] FROM stdin ;
//
// so that the server reads its data from the dump and from nowhere else,
// and the statement is one statement however it is read.
func copyFromStdin(ts []dumpstat.Token) bool {
	i := 1
	name := func() bool {
		if i < len(ts) && (ts[i].Kind == 'w' || ts[i].Kind == 'q') {
			i++
			return true
		}
		return false
	}
	is := func(kind byte, text string) bool {
		if i < len(ts) && ts[i].Kind == kind && ts[i].Text == text {
			i++
			return true
		}
		return false
	}
	if !name() || is('.', "") && !name() {
		return false
	}
	if is('(', "") {
		for {
			if !name() {
				return false
			}
			if !is(',', "") {
				break
			}
		}
		if !is(')', "") {
			return false
		}
	}
	return is('w', "from") && is('w', "stdin") && is(';', "") && i == len(ts)
}

// restrictLine is pg_dump's \restrict and \unrestrict line: psql's guard
// against backslash commands in the dump, harmless where none can run.
var restrictLine = regexp.MustCompile(`^\\(un)?restrict [A-Za-z0-9]+\r?$`)

// describe names a piece of the dump for a message: its start, with
// control characters escaped, capped.
func describe(text []byte) string {
	const max = 60
	s := string(text)
	if i := strings.IndexAny(s, "\n"); i >= 0 && i < max {
		s = s[:i] + "…"
	} else if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%+q", s)
}

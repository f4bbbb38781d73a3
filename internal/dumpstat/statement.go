package dumpstat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// isCopy reports whether stmt (a statement's start) may be a COPY.
func isCopy(stmt []byte) bool { return startsWith(stmt, "COPY") }

// startsWith reports whether stmt may start with the keyword kw.
func startsWith(stmt []byte, kw string) bool {
	n := min(len(stmt), len(kw))
	return bytes.EqualFold(stmt[:n], []byte(kw[:n])) && !(len(stmt) > n && identCont(stmt[n]))
}

// A Token is a token of a statement: a word, a quoted identifier, a
// literal or a punctuation byte.
type Token struct {
	Kind byte   // 'w' word, 'q' quoted identifier, 's' literal, or the punctuation byte
	Text string // a word folded to lower case, a quoted identifier's name
	Raw  string // the token as the statement holds it
}

// Tokens splits the statement's text into tokens, as far as it can be
// read (a truncated one may end inside a literal).
func (s Statement) Tokens() []Token {
	ts, _ := tokens(s.Text, s.stdStrings, s.enc)
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = Token{Kind: t.kind, Text: t.text, Raw: string(s.Text[t.start:t.end])}
	}
	return out
}

// token is a token of a complete statement.
type token struct {
	kind  byte   // 'w' word, 'q' quoted identifier, 's' literal, or the punctuation byte
	text  string // a word folded to lower case, a quoted identifier's name
	start int    // where the token starts in the statement
	end   int    // where it ends
}

// tokens splits a complete statement (as Counter records it: comments
// already replaced by a space) into words, quoted identifiers, literals and
// punctuation. stdStrings and enc are the session's, as the Counter read
// the statement.
func tokens(s []byte, stdStrings bool, enc encoding) ([]token, error) {
	var ts []token
	for i := 0; i < len(s); {
		b := s[i]
		switch {
		case isSpace(b):
			i++
		case identStart(b):
			j := i + 1
			for j < len(s) && identCont(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '\'' {
				// E'…' (backslash escapes), B'…', X'…', N'…': a literal.
				one := byte(0)
				if j-i == 1 {
					one = lower(b)
				}
				k, err := skipLiteral(s, j, one == 'e' || !stdStrings && one != 'b' && one != 'x', enc)
				if err != nil {
					return ts, err
				}
				ts = append(ts, token{kind: 's', start: i, end: k})
				i = k
				continue
			}
			ts = append(ts, token{kind: 'w', text: foldASCII(s[i:j]), start: i, end: j})
			i = j
		case b == '"':
			name, j, err := quoted(s, i)
			if err != nil {
				return ts, err
			}
			ts = append(ts, token{kind: 'q', text: name, start: i, end: j})
			i = j
		case b == '\'':
			escapes := !stdStrings
			if i >= 2 && s[i-1] == '&' && (s[i-2] == 'u' || s[i-2] == 'U') {
				escapes = false // U&'…'
			}
			j, err := skipLiteral(s, i, escapes, enc)
			if err != nil {
				return ts, err
			}
			ts = append(ts, token{kind: 's', start: i, end: j})
			i = j
		default:
			ts = append(ts, token{kind: b, start: i, end: i + 1})
			i++
		}
	}
	return ts, nil
}

// quoted reads the quoted identifier at s[i] ("…" with "" for a quote) and
// returns its name and the index after it.
func quoted(s []byte, i int) (string, int, error) {
	var name []byte
	for j := i + 1; j < len(s); j++ {
		if s[j] != '"' {
			name = append(name, s[j])
			continue
		}
		if j+1 < len(s) && s[j+1] == '"' {
			name = append(name, '"')
			j++
			continue
		}
		if len(name) == 0 {
			return "", 0, errors.New("zero-length quoted identifier")
		}
		return string(name), j + 1, nil
	}
	return "", 0, errors.New("unterminated quoted identifier")
}

// skipLiteral returns the index after the literal that starts at s[i].
func skipLiteral(s []byte, i int, escapes bool, enc encoding) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] >= 0x80 && enc != safe:
			// The rest of the character is hidden from the lexer.
			next := -1
			if j+1 < len(s) {
				next = int(s[j+1])
			}
			j += enc.hidden(s[j], next)
		case escapes && s[j] == '\\':
			j++
		case s[j] == '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated literal")
}

// foldASCII lowers ASCII letters, as PostgreSQL folds unquoted names.
func foldASCII(b []byte) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, string(b))
}

// parseCopy reads a complete COPY statement. ok reports whether it reads
// its data from stdin, so that a data block follows it in the dump:
//
//	COPY name [ ( column, … ) ] FROM STDIN [ options ] ;
//
// The table name is one or two identifiers, unquoted or quoted. err is set
// when the statement reads stdin but its name could not be read; the
// table's Key is then the text between COPY and FROM.
func parseCopy(stmt []byte, stdStrings bool, enc encoding) (t Table, ok bool, err error) {
	ts, terr := tokens(stmt, stdStrings, enc)
	// psql sends the statement and reads data for it whenever the server
	// takes it as COPY FROM STDIN; find that first, then the name.
	from := -1
	for i := 1; i+1 < len(ts); i++ {
		if ts[i].kind == 'w' && ts[i].text == "from" && ts[i+1].kind == 'w' && ts[i+1].text == "stdin" {
			from = i
			break
		}
	}
	if terr != nil || from < 0 {
		if terr == nil || !bytes.Contains(bytes.ToLower(stmt), []byte("stdin")) {
			return t, false, nil
		}
		return Table{Key: string(stmt)}, true, fmt.Errorf("cannot read the COPY statement %.80q: %v", stmt, terr)
	}
	t, n, err := parseName(stmt, ts[1:from])
	if err == nil && n != from-1 && ts[1+n].kind != '(' {
		err = fmt.Errorf("unexpected %q after the table name", stmt[ts[1+n].start:ts[1+n].end])
	}
	if err != nil {
		key := strings.TrimSpace(string(stmt[ts[0].end:ts[from].start]))
		return Table{Key: key}, true, fmt.Errorf("cannot read the table name of COPY %.80q: %v", key, err)
	}
	return t, true, nil
}

// parseName reads a table name, schema-qualified or not, from the start of
// ts and returns it and the number of tokens it took.
func parseName(stmt []byte, ts []token) (Table, int, error) {
	var parts []string
	n := 0
	for {
		if n >= len(ts) || ts[n].kind != 'w' && ts[n].kind != 'q' {
			return Table{}, 0, errors.New("no table name")
		}
		parts = append(parts, ts[n].text)
		n++
		if n < len(ts) && ts[n].kind == '.' {
			n++
			continue
		}
		break
	}
	if n < len(ts) && ts[n].start == ts[n-1].end && ts[n].kind != '(' {
		return Table{}, 0, fmt.Errorf("unexpected %q in the table name", stmt[ts[n].start:ts[n].end])
	}
	t := Table{Key: string(stmt[ts[0].start:ts[n-1].end])}
	switch len(parts) {
	case 1:
		t.Name = parts[0]
	case 2:
		t.Schema, t.Name = parts[0], parts[1]
	default:
		return Table{}, 0, fmt.Errorf("a name of %d parts", len(parts))
	}
	return t, n, nil
}

// parseSet reads the setting a SET or RESET statement changes and the
// value it gives, folded to lower case ("default" for DEFAULT and RESET;
// the name "all" for RESET ALL):
//
//	SET [SESSION | LOCAL] name { = | TO } { value | 'value' | DEFAULT }
//	SET [SESSION | LOCAL] NAMES { value | 'value' | DEFAULT }
//	RESET { name | ALL }
func parseSet(stmt []byte, stdStrings bool, enc encoding) (name, value string, ok bool) {
	ts, err := tokens(stmt, stdStrings, enc)
	if err != nil || len(ts) < 2 || ts[0].kind != 'w' {
		return "", "", false
	}
	nameAt := func(t token) (string, bool) {
		if t.kind != 'w' && t.kind != 'q' {
			return "", false
		}
		return t.text, true
	}
	if ts[0].text == "reset" {
		n, ok := nameAt(ts[1])
		return n, "default", ok
	}
	if ts[0].text != "set" {
		return "", "", false
	}
	i := 1
	if ts[i].kind == 'w' && (ts[i].text == "session" || ts[i].text == "local") && i+1 < len(ts) && !(ts[i+1].kind == '=' || ts[i+1].kind == 'w' && ts[i+1].text == "to") {
		i++
	}
	n, ok := nameAt(ts[i])
	if !ok || i+1 >= len(ts) {
		return "", "", false
	}
	if n == "names" && ts[i].kind == 'w' {
		n = "client_encoding"
	} else {
		i++
		if !(ts[i].kind == '=' || ts[i].kind == 'w' && ts[i].text == "to") || i+1 >= len(ts) {
			return "", "", false
		}
	}
	v := ts[i+1]
	switch v.kind {
	case 'w':
		return n, v.text, true
	case 's':
		lit := string(stmt[v.start:v.end])
		if lit[0] != '\'' {
			return "", "", false
		}
		return n, strings.ToLower(strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")), true
	}
	return "", "", false
}

// record keeps bytes of the statement while they may be needed.
func (c *Counter) record(p ...byte) {
	if c.drop || c.stmtStart {
		return
	}
	c.stmt = append(c.stmt, p...)
	if len(c.stmt) > c.keep {
		c.limit()
	}
}

// limit decides how much of the statement to keep: all of it up to
// MaxStatement when a Listener needs it, all of a COPY, a SET or RESET up
// to maxSet, nothing of any other statement once its first word is known
// (an INSERT is counted). It is called whenever stmt grows past keep.
func (c *Counter) limit() {
	n := len(c.stmt)
	if n > MaxStatement || c.keep == maxSet {
		c.drop = true
		return
	}
	if c.l != nil {
		c.keep = MaxStatement
		return
	}
	for _, k := range []struct {
		word string
		keep int
	}{{"COPY", MaxStatement}, {"SET", maxSet}, {"RESET", maxSet}, {"INSERT", 0}} {
		if !startsWith(c.stmt, k.word) {
			continue
		}
		switch {
		case n <= len(k.word):
			c.keep = n // not known yet
		case k.keep == 0:
			c.insert, c.drop = true, true
		default:
			c.keep = k.keep
		}
		return
	}
	c.drop = true
}

// endStatement ends the statement at its semicolon and reports whether a
// COPY data block follows.
func (c *Counter) endStatement() bool {
	stmt, whole := c.stmt, !c.drop
	c.stmtStart, c.drop, c.ids = true, false, 0
	s := Statement{Start: c.stmtOff, End: c.off + 1, Text: stmt, Truncated: !whole, stdStrings: c.stdStrings, enc: c.enc}
	switch {
	case c.insert || c.l != nil && startsWith(stmt, "INSERT"):
		c.inserts++
	case startsWith(stmt, "SET"), startsWith(stmt, "RESET"):
		c.set(stmt)
	case isCopy(stmt) && whole:
		t, ok, err := parseCopy(stmt, c.stdStrings, c.enc)
		if ok {
			if err != nil && c.err == nil {
				c.err = err
			}
			c.table = t.Key
			if _, seen := c.tables[c.table]; !seen {
				c.tables[c.table] = 0
				c.order = append(c.order, t)
			}
			c.st = afterCopy
			s.Copy, s.Table = true, t
		}
	}
	if c.l != nil {
		c.l.Statement(s)
	}
	return s.Copy
}

// set follows the SETs psql's lexer depends on.
func (c *Counter) set(stmt []byte) {
	name, val, ok := parseSet(stmt, c.stdStrings, c.enc)
	if !ok {
		return
	}
	switch name {
	case "all":
		c.nextStd = true
	case "standard_conforming_strings":
		switch val {
		case "on", "true", "default":
			c.nextStd = true
		case "off", "false":
			c.nextStd = false
		}
	case "client_encoding":
		if val == "default" {
			return // the session's own; a Listener compares with the server's
		}
		e, ok := encodingNamed(val)
		if !ok {
			c.flag("SET client_encoding to %q, which is no encoding", val)
		}
		c.nextEnc = e
	}
}

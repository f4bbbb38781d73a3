package dumpstat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// maxSet is how much of a statement that is not a COPY is kept: enough for
// SET standard_conforming_strings = off;
const maxSet = 64

// isCopy reports whether stmt (a statement's start) may be a COPY.
func isCopy(stmt []byte) bool { return startsWith(stmt, "COPY") }

// isSet reports whether stmt (a statement's start) may be a SET.
func isSet(stmt []byte) bool { return startsWith(stmt, "SET") }

// startsWith reports whether stmt may start with the keyword kw.
func startsWith(stmt []byte, kw string) bool {
	n := min(len(stmt), len(kw))
	return bytes.EqualFold(stmt[:n], []byte(kw[:n])) && !(len(stmt) > n && identCont(stmt[n]))
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
// punctuation.
func tokens(s []byte, stdStrings bool) ([]token, error) {
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
				e := j-i == 1 && (b == 'E' || b == 'e')
				k, err := skipLiteral(s, j, e || !stdStrings)
				if err != nil {
					return nil, err
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
				return nil, err
			}
			ts = append(ts, token{kind: 'q', text: name, start: i, end: j})
			i = j
		case b == '\'':
			j, err := skipLiteral(s, i, !stdStrings)
			if err != nil {
				return nil, err
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
func skipLiteral(s []byte, i int, escapes bool) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch {
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
func parseCopy(stmt []byte) (t Table, ok bool, err error) {
	ts, terr := tokens(stmt, true)
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

// parseStdStrings reads SET standard_conforming_strings = on|off.
func parseStdStrings(stmt []byte) (on, ok bool) {
	ts, err := tokens(stmt, true)
	if err != nil || len(ts) < 4 || ts[0].kind != 'w' || ts[0].text != "set" {
		return false, false
	}
	i := 1
	if ts[i].kind == 'w' && (ts[i].text == "session" || ts[i].text == "local") {
		i++
	}
	if i+2 >= len(ts) || ts[i].kind != 'w' || ts[i].text != "standard_conforming_strings" ||
		!(ts[i+1].kind == '=' || ts[i+1].kind == 'w' && ts[i+1].text == "to") {
		return false, false
	}
	v := ts[i+2]
	val := v.text
	if v.kind == 's' {
		val = strings.ToLower(strings.Trim(string(stmt[v.start:v.end]), "'"))
	}
	switch val {
	case "on", "true":
		return true, true
	case "off", "false":
		return false, true
	}
	return false, false
}

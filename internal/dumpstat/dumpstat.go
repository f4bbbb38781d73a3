// Package dumpstat reads a plain-format pg_dump stream as it passes and
// counts the rows of every table's COPY block, and tells whether the dump
// ran to its end. The backup job records the counts in the manifest; the
// verify action counts again and compares, without a database, and after a
// test restore compares them with count(*) of the restored tables.
//
// The dump is read with the lexical structure psql gives it: string
// literals ('…' with ” and, in E'…', backslash escapes), quoted
// identifiers ("…" with ""), dollar-quoted bodies ($tag$…$tag$), -- and
// nested /* */ comments, and psql's backslash commands. Only a real
// COPY … FROM stdin; statement opens a data block, and a data block ends
// only at its \. line, so text that the database's owners wrote (comments,
// function bodies, names) can never pass for a statement.
package dumpstat

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Complete is the comment pg_dump writes at the end of a complete
// plain-format dump (newer versions follow it with an \unrestrict line).
const Complete = "-- PostgreSQL database dump complete"

// ClusterComplete is the comment pg_dumpall writes at the end of a
// complete dump (of the globals alone, too).
const ClusterComplete = "-- PostgreSQL database cluster dump complete"

// maxStatement caps the text of a COPY statement kept for parsing. A real
// one is at most a few hundred KiB (1,600 columns of quoted 63-byte names).
const maxStatement = 1 << 20

// maxTag caps a dollar-quote tag; longer ones are taken as not a tag.
const maxTag = 1 << 10

var endOfData = []byte("\n\\.\n")

// state is where the lexer is. Every state but inData and afterCopy is a
// part of SQL text; the transitions follow psql's own lexer (psqlscan.l).
type state uint8

const (
	normal       state = iota // SQL outside quotes and comments
	dash                      // a - that may start a -- comment
	slash                     // a / that may start a /* comment
	lineComment               // -- to the end of the line
	blockComment              // /* … */, nested (depth)
	literal                   // '…'; escapes when backslashes is set
	literalQuote              // a ' inside a literal: its end, or the first of ''
	literalEsc                // the byte after a backslash in an escape literal
	ident                     // "…"
	identQuote                // a " inside a quoted identifier: its end, or ""
	dollarTag                 // after a $ that may open a dollar quote
	dollarBody                // inside $tag$…$tag$
	meta                      // a psql backslash command, to the end of the line
	afterCopy                 // the rest of a COPY … FROM stdin; line
	inData                    // COPY data, up to its \. line
)

// Counter is an io.Writer that counts the rows of each COPY block of a
// plain-format dump written to it. It never fails and holds little memory.
type Counter struct {
	st    state
	depth int  // nesting of block comments
	prev  byte // the previous byte in normal (or blockComment) state
	word  int  // length of the identifier or number prev ends, 0 if none
	esc   bool // the literal being read takes backslash escapes

	// stdStrings is psql's standard_conforming_strings: off, backslashes
	// escape in every literal. pg_dump sets it on; old dumps set it off.
	stdStrings bool

	tag   []byte // dollar quote: "$tag$", or the tag being read
	match int    // bytes of the closing "$tag$" matched so far

	// The statement being read, comments replaced by a space: all of a
	// COPY statement, the start of any other (for SET), nothing once that
	// is past.
	stmt      []byte
	stmtStart bool // no byte of the statement has been seen yet
	drop      bool // stmt is no longer kept

	want     string // the completion comment: Complete or ClusterComplete
	comment  []byte // the line comment being read, up to len(want)+1
	complete bool   // the last thing seen was pg_dump's completion comment

	table string // the table whose data is being read
	tail  [3]byte
	ntail int // valid bytes in tail: the last bytes of COPY data seen

	tables map[string]int64
	order  []Table
	err    error
	bytes  int64
}

// Table is a table of the dump: its name as the dump writes it, and the
// schema and table name it stands for.
type Table struct {
	Key    string // as written: schema.table, quoted where needed
	Schema string // "" when the dump did not qualify the name
	Name   string
}

// NewCounter returns an empty Counter for pg_dump's output.
func NewCounter() *Counter { return NewCounterEnding(Complete) }

// NewCounterEnding returns an empty Counter whose Complete looks for the
// completion comment line (ClusterComplete for pg_dumpall's output).
func NewCounterEnding(line string) *Counter {
	return &Counter{tables: map[string]int64{}, stdStrings: true, stmtStart: true, want: line}
}

// Write counts p. It always returns len(p), nil.
func (c *Counter) Write(p []byte) (int, error) {
	n := len(p)
	c.bytes += int64(n)
	for len(p) > 0 {
		switch c.st {
		case inData:
			p = c.data(p)
		case afterCopy:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return n, nil
			}
			p = p[i+1:]
			c.st = inData
			// The data's first line starts here: a marker "\.\n" has no
			// newline of its own before it.
			c.tail[0], c.ntail = '\n', 1
		default:
			p = c.sql(p)
		}
	}
	return n, nil
}

// data consumes COPY data up to and including its end marker.
func (c *Counter) data(p []byte) []byte {
	// A marker split over two writes: join the kept tail with p's start.
	if c.ntail > 0 {
		var j [7]byte
		k := copy(j[:], c.tail[:c.ntail])
		k += copy(j[k:], p[:min(len(p), 4)])
		if i := bytes.Index(j[:k], endOfData); i >= 0 && i < c.ntail && i+len(endOfData) > c.ntail {
			// The marker's first byte(s) were already counted as part of
			// the data (its leading newline ended the last row).
			rest := p[i+len(endOfData)-c.ntail:]
			c.endData()
			return rest
		}
	}
	i := bytes.Index(p, endOfData)
	if i < 0 {
		c.tables[c.table] += int64(bytes.Count(p, []byte{'\n'}))
		c.setTail(p)
		return nil
	}
	c.tables[c.table] += int64(bytes.Count(p[:i+1], []byte{'\n'}))
	rest := p[i+len(endOfData):]
	c.endData()
	return rest
}

func (c *Counter) endData() {
	c.st, c.ntail = normal, 0
	c.prev, c.word = '\n', 0
}

func (c *Counter) setTail(p []byte) {
	if len(p) >= 3 {
		c.ntail = copy(c.tail[:], p[len(p)-3:])
		return
	}
	// Fewer than 3 new bytes: shift them into the tail.
	all := append(append([]byte{}, c.tail[:c.ntail]...), p...)
	if len(all) > 3 {
		all = all[len(all)-3:]
	}
	c.ntail = copy(c.tail[:], all)
}

// sql consumes SQL text until p ends or a COPY data block begins.
func (c *Counter) sql(p []byte) []byte {
	for i := 0; i < len(p); i++ {
		// Long runs inside quotes and comments are skipped, not lexed.
		switch c.st {
		case normal:
			if c.drop && !c.stmtStart {
				i += c.skipPlain(p[i:])
				if i == len(p) {
					return nil
				}
			}
		case literal:
			j := c.skipTo(p[i:], '\'', '\\')
			c.record(p[i : i+j])
			i += j
			if i == len(p) {
				return nil
			}
		case dollarBody:
			if c.match == 0 {
				j := c.skipTo(p[i:], '$', '$')
				c.record(p[i : i+j])
				i += j
				if i == len(p) {
					return nil
				}
			}
		case lineComment, meta:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				c.addComment(p[i:])
				return nil
			}
			c.addComment(p[i : i+j])
			i += j
		}
		if c.step(p[i]) {
			return p[i+1:]
		}
	}
	return nil
}

// plain marks the bytes that token treats like a letter or a space when
// the statement is not being kept: everything but quotes, $, ;, the
// starts of comments and psql's backslash.
var plain = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	for _, b := range []byte("'\"$;-/\\") {
		t[b] = false
	}
	return t
}()

// skipPlain consumes the run of plain bytes at the start of p, as token
// would one by one, and returns its length.
func (c *Counter) skipPlain(p []byte) int {
	n := 0
	for n < len(p) && plain[p[n]] {
		n++
	}
	if n == 0 {
		return 0
	}
	run := p[:n]
	for _, b := range run {
		if !isSpace(b) {
			c.complete = false
			break
		}
	}
	// The identifier the run ends in: its trailing identifier bytes, from
	// the first that may start one.
	s := n
	for s > 0 && identCont(run[s-1]) {
		s--
	}
	switch {
	case s == 0 && c.word > 0:
		c.word += n
	default:
		f := s
		for f < n && !identStart(run[f]) {
			f++
		}
		c.word = n - f
	}
	c.prev = run[n-1]
	return n
}

// skipTo returns the index of the first a or b in p (b only when the
// literal takes escapes), or len(p).
func (c *Counter) skipTo(p []byte, a, b byte) int {
	i := bytes.IndexByte(p, a)
	if i < 0 {
		i = len(p)
	}
	if a != b && c.esc {
		if j := bytes.IndexByte(p[:i], b); j >= 0 {
			i = j
		}
	}
	return i
}

// step lexes one byte of SQL text. It reports whether a COPY data block
// begins after it.
func (c *Counter) step(b byte) bool {
	switch c.st {
	case normal:
		return c.normal(b)
	case dash, slash:
		return c.afterOperator(b)
	case lineComment, meta:
		// Only the newline reaches here.
		if c.st == lineComment && string(c.comment) == c.want {
			c.complete = true
		}
		c.st, c.comment = normal, c.comment[:0]
		c.prev, c.word = '\n', 0
		if !c.stmtStart {
			c.record([]byte{'\n'})
		}
	case blockComment:
		switch {
		case c.prev == '/' && b == '*':
			c.depth++
			b = 0
		case c.prev == '*' && b == '/':
			c.depth--
			b = 0
			if c.depth == 0 {
				c.st, c.prev, c.word = normal, ' ', 0
				return false
			}
		}
		c.prev = b
	case literal:
		c.record([]byte{b})
		switch {
		case b == '\'':
			c.st = literalQuote
		case b == '\\' && c.esc:
			c.st = literalEsc
		}
	case literalEsc:
		c.record([]byte{b})
		c.st = literal
	case ident:
		c.record([]byte{b})
		if b == '"' {
			c.st = identQuote
		}
	case literalQuote, identQuote:
		// The quote that came before b ended the text, unless b doubles it.
		quote, inside := byte('\''), literal
		if c.st == identQuote {
			quote, inside = '"', ident
		}
		if b == quote {
			c.record([]byte{b})
			c.st = inside
			return false
		}
		c.st = normal
		return c.normal(b)
	case dollarTag:
		switch {
		case b == '$':
			c.record([]byte{b})
			c.tag = append(c.tag, '$')
			c.st, c.match = dollarBody, 0
		case (identStart(b) || isDigit(b) && len(c.tag) > 1) && len(c.tag) < maxTag:
			c.record([]byte{b})
			c.tag = append(c.tag, b)
		default:
			// Not a dollar quote ($1, a lone $): SQL goes on.
			c.st, c.prev, c.word = normal, '$', 0
			return c.normal(b)
		}
	case dollarBody:
		c.record([]byte{b})
		switch {
		case b == c.tag[c.match]:
			c.match++
			if c.match == len(c.tag) {
				c.st = normal
			}
		case b == '$':
			// The tag holds no $: a $ can only start the delimiter again.
			c.match = 1
		default:
			c.match = 0
		}
	}
	return false
}

// normal lexes one byte outside quotes and comments.
func (c *Counter) normal(b byte) bool {
	switch b {
	case '-':
		c.st = dash
		return false
	case '/':
		c.st = slash
		return false
	case '\\':
		// psql takes a backslash outside quotes as a command to the end of
		// the line (\connect, \restrict): not a part of the statement.
		c.st = meta
		return false
	}
	return c.token(b)
}

// afterOperator lexes the byte after a - or /: a comment starts, or the -
// or / was an operator and b is lexed after it.
func (c *Counter) afterOperator(b byte) bool {
	op := byte('-')
	if c.st == slash {
		op = '/'
	}
	c.st = normal
	switch {
	case op == '-' && b == '-':
		c.st, c.comment = lineComment, append(c.comment[:0], "--"...)
		return false
	case op == '/' && b == '*':
		c.st, c.depth, c.prev = blockComment, 1, 0
		c.record([]byte{' '})
		return false
	}
	if c.token(op) {
		return true
	}
	return c.normal(b)
}

// token lexes a byte of a statement.
func (c *Counter) token(b byte) bool {
	prev, word := c.prev, c.word
	c.prev, c.word = b, 0
	if isSpace(b) {
		if !c.stmtStart {
			c.record([]byte{b})
		}
		return false
	}
	c.complete = false
	if c.stmtStart {
		c.stmtStart, c.drop = false, false
		c.stmt = c.stmt[:0]
	}
	c.record([]byte{b})
	switch {
	case b == ';':
		return c.endStatement()
	case b == '\'':
		c.st = literal
		// E'…' takes backslash escapes, and so does every literal when
		// standard_conforming_strings is off.
		c.esc = !c.stdStrings || word == 1 && (prev == 'E' || prev == 'e')
	case b == '"':
		c.st = ident
	case b == '$' && word == 0:
		c.st, c.tag = dollarTag, append(c.tag[:0], '$')
	case identStart(b) || word > 0 && (isDigit(b) || b == '$'):
		c.word = word + 1
	}
	return false
}

func (c *Counter) addComment(p []byte) {
	if c.st != lineComment || len(c.comment) > len(c.want) {
		return
	}
	c.comment = append(c.comment, p[:min(len(p), len(c.want)+1-len(c.comment))]...)
}

// record keeps bytes of the statement while it may be one to look at.
func (c *Counter) record(p []byte) {
	if c.drop {
		return
	}
	c.stmt = append(c.stmt, p...)
	if !isCopy(c.stmt) && (!isSet(c.stmt) || len(c.stmt) > maxSet) || len(c.stmt) > maxStatement {
		c.stmt, c.drop = c.stmt[:0], true
	}
}

// endStatement ends the statement at its semicolon and reports whether a
// COPY data block follows.
func (c *Counter) endStatement() bool {
	stmt, drop := c.stmt, c.drop
	c.stmt, c.stmtStart, c.drop = c.stmt[:0], true, false
	if drop {
		return false
	}
	if !isCopy(stmt) {
		if on, ok := parseStdStrings(stmt); ok {
			c.stdStrings = on
		}
		return false
	}
	t, ok, err := parseCopy(stmt)
	if !ok {
		return false
	}
	if err != nil && c.err == nil {
		c.err = err
	}
	c.table = t.Key
	if _, ok := c.tables[c.table]; !ok {
		c.tables[c.table] = 0
		c.order = append(c.order, t)
	}
	c.st = afterCopy
	return true
}

// Rows returns the row count of every table that had a COPY block, by the
// table's name as the dump writes it (schema.table, quoted where needed).
func (c *Counter) Rows() map[string]int64 {
	m := make(map[string]int64, len(c.tables))
	for k, v := range c.tables {
		m[k] = v
	}
	return m
}

// Tables returns the tables in the order their data appeared.
func (c *Counter) Tables() []Table { return append([]Table(nil), c.order...) }

// Err reports a COPY statement whose table name the counter could not
// read; its rows are counted under the name as written.
func (c *Counter) Err() error { return c.err }

// Complete reports whether the dump ended with its completion comment
// (pg_dump's, or the one given to NewCounterEnding): a real comment, not text inside a literal, followed by nothing
// but psql commands, comments and white space.
func (c *Counter) Complete() bool {
	switch c.st {
	case normal, meta:
		return c.complete
	case lineComment:
		return c.complete || string(c.comment) == c.want
	}
	return false
}

// Size is the number of bytes written.
func (c *Counter) Size() int64 { return c.bytes }

// SortedTables returns the names of m in order.
func SortedTables(m map[string]int64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// identStart is psql's ident_start: a letter, an underscore or any byte of
// a multibyte character.
func identStart(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b >= 0x80
}

// identCont is psql's ident_cont.
func identCont(b byte) bool { return identStart(b) || isDigit(b) || b == '$' }

// Check reports whether the table's name survives a trip through JSON and
// a PostgreSQL text value unchanged: no NUL byte, valid UTF-8, not empty.
func (t Table) Check() error {
	for _, s := range []string{t.Schema, t.Name} {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return fmt.Errorf("the table name %q cannot be looked up exactly (a NUL byte or invalid UTF-8)", t.Key)
		}
	}
	if t.Name == "" {
		return fmt.Errorf("the dump's table name %q could not be read", t.Key)
	}
	return nil
}

// Package dumpstat reads a plain-format pg_dump stream as it passes and
// counts the rows of every table's COPY block, and tells whether the dump
// ran to its end. The backup job records the counts in the manifest; the
// verify action counts again and compares, without a database, and after a
// test restore compares them with count(*) of the restored tables.
//
// The dump is read with the lexical structure psql gives it (psqlscan.l):
// string literals ('…' with ”, E'…' with backslash escapes, U&'…', B'…'
// and X'…', and psql's continuation of a literal after a newline),
// quoted identifiers ("…" with ""), dollar-quoted bodies ($tag$…$tag$), --
// and nested /* */ comments, parentheses and the BEGIN … END of SQL-standard
// function bodies (a semicolon inside either ends no statement), and psql's
// backslash commands. It follows SET client_encoding: in the client-only
// encodings (SJIS, BIG5, GBK, UHC, GB18030, JOHAB) the later bytes of a
// multibyte character may be quotes or backslashes, and psql does not see
// them, so neither does the Counter. Only a real COPY … FROM stdin;
// statement opens a data block, and a data block ends only at its \. line,
// so text that the database's owners wrote (comments, function bodies,
// names) can never pass for a statement.
//
// A Listener learns where the statements, backslash commands and data
// blocks are, so that a restore can act on exactly what psql would.
package dumpstat

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Complete is the comment pg_dump writes at the end of a complete
// plain-format dump (newer versions follow it with an \unrestrict line).
const Complete = "-- PostgreSQL database dump complete"

// ClusterComplete is the comment pg_dumpall writes at the end of a
// complete dump (of the globals alone, too).
const ClusterComplete = "-- PostgreSQL database cluster dump complete"

// MaxStatement caps the text of a statement a Counter keeps for parsing
// and hands to its Listener. A COPY statement is at most a few hundred KiB
// (1,600 columns of quoted 63-byte names).
const MaxStatement = 1 << 20

// maxSet is how much of a SET or RESET statement is kept when no Listener
// needs it: enough for every setting the lexer follows.
const maxSet = 1 << 10

// maxTag caps a dollar-quote tag. Neither psql nor the server has a cap:
// a longer one is read as not a tag, and flagged (Problem), since the
// server would read it as one.
const maxTag = MaxStatement

// A Listener is told where a Counter found the parts of the stream psql
// acts on. Offsets count bytes from the start of the stream. The calls
// come from inside Write, in stream order.
type Listener interface {
	// Statement is a complete SQL statement, bytes [s.Start, s.End) of the
	// stream; End is just after its semicolon.
	Statement(s Statement)
	// Command is a psql backslash command, bytes [start, end): from the
	// backslash to the end of its line (the newline not included), or the
	// two bytes of \; and \:. inStatement is set when it came in the middle
	// of a statement.
	Command(start, end int64, inStatement bool)
	// DataStart is where the data block of the last COPY statement begins.
	DataStart(off int64)
	// DataEnd is where it ends: the start of its \. line.
	DataEnd(off int64)
}

// Statement is a complete statement found in the stream.
type Statement struct {
	Start, End int64
	// Text is the statement with its comments replaced by a space; only
	// its first MaxStatement bytes when Truncated.
	Text      []byte
	Truncated bool
	// Copy is set for a COPY … FROM stdin statement: its data block
	// follows. Table is then the table it names.
	Copy  bool
	Table Table

	// The session the statement was read in, for Tokens.
	stdStrings bool
	enc        encoding
}

// Counter is an io.Writer that counts the rows of each COPY block of a
// plain-format dump written to it. It never fails and holds little memory
// (up to MaxStatement bytes of one statement when it has a Listener).
type Counter struct {
	st    state
	lit   litKind // the kind of the literal being read
	depth int     // nesting of block comments
	cprev byte    // the previous byte inside a block comment

	// psql's paren_depth, begin_depth, identifier_count and identifiers:
	// a semicolon ends a statement only outside parentheses and outside
	// the BEGIN … END of a CREATE [OR REPLACE] FUNCTION|PROCEDURE.
	paren, begin int
	ids          int
	head         [4]byte

	// The token being read in normal state: an identifier (wordLen > 0,
	// its first bytes in wordBuf, folded to lower case) or a number (num).
	wordLen int
	wordBuf [9]byte
	num     bool
	adj     byte // a one-letter word that ended right before this byte, or 0
	amp     bool // the previous byte is an & right after a one-letter u or U
	prev    byte // the previous byte in normal state

	quoteAny bool // quoteStop: bytes came after the quote on its line
	quoteNL  bool // quoteStop: a \r came, which psql's lexer takes as a newline

	// standard_conforming_strings and the client encoding: psql reads
	// them afresh for every line, so a SET takes effect after the newline
	// that follows it (next*).
	stdStrings, nextStd bool
	enc, nextEnc        encoding
	hide                int  // bytes of the current multibyte character still hidden
	gbLead              bool // GB18030: a lead byte whose length the next byte decides

	tag   []byte // dollar quote: "$tag$", or the tag being read
	match int    // bytes of the closing "$tag$" matched so far

	// The statement being read, comments replaced by a space: all of it
	// up to MaxStatement when a Listener needs it or it is a COPY, else
	// its first maxHead bytes.
	stmt      []byte
	stmtStart bool  // no byte of the statement has been seen yet
	stmtOff   int64 // the offset of its first byte
	keep      int   // how long stmt may grow before limit decides again
	drop      bool  // stmt is no longer kept
	insert    bool  // it is an INSERT

	want     string // the completion comment: Complete or ClusterComplete
	comment  []byte // the line comment being read, up to len(want)+1
	complete bool   // the last thing seen was the completion comment

	table     string // the table whose data is being read
	lineStart bool   // COPY data: the next byte starts a line
	marker    int    // COPY data: bytes of a "\.\n" or "\.\r\n" line seen
	markerOff int64

	cmdStart int64 // the backslash of the command being read
	cmdIn    bool  // it came inside a statement

	hdr     headerScan
	inserts int // INSERT statements

	tables  map[string]int64
	order   []Table
	err     error // a COPY whose table name could not be read
	problem error // text psql would read otherwise than pg_dump writes it
	off     int64 // offset of the next byte
	l       Listener
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
	return &Counter{tables: map[string]int64{}, stdStrings: true, nextStd: true, stmtStart: true, want: line,
		hdr: headerScan{lineStart: true}}
}

// SetListener makes l hear of every statement, command and data block
// from now on.
func (c *Counter) SetListener(l Listener) { c.l = l }

// SetSession tells the Counter the settings the stream starts with, as
// the connection that will read it has them: its client encoding (as the
// server names it) and standard_conforming_strings. Without it they are
// UTF8 and on, as pg_dump's output sets them before any text.
func (c *Counter) SetSession(clientEncoding string, stdStrings bool) {
	c.enc, _ = encodingNamed(clientEncoding)
	c.nextEnc, c.stdStrings, c.nextStd = c.enc, stdStrings, stdStrings
}

// Session returns the client encoding's class (see EncodingClass) and
// standard_conforming_strings as the stream has set them so far, the
// statement just ended included.
func (c *Counter) Session() (encodingClass string, stdStrings bool) {
	return [...]string{safe: "", sjis: "SJIS", twoByte: "BIG5", gb18030: "GB18030", johab: "JOHAB"}[c.nextEnc], c.nextStd
}

// Write counts p. It always returns len(p), nil.
func (c *Counter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		var k int
		switch c.st {
		case inData:
			k = c.data(p)
		case afterCopy:
			k = c.afterCopy(p)
		default:
			k = c.sql(p)
			c.hdr.scan(p[:k])
		}
		c.off += int64(k)
		p = p[k:]
	}
	return n, nil
}

// data consumes COPY data up to and including its end marker, a line
// "\." (or "\.\r", as psql takes it too), and returns how much it took.
func (c *Counter) data(p []byte) int {
	i := 0
	for i < len(p) {
		if c.marker > 0 {
			b := p[i]
			i++
			switch {
			case c.marker == 1 && b == '.', c.marker == 2 && b == '\r':
				c.marker++
				continue
			case (c.marker == 2 || c.marker == 3) && b == '\n':
				c.endData()
				return i
			}
			// A row that starts like the marker.
			c.marker = 0
			if b == '\n' {
				c.tables[c.table]++
				c.lineStart = true
			}
			continue
		}
		if c.lineStart {
			c.lineStart = false
			if p[i] == '\\' {
				c.marker, c.markerOff = 1, c.off+int64(i)
				i++
				continue
			}
		}
		// Rows up to the next line that starts with a backslash, the only
		// kind that may be the marker.
		j := bytes.Index(p[i:], []byte("\n\\"))
		if j < 0 {
			c.tables[c.table] += int64(bytes.Count(p[i:], []byte{'\n'}))
			c.lineStart = p[len(p)-1] == '\n'
			return len(p)
		}
		c.tables[c.table] += int64(bytes.Count(p[i:i+j+1], []byte{'\n'}))
		c.lineStart = true
		i += j + 1
	}
	return i
}

func (c *Counter) endData() {
	c.st, c.marker, c.hdr.lineStart = normal, 0, true
	c.prev, c.wordLen, c.num = '\n', 0, false
	c.applyLine()
	if c.l != nil {
		c.l.DataEnd(c.markerOff)
	}
}

// afterCopy consumes the rest of a COPY statement's line; psql would read
// anything there as SQL after the data, which pg_dump never writes.
func (c *Counter) afterCopy(p []byte) int {
	for i, b := range p {
		b = c.mask(b)
		switch b {
		case '\n':
			c.st, c.lineStart, c.marker = inData, true, 0
			c.applyLine()
			if c.l != nil {
				c.l.DataStart(c.off + int64(i) + 1)
			}
			return i + 1
		case ' ', '\t', '\r':
		default:
			c.flag("text after a COPY statement on its line at byte %d", c.off+int64(i))
		}
	}
	return len(p)
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

// Problem reports the first thing in the stream that psql would read
// otherwise than pg_dump writes it (pg_dump never writes them): a NUL
// byte, text after a COPY statement on its line, an unknown client
// encoding. Restoring such a stream is refused.
func (c *Counter) Problem() error { return c.problem }

// Uncounted reports a dump whose data the counter could not find: its
// table of contents names table data (pg_dump's "-- Data for Name: …;
// Type: TABLE DATA" lines) but no COPY block or INSERT statement was seen.
// Such a dump would otherwise pass for one with no rows.
func (c *Counter) Uncounted() error {
	if c.hdr.n > 0 && len(c.tables) == 0 && c.inserts == 0 {
		return fmt.Errorf("the dump names table data %d times, but none of it was found: its rows cannot be counted", c.hdr.n)
	}
	return nil
}

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

// InStatement reports whether a statement has begun and not ended.
func (c *Counter) InStatement() bool { return !c.stmtStart || c.st == backslash || c.st == meta }

// Pending returns the offset of the first byte a Listener may still be
// told of: the start of the statement or command being read, else the
// offset of the next byte.
func (c *Counter) Pending() int64 {
	switch {
	case c.st == backslash || c.st == meta:
		if !c.stmtStart {
			return min(c.stmtOff, c.cmdStart)
		}
		return c.cmdStart
	case !c.stmtStart:
		return c.stmtOff
	}
	return c.off
}

// Size is the number of bytes written.
func (c *Counter) Size() int64 { return c.off }

// SortedTables returns the names of m in order.
func SortedTables(m map[string]int64) []string {
	return slices.Sorted(maps.Keys(m))
}

// headerScan counts the lines that start like pg_dump's table-of-contents
// comment for a table's data, wherever they stand.
type headerScan struct {
	lineStart bool
	matched   int
	n         int
}

const dataHeader = "-- Data for Name: "

func (h *headerScan) scan(p []byte) {
	for len(p) > 0 {
		if !h.lineStart && h.matched == 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p, h.lineStart = p[i+1:], true
			continue
		}
		b := p[0]
		p = p[1:]
		h.lineStart = b == '\n'
		if b == dataHeader[h.matched] {
			h.matched++
			if h.matched == len(dataHeader) {
				h.n++
				h.matched = 0
			}
			continue
		}
		h.matched = 0
	}
}

// Check reports whether the table's name survives a trip through JSON and
// a PostgreSQL text value unchanged: no NUL byte, valid UTF-8, not empty.
func (t Table) Check() error {
	for _, s := range []string{t.Schema, t.Name} {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return fmt.Errorf("the table name %q cannot be looked up exactly (a NUL byte or invalid UTF-8)", t.Key)
		}
	}
	if t.Name == "" {
		return errors.New("the dump's table name could not be read")
	}
	return nil
}

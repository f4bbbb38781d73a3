// Package dumpstat reads a plain-format pg_dump stream as it passes and
// counts the rows of every table's COPY block, and tells whether the dump
// ran to its end. The backup job records the counts in the manifest; the
// verify action counts again and compares, without a database, and after a
// test restore compares them with count(*) of the restored tables.
package dumpstat

import (
	"bytes"
	"sort"
)

// Complete is the comment pg_dump writes at the end of a complete
// plain-format dump (newer versions follow it with an \unrestrict line).
const Complete = "-- PostgreSQL database dump complete"

// maxLine caps a line kept outside COPY data (a statement line); longer
// lines are skipped, as no COPY header is that long.
const maxLine = 64 << 10

var (
	copyPrefix = []byte("COPY ")
	copySuffix = []byte(" FROM stdin;")
	endOfData  = []byte("\n\\.\n")
)

// Counter is an io.Writer that counts the rows of each COPY block of a
// plain-format dump written to it. It never fails and holds little memory.
type Counter struct {
	tables   map[string]int64
	order    []string
	inData   string // table whose COPY data is being read, "" outside
	line     []byte // the partial statement line outside COPY data
	skipLine bool   // the current statement line was too long
	tail     [3]byte
	ntail    int    // valid bytes in tail: the last bytes of COPY data seen
	last     []byte // the last bytes written, for Complete
	bytes    int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{tables: map[string]int64{}} }

// Write counts p. It always returns len(p), nil.
func (c *Counter) Write(p []byte) (int, error) {
	n := len(p)
	c.bytes += int64(n)
	c.keepLast(p)
	for len(p) > 0 {
		if c.inData != "" {
			p = c.data(p)
		} else {
			p = c.statement(p)
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
		c.tables[c.inData] += int64(bytes.Count(p, []byte{'\n'}))
		c.setTail(p)
		return nil
	}
	c.tables[c.inData] += int64(bytes.Count(p[:i+1], []byte{'\n'}))
	rest := p[i+len(endOfData):]
	c.endData()
	return rest
}

func (c *Counter) endData() {
	c.inData = ""
	c.ntail = 0
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

// statement consumes bytes outside COPY data, line by line.
func (c *Counter) statement(p []byte) []byte {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		c.addLine(p)
		return nil
	}
	c.addLine(p[:i])
	line := c.line
	c.line, c.skipLine = c.line[:0], false
	if len(line) > len(copyPrefix)+len(copySuffix) && bytes.HasPrefix(line, copyPrefix) && bytes.HasSuffix(line, copySuffix) {
		c.startData(line)
	}
	return p[i+1:]
}

func (c *Counter) addLine(p []byte) {
	if c.skipLine {
		return
	}
	if len(c.line)+len(p) > maxLine {
		c.line, c.skipLine = c.line[:0], true
		return
	}
	c.line = append(c.line, p...)
}

// startData begins a COPY block: COPY schema.table (columns) FROM stdin;
func (c *Counter) startData(line []byte) {
	name := line[len(copyPrefix) : len(line)-len(copySuffix)]
	// The name ends at the first space outside double quotes; quoted
	// identifiers may hold spaces and parentheses.
	quoted := false
	for i, b := range name {
		if b == '"' {
			quoted = !quoted
		} else if b == ' ' && !quoted {
			name = name[:i]
			break
		}
	}
	c.inData = string(name)
	if _, ok := c.tables[c.inData]; !ok {
		c.tables[c.inData] = 0
		c.order = append(c.order, c.inData)
	}
	// The data's first line starts right after the header's newline: a
	// marker "\.\n" there has no newline of its own before it.
	c.tail[0], c.ntail = '\n', 1
}

func (c *Counter) keepLast(p []byte) {
	const keep = 512
	if len(p) >= keep {
		c.last = append(c.last[:0], p[len(p)-keep:]...)
		return
	}
	c.last = append(c.last, p...)
	if len(c.last) > keep {
		c.last = append(c.last[:0], c.last[len(c.last)-keep:]...)
	}
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
func (c *Counter) Tables() []string { return append([]string(nil), c.order...) }

// Complete reports whether the dump's last bytes hold pg_dump's completion
// comment. It looks at the end of the stream alone, so that a statement the
// counter mistook for a COPY header (a function body can hold such a line)
// cannot fail a complete dump.
func (c *Counter) Complete() bool {
	return bytes.Contains(c.last, []byte(Complete))
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

package dumpstat

import "bytes"

// The fast paths of the lexer: runs of bytes that change nothing but the
// token being read are taken at once. They are used only where no byte
// can be hidden (see Counter.fast).

// plain marks the bytes that need no lexing while a statement whose text
// is no longer kept is read: everything but quotes, $, ;, parentheses, the
// starts of comments, psql's backslash, & (of U&'…') and NUL.
var plain = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	for _, b := range []byte("'\"$;-/\\()&\x00") {
		t[b] = false
	}
	return t
}()

// skipPlain consumes the run of plain bytes at the start of p, as normal
// would one by one, and returns its length. Only the token the run ends
// in matters after it: the statement is skippable, so no identifier in
// it can change where the statement ends.
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
	s := n
	for s > 0 && (identCont(run[s-1]) || run[s-1] == '.' && c.num && s == 1) {
		s--
	}
	switch {
	case s == 0 && (c.wordLen > 0 || c.num):
		// The token before the run goes on to its end.
		if c.wordLen > 0 {
			c.wordLen += n
		}
	case s == n:
		c.wordLen, c.num = 0, false
	default:
		f := run[s]
		c.wordLen, c.num = 0, false
		switch {
		case isDigit(f):
			c.num = true
		case identStart(f):
			c.wordLen = n - s
			for k := 0; k < min(c.wordLen, len(c.wordBuf)); k++ {
				c.wordBuf[k] = lower(run[s+k])
			}
		}
	}
	c.prev, c.adj, c.amp = run[n-1], 0, false
	return n
}

// skipWord consumes the rest of the identifier being read at the start
// of p, as normal would one by one, and returns its length.
func (c *Counter) skipWord(p []byte) int {
	n := 0
	for n < len(p) && identCont(p[n]) {
		if c.wordLen < len(c.wordBuf) {
			c.wordBuf[c.wordLen] = lower(p[n])
		}
		c.wordLen++
		n++
	}
	if n > 0 {
		c.record(p[:n]...)
		c.prev, c.complete = p[n-1], false
	}
	return n
}

// nul flags a NUL byte in a run the lexer skips: psql reads a line only
// up to one.
func (c *Counter) nul(run []byte) {
	if k := bytes.IndexByte(run, 0); k >= 0 {
		c.flag("a NUL byte at byte %d", c.off+int64(k))
	}
}

// skipTo returns the index of the first a or b in p (b only when the
// literal takes escapes), or len(p).
func (c *Counter) skipTo(p []byte, a, b byte) int {
	i := bytes.IndexByte(p, a)
	if i < 0 {
		i = len(p)
	}
	if a != b && c.lit == xe {
		if j := bytes.IndexByte(p[:i], b); j >= 0 {
			i = j
		}
	}
	c.nul(p[:i])
	return i
}

package dumpstat

import (
	"bytes"
	"fmt"
)

// state is where the lexer is. Every state but inData and afterCopy is a
// part of SQL text; the transitions follow psql's own lexer (psqlscan.l).
type state uint8

const (
	normal           state = iota // SQL outside quotes and comments
	dash                          // a - that may start a -- comment
	slash                         // a / that may start a /* comment
	lineComment                   // -- to the end of the line
	blockComment                  // /* … */, nested (depth)
	literal                       // '…' of the kind lit
	literalQuote                  // a ' inside a literal: its end, or the first of ''
	literalEsc                    // the byte after a backslash in an escape literal
	quoteStop                     // after a literal: psql's xqs, a continuation may follow
	quoteStopDash                 // a - in quoteStop that may start a comment
	quoteStopComment              // a -- comment in quoteStop
	ident                         // "…"
	identQuote                    // a " inside a quoted identifier: its end, or ""
	dollarTag                     // after a $ that may open a dollar quote
	dollarBody                    // inside $tag$…$tag$
	backslash                     // after a backslash: \; \: or a command
	meta                          // a psql backslash command, to the end of the line
	afterCopy                     // the rest of a COPY … FROM stdin; line
	inData                        // COPY data, up to its \. line
)

// litKind is the kind of a string literal, which decides what ends it.
type litKind uint8

const (
	xq  litKind = iota // '…': '' is a quote
	xe                 // E'…', or any '…' with standard_conforming_strings off: backslashes escape too
	xus                // U&'…': as xq, whatever standard_conforming_strings says
	xb                 // B'…', X'…': the first ' ends it ('' ends one and starts another)
)

// mask returns b as psql's lexer sees it: a byte after the first of a
// multibyte character of a client-only encoding is hidden (0xFF, which
// lexes like a letter). A newline ends psql's line and every character.
func (c *Counter) mask(b byte) byte {
	if c.enc == safe {
		// Nothing is hidden: enc changes only at a newline, which ends
		// every character.
		if b == 0 {
			c.flag("a NUL byte at byte %d", c.off)
		}
		return b
	}
	switch {
	case b == '\n':
		c.hide, c.gbLead = 0, false
	case c.gbLead:
		c.gbLead = false
		if b >= '0' && b <= '9' {
			c.hide = 2
		}
		return 0xFF
	case c.hide > 0:
		c.hide--
		return 0xFF
	case b >= 0x80 && c.enc != safe:
		if c.enc == gb18030 {
			c.gbLead = true
		} else {
			c.hide = c.enc.hidden(b, -1)
		}
	case b == 0:
		c.flag("a NUL byte at byte %d", c.off)
	}
	return b
}

// applyLine makes a SET of the line just ended count from here on.
func (c *Counter) applyLine() { c.stdStrings, c.enc = c.nextStd, c.nextEnc }

func (c *Counter) flag(format string, args ...any) {
	if c.problem == nil {
		c.problem = fmt.Errorf(format, args...)
	}
}

// fast reports whether whole runs of bytes may be skipped: no character
// of a client-only encoding can hide a byte.
func (c *Counter) fast() bool { return c.enc == safe && c.hide == 0 && !c.gbLead }

// sql consumes SQL text until p ends or a COPY data block begins, and
// returns how much it took.
func (c *Counter) sql(p []byte) int {
	base := c.off
	for i := 0; i < len(p); i++ {
		c.off = base + int64(i)
		if c.fast() {
			// Long runs inside quotes and comments are skipped, not lexed.
			switch c.st {
			case normal:
				switch {
				case c.drop && !c.stmtStart && c.skippable():
					i += c.skipPlain(p[i:])
				case c.wordLen > 0:
					i += c.skipWord(p[i:])
				}
			case literal:
				j := c.skipTo(p[i:], '\'', '\\')
				c.record(p[i : i+j]...)
				i += j
			case dollarBody:
				if c.match == 0 {
					j := c.skipTo(p[i:], '$', '$')
					c.record(p[i : i+j]...)
					i += j
				}
			case lineComment, quoteStopComment:
				j := 0
				for j < len(p)-i && p[i+j] != '\n' && p[i+j] != '\r' {
					j++
				}
				c.addComment(p[i : i+j])
				c.nul(p[i : i+j])
				i += j
			case meta:
				j := bytes.IndexByte(p[i:], '\n')
				if j < 0 {
					j = len(p) - i
				}
				c.nul(p[i : i+j])
				i += j
			}
			if i == len(p) {
				c.off = base
				return len(p)
			}
		}
		c.off = base + int64(i)
		b := c.mask(p[i])
		if c.step(b) {
			c.off = base
			return i + 1
		}
		if b == '\n' {
			c.applyLine()
		}
	}
	c.off = base
	return len(p)
}

// step lexes one byte of SQL text (as mask returned it). It reports
// whether a COPY data block begins after it.
func (c *Counter) step(b byte) bool {
	switch c.st {
	case normal:
		return c.normal(b)
	case dash, slash:
		return c.afterOperator(b)
	case lineComment:
		if b != '\n' && b != '\r' {
			c.addComment([]byte{b})
			return false
		}
		c.endComment()
		c.st, c.prev = normal, '\n'
		if !c.stmtStart {
			c.record('\n')
		}
	case blockComment:
		switch {
		case c.cprev == '/' && b == '*':
			c.depth++
			b = 0
		case c.cprev == '*' && b == '/':
			c.depth--
			b = 0
			if c.depth == 0 {
				c.st, c.prev = normal, ' '
				return false
			}
		}
		c.cprev = b
	case literal:
		c.record(b)
		switch {
		case b == '\'' && c.lit == xb:
			c.stopQuote()
		case b == '\'':
			c.st = literalQuote
		case b == '\\' && c.lit == xe:
			c.st = literalEsc
		}
	case literalEsc:
		c.record(b)
		c.st = literal
	case literalQuote:
		if b == '\'' {
			c.record(b)
			c.st = literal
			return false
		}
		c.stopQuote()
		return c.step(b)
	case quoteStop, quoteStopDash, quoteStopComment:
		return c.quoteStopByte(b)
	case ident:
		c.record(b)
		if b == '"' {
			c.st = identQuote
		}
	case identQuote:
		if b == '"' {
			c.record(b)
			c.st = ident
			return false
		}
		c.st, c.prev = normal, '"'
		return c.normal(b)
	case dollarTag:
		switch {
		case b == '$':
			c.tag = append(c.tag, '$')
			c.record(c.tag[1:]...)
			c.st, c.match = dollarBody, 0
		case (identStart(b) || isDigit(b) && len(c.tag) > 1) && len(c.tag) < maxTag:
			c.tag = append(c.tag, b)
		default:
			if len(c.tag) >= maxTag {
				c.flag("a dollar-quote tag longer than %d bytes at byte %d", maxTag, c.off)
			}
			// Not a dollar quote ($1, a lone $): psql throws back all
			// but the $ and lexes the rest again, a word among them.
			c.st, c.prev = normal, '$'
			for _, t := range c.tag[1:] {
				c.normal(t)
			}
			return c.normal(b)
		}
	case dollarBody:
		c.record(b)
		switch {
		case b == c.tag[c.match]:
			c.match++
			if c.match == len(c.tag) {
				c.st, c.prev = normal, '$'
			}
		case b == '$':
			// The tag holds no $: a $ can only start the delimiter again.
			c.match = 1
		default:
			c.match = 0
		}
	case backslash:
		if b == ';' || b == ':' {
			// psql puts the character into the statement, and \; ends
			// no statement.
			c.st, c.prev = normal, b
			if b == ';' {
				c.ids = 0
			}
			if !c.stmtStart {
				c.record(b)
			}
			if c.l != nil {
				c.l.Command(c.cmdStart, c.off+1, c.cmdIn)
			}
			return false
		}
		c.st = meta
		return c.step(b)
	case meta:
		if b == '\n' {
			c.st, c.prev = normal, '\n'
			if c.l != nil {
				c.l.Command(c.cmdStart, c.off, c.cmdIn)
			}
		}
	}
	return false
}

// stopQuote ends a literal at its closing quote: psql then looks ahead for
// a continuation, a newline and another quote.
func (c *Counter) stopQuote() {
	c.st, c.quoteAny, c.quoteNL = quoteStop, false, false
	c.prev, c.wordLen, c.num, c.adj = '\'', 0, false, 0
}

// quoteStopByte lexes a byte after a literal's closing quote, as psql's
// xqs state does with {quotecontinue}: horizontal space and -- comments,
// a newline (for psql's lexer, which sees one line at a time, only a \r
// within the line: a line that ends right after the quote leaves the
// lexer in this state for the next), more space and comments, and a
// quote continue the literal; anything else is lexed as SQL.
func (c *Counter) quoteStopByte(b byte) bool {
	switch c.st {
	case quoteStopComment:
		switch b {
		case '\r':
			c.endComment()
			c.st, c.quoteNL = quoteStop, true
		case '\n':
			c.endComment()
			c.st, c.prev = normal, '\n'
		default:
			c.addComment([]byte{b})
		}
		return false
	case quoteStopDash:
		if b == '-' {
			c.st, c.comment = quoteStopComment, append(c.comment[:0], "--"...)
			return false
		}
		c.st = normal
		c.normal('-')
		return c.step(b)
	}
	switch b {
	case ' ', '\t', '\f':
		c.quoteAny = true
	case '\r':
		c.quoteAny, c.quoteNL = true, true
	case '\n':
		if c.quoteAny {
			c.st, c.prev = normal, '\n'
		}
	case '-':
		c.quoteAny = true
		c.st = quoteStopDash
	case '\'':
		if c.quoteNL {
			c.record(' ', b)
			c.st = literal
			return false
		}
		fallthrough
	default:
		c.st = normal
		return c.normal(b)
	}
	if !c.stmtStart && c.st != quoteStopDash {
		c.record(' ')
	}
	return false
}

// normal lexes one byte outside quotes and comments.
func (c *Counter) normal(b byte) bool {
	if c.wordLen > 0 || c.num {
		if c.wordLen > 0 && identCont(b) || c.num && (identCont(b) && b != '$' || b == '.') {
			c.complete = false
			if c.wordLen > 0 && c.wordLen < len(c.wordBuf) {
				c.wordBuf[c.wordLen] = lower(b)
			}
			if c.wordLen > 0 {
				c.wordLen++
			}
			c.prev = b
			c.record(b)
			return false
		}
		c.endWord(b)
	}
	switch b {
	case '-':
		c.st = dash
		return false
	case '/':
		c.st = slash
		return false
	case '\\':
		// psql takes a backslash outside quotes as a command to the end of
		// the line (\connect, \restrict), not a part of the statement;
		// \; and \: put the character into the statement instead.
		c.st, c.cmdStart, c.cmdIn = backslash, c.off, !c.stmtStart
		return false
	}
	return c.token(b)
}

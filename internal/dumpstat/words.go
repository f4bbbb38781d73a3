package dumpstat

// The words of SQL text: identifiers, keywords and operators, as the
// lexer (lexer.go) ends them.

import "strings"

// endWord ends the identifier or number being read at the byte next, and
// counts an identifier as psql does: not the E of E'…', the U of U&…,
// the B, X or N of B'…', X'…', N'…'.
func (c *Counter) endWord(next byte) {
	n := c.wordLen
	c.wordLen, c.num, c.adj = 0, false, 0
	if n == 0 {
		return
	}
	first := c.wordBuf[0]
	if n == 1 {
		c.adj = first
		if next == '\'' && strings.IndexByte("ebxn", first) >= 0 || next == '&' && first == 'u' {
			return
		}
	}
	c.identifier(c.wordBuf[:min(n, len(c.wordBuf))], n)
}

// identifier is psql's {identifier} rule: it counts the identifiers of a
// statement and tracks BEGIN … END in CREATE [OR REPLACE]
// FUNCTION|PROCEDURE.
func (c *Counter) identifier(w []byte, n int) {
	if c.ids == 0 {
		c.head = [4]byte{}
	}
	if c.ids < len(c.head) && n <= len("procedure") {
		switch string(w) {
		case "create", "function", "procedure", "or", "replace":
			c.head[c.ids] = w[0]
		}
	}
	c.ids++
	if n > len("begin") || n < len("end") || c.paren != 0 || !c.routine() {
		return
	}
	switch string(w) {
	case "begin":
		c.begin++
	case "case":
		// CASE ends with END too, inside a BEGIN.
		if c.begin >= 1 {
			c.begin++
		}
	case "end":
		if c.begin > 0 {
			c.begin--
		}
	}
}

// routine reports whether the statement starts CREATE [OR REPLACE]
// FUNCTION or PROCEDURE (psql's test of its identifiers).
func (c *Counter) routine() bool {
	h := c.head
	return h[0] == 'c' && (h[1] == 'f' || h[1] == 'p' || h[1] == 'o' && h[2] == 'r' && (h[3] == 'f' || h[3] == 'p'))
}

// skippable reports whether no later identifier of the statement can
// matter: it is known not to be CREATE [OR REPLACE] FUNCTION|PROCEDURE.
func (c *Counter) skippable() bool {
	h := c.head
	decided := c.ids >= len(h) || c.ids >= 1 && h[0] != 'c' || c.ids >= 2 && h[1] != 'f' && h[1] != 'p' && h[1] != 'o'
	return decided && !c.routine()
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
		c.st, c.depth, c.cprev = blockComment, 1, 0
		if !c.stmtStart {
			c.record(' ')
		}
		return false
	}
	if c.token(op) {
		return true
	}
	return c.normal(b)
}

// token lexes a byte of a statement that starts no comment or command.
func (c *Counter) token(b byte) bool {
	adj, amp := c.adj, c.amp
	c.prev, c.adj, c.amp = b, 0, false
	if isSpace(b) {
		if !c.stmtStart {
			c.record(b)
		}
		return false
	}
	c.complete = false
	if c.stmtStart {
		c.stmtStart, c.drop, c.keep, c.insert = false, false, 0, false
		c.stmt, c.stmtOff = c.stmt[:0], c.off
	}
	c.record(b)
	switch {
	case b == ';':
		if c.paren == 0 && c.begin == 0 {
			return c.endStatement()
		}
	case b == '(':
		c.paren++
	case b == ')':
		if c.paren > 0 {
			c.paren--
		}
	case b == '\'':
		c.st = literal
		switch {
		case adj == 'e':
			c.lit = xe
		case adj == 'b' || adj == 'x':
			c.lit = xb
		case amp:
			c.lit = xus
		case c.stdStrings:
			c.lit = xq
		default:
			c.lit = xe
		}
	case b == '"':
		c.st = ident
	case b == '&':
		c.amp = adj == 'u'
	case b == '$':
		c.st, c.tag = dollarTag, append(c.tag[:0], '$')
	case identStart(b):
		c.wordLen, c.wordBuf[0] = 1, lower(b)
	case isDigit(b):
		c.num = true
	}
	return false
}

func (c *Counter) addComment(p []byte) {
	if len(c.comment) > len(c.want) {
		return
	}
	c.comment = append(c.comment, p[:min(len(p), len(c.want)+1-len(c.comment))]...)
}

// endComment ends a -- comment: the completion comment, when it is one.
func (c *Counter) endComment() {
	if string(c.comment) == c.want {
		c.complete = true
	}
	c.comment = c.comment[:0]
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// identStart is psql's ident_start: a letter, an underscore or any byte of
// a multibyte character.
func identStart(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b >= 0x80
}

// identCont is psql's ident_cont.
func identCont(b byte) bool { return identStart(b) || isDigit(b) || b == '$' }

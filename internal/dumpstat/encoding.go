package dumpstat

import (
	"strings"
)

// An encoding is how psql's lexer steps over the characters of a client
// encoding. For every encoding PostgreSQL can store (UTF8, LATIN1, EUC_JP,
// …) a byte below 0x80 is always a whole ASCII character, and psql lexes
// byte by byte. The client-only encodings (SJIS, BIG5, GBK, UHC, GB18030,
// JOHAB, SHIFT_JIS_2004) have multibyte characters whose later bytes may
// be ASCII: 'ソ' in SJIS is 0x83 0x5C, a backslash. psql hides those bytes
// from its lexer (psqlscan.l's prepare_buffer replaces every byte of a
// character after its first with 0xFF, line by line), and so must a
// reader that wants to see the statements psql sees.
type encoding uint8

const (
	safe    encoding = iota // a server encoding: no hidden bytes
	sjis                    // SJIS, SHIFT_JIS_2004: 0xA1-0xDF alone, other high bytes lead two
	twoByte                 // BIG5, GBK, UHC: every high byte leads two
	gb18030                 // a high byte leads two, or four when the next is a digit
	johab                   // as EUC: 0x8E leads two, 0x8F three, other high bytes two
)

// encodingNamed maps a client encoding name, as SET client_encoding takes
// it, to how psql lexes it. PostgreSQL compares names with case and every
// character but letters and digits ignored (encnames.c's clean_encoding_name),
// and knows several aliases of each; every name that is not a client-only
// encoding is one psql lexes byte by byte. ok is false for a name that is
// neither one of those aliases nor a plausible encoding name.
func encodingNamed(name string) (e encoding, ok bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	switch b.String() {
	case "sjis", "shiftjis", "mskanji", "win932", "windows932", "shiftjis2004":
		return sjis, true
	case "big5", "win950", "windows950", "gbk", "win936", "windows936", "uhc", "win949", "windows949":
		return twoByte, true
	case "gb18030":
		return gb18030, true
	case "johab":
		return johab, true
	case "":
		return safe, false
	}
	return safe, true
}

// EncodingClass names how psql lexes the client encoding called name:
// "" for byte by byte (every server encoding), or the client-only family.
// Two names of one class are lexed alike.
func EncodingClass(name string) string {
	e, _ := encodingNamed(name)
	return [...]string{safe: "", sjis: "SJIS", twoByte: "BIG5", gb18030: "GB18030", johab: "JOHAB"}[e]
}

// hidden returns how many bytes after lead, a high byte, belong to its
// character; for GB18030 the answer depends on the next byte, next (-1
// when it is not known yet).
func (e encoding) hidden(lead byte, next int) int {
	switch e {
	case sjis:
		if lead >= 0xa1 && lead <= 0xdf {
			return 0
		}
		return 1
	case twoByte:
		return 1
	case gb18030:
		if next >= '0' && next <= '9' {
			return 3
		}
		return 1
	case johab:
		if lead == 0x8f {
			return 2
		}
		return 1
	}
	return 0
}

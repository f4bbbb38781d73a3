package dumpstat

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// events records what a Counter tells its Listener, as text of the
// stream, so that tests compare what psql would act on.
type events struct {
	data []byte
	got  []string
	at   int64 // DataStart's offset
}

func (e *events) Statement(s Statement) {
	kind := "sql"
	if s.Copy {
		kind = "copy " + s.Table.Key
	}
	e.got = append(e.got, kind+": "+string(e.data[s.Start:s.End]))
}

func (e *events) Command(start, end int64, in bool) {
	e.got = append(e.got, fmt.Sprintf("command (in statement %v): %s", in, e.data[start:end]))
}

func (e *events) DataStart(off int64) { e.at = off }

func (e *events) DataEnd(off int64) {
	e.got = append(e.got, "data: "+string(e.data[e.at:off]))
}

// lex writes dump to a Counter with a Listener in pieces of step bytes.
func lex(dump string, step int) (*Counter, []string) {
	c := NewCounter()
	e := &events{data: []byte(dump)}
	c.SetListener(e)
	writeChunked(c, []byte(dump), rand.New(rand.NewPCG(1, 2)), step)
	return c, e.got
}

// TestPsqlLexer pins the places where psql's lexer (psqlscan.l) differs
// from a naive reading of SQL, each of which a dump could use to make a
// reader see other statements than psql runs.
func TestPsqlLexer(t *testing.T) {
	for _, tc := range []struct {
		name string
		dump string
		want []string
	}{
		{"statements and data", "SET a = 1;\nCOPY public.t (a) FROM stdin;\n1\n2\n\\.\nSELECT 2;\n", []string{
			"sql: SET a = 1;", "copy public.t: COPY public.t (a) FROM stdin;", "data: 1\n2\n", "sql: SELECT 2;"}},
		{"a semicolon in parentheses ends nothing", "SELECT (1;\nCOPY public.t FROM stdin;\n);\n", []string{
			"sql: SELECT (1;\nCOPY public.t FROM stdin;\n);"}},
		{"a stray closing parenthesis", "SELECT 1);\nSELECT 2;\n", []string{"sql: SELECT 1);", "sql: SELECT 2;"}},
		{"BEGIN ATOMIC body", "CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql\n    BEGIN ATOMIC\n SELECT 1;\n SELECT CASE WHEN true THEN 2 ELSE 3 END;\nEND;\nCOPY public.t FROM stdin;\n1\n\\.\n", []string{
			"sql: CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql\n    BEGIN ATOMIC\n SELECT 1;\n SELECT CASE WHEN true THEN 2 ELSE 3 END;\nEND;",
			"copy public.t: COPY public.t FROM stdin;", "data: 1\n"}},
		{"CREATE OR REPLACE PROCEDURE", "create or replace procedure p() begin atomic select 1; end;\nSELECT 2;\n", []string{
			"sql: create or replace procedure p() begin atomic select 1; end;", "sql: SELECT 2;"}},
		{"BEGIN outside a routine", "BEGIN;\nSELECT 1;\n", []string{"sql: BEGIN;", "sql: SELECT 1;"}},
		{"begin in parentheses counts not", "CREATE FUNCTION f(begin int) RETURNS int AS 'x';\nSELECT 1;\n", []string{
			"sql: CREATE FUNCTION f(begin int) RETURNS int AS 'x';", "sql: SELECT 1;"}},
		{"a failed dollar quote is a $ and a word", "CREATE FUNCTION f $begin; SELECT 1; end;\nSELECT 2;\n", []string{
			"sql: CREATE FUNCTION f $begin; SELECT 1; end;", "sql: SELECT 2;"}},
		{"a word ending in $ is no dollar quote", "SELECT a$b$; SELECT 1;\n", []string{"sql: SELECT a$b$;", "sql: SELECT 1;"}},
		{"\\r ends a line comment", "-- c\r\\! touch x\nSELECT 1;\n", []string{
			"command (in statement false): \\! touch x", "sql: SELECT 1;"}},
		{"\\; goes into the statement", "SELECT 1 \\; SELECT 2;\n", []string{
			"command (in statement true): \\;", "sql: SELECT 1 \\; SELECT 2;"}},
		{"a command inside a statement", "SELECT 1\n\\gexec\n;\n", []string{
			"command (in statement true): \\gexec", "sql: SELECT 1\n\\gexec\n;"}},
		{"no continuation across psql's lines", "SELECT E'a'\n'\\';\n\\! x\n", []string{
			"sql: SELECT E'a'\n'\\';", "command (in statement false): \\! x"}},
		{"continuation within a line after \\r", "SELECT E'a'\r'\\';\n\\! x\n';\n", []string{
			"sql: SELECT E'a'\r'\\';\n\\! x\n';"}},
		{"continuation after a line that ends at the quote", "SELECT E'a'\n \r -- c\r'\\';\n\\! x\n';\n", []string{
			"sql: SELECT E'a'\n \r -- c\r'\\';\n\\! x\n';"}},
		{"a quote right after the quote is a new literal", "SET standard_conforming_strings = off;\nSELECT B'1''\\';\n\\! x\n';\n", []string{
			"sql: SET standard_conforming_strings = off;", "sql: SELECT B'1''\\';\n\\! x\n';"}},
		{"U& literals take no backslash escapes", "SET standard_conforming_strings = off;\nSELECT U&'\\';\n\\! x\n", []string{
			"sql: SET standard_conforming_strings = off;", "sql: SELECT U&'\\';", "command (in statement false): \\! x"}},
		{"X literals take no backslash escapes", "SET standard_conforming_strings = off;\nSELECT X'\\';\n\\! x\n", []string{
			"sql: SET standard_conforming_strings = off;", "sql: SELECT X'\\';", "command (in statement false): \\! x"}},
		{"N literals follow standard_conforming_strings", "SET standard_conforming_strings = off;\nSELECT N'\\';\n\\! x\n';\n", []string{
			"sql: SET standard_conforming_strings = off;", "sql: SELECT N'\\';\n\\! x\n';"}},
		{"a SET counts from the next line", "SET standard_conforming_strings = off; SELECT '\\';\n\\! x\n", []string{
			"sql: SET standard_conforming_strings = off;", "sql: SELECT '\\';", "command (in statement false): \\! x"}},
		{"\\.\\r ends data too", "COPY t FROM stdin;\n1\n\\.\r\nSELECT 1;\n", []string{
			"copy t: COPY t FROM stdin;", "data: 1\n", "sql: SELECT 1;"}},
		{"rows that start like the marker", "COPY t FROM stdin;\n\\.x\n\\.\rx\n\\\\.\n\\.\n", []string{
			"copy t: COPY t FROM stdin;", "data: \\.x\n\\.\rx\n\\\\.\n"}},
		{"restrict lines", "\\restrict abc\nSELECT 1;\n\\unrestrict abc\n", []string{
			"command (in statement false): \\restrict abc", "sql: SELECT 1;", "command (in statement false): \\unrestrict abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 2, 3, 1 << 20} {
				_, got := lex(tc.dump, step)
				if !slices.Equal(got, tc.want) {
					t.Errorf("step %d:\n got %q\nwant %q", step, got, tc.want)
				}
			}
		})
	}
}

// TestClientEncodings: in the client-only encodings a multibyte character
// may end in a backslash (SJIS ソ is 0x83 0x5C, BIG5 許 is 0xB3 0x5C). psql
// does not take it for one; with standard_conforming_strings off, a reader
// that did would see the literal go on past its end.
func TestClientEncodings(t *testing.T) {
	for _, tc := range []struct {
		enc  string
		char string // a character whose last byte is a backslash
	}{
		{"SJIS", "\x83\x5c"},
		{"Shift_JIS", "\x95\x5c"},
		{"SHIFT_JIS_2004", "\x83\x5c"},
		{"BIG5", "\xb3\x5c"},
		{"GBK", "\x81\x5c"},
		{"UHC", "\x81\x5c"},
		{"GB18030", "\x81\x5c"},
		{"GB18030", "\x81\x30\x81\x5c"[:4]},
		{"JOHAB", "\x84\x5c"},
		{"WIN932", "\x83\x5c"},
	} {
		t.Run(tc.enc, func(t *testing.T) {
			dump := "SET client_encoding = '" + tc.enc + "';\nSET standard_conforming_strings = off;\n" +
				"COMMENT ON TABLE public.t IS '" + tc.char + "';\n" +
				"COPY public.t (a) FROM stdin;\n" + tc.char + "\n2\n\\.\n" +
				"COMMENT ON TABLE public.u IS 'x" + tc.char + "';\n" +
				"--\n" + Complete + "\n"
			for _, step := range []int{1, 2, 3, 1 << 20} {
				c, got := lex(dump, step)
				if !maps.Equal(c.Rows(), map[string]int64{"public.t": 2}) || !c.Complete() || c.Problem() != nil {
					t.Fatalf("step %d: rows %v, complete %v, problem %v; events %q", step, c.Rows(), c.Complete(), c.Problem(), got)
				}
				if len(got) != 6 {
					t.Errorf("step %d: events %q", step, got)
				}
			}
			// Without the SET, the same bytes hide the end of the literal.
			plain := strings.Replace(dump, "SET client_encoding = '"+tc.enc+"';\n", "", 1)
			if c, _ := lex(plain, 1<<20); c.Complete() && maps.Equal(c.Rows(), map[string]int64{"public.t": 2}) {
				t.Errorf("the test proves nothing: UTF8 reads the dump alike")
			}
		})
	}
}

func TestSessionSettings(t *testing.T) {
	for _, tc := range []struct {
		dump, class string
		std         bool
	}{
		{"SET client_encoding = 'SJIS';", "SJIS", true},
		{"SET client_encoding TO big5;", "BIG5", true},
		{"SET NAMES 'gbk';", "BIG5", true},
		{"SET SESSION client_encoding = 'UTF8';", "", true},
		{"set local \"client_encoding\" to 'GB18030';", "GB18030", true},
		{"SET standard_conforming_strings = off;", "", false},
		{"SET standard_conforming_strings TO 'off';", "", false},
		{"SET standard_conforming_strings = off; RESET standard_conforming_strings;", "", true},
		{"SET standard_conforming_strings = off; RESET ALL;", "", true},
		{"SET client_encoding = 'SJIS'; SET client_encoding = DEFAULT;", "SJIS", true},
		{"SET lock_timeout = 0;", "", true},
	} {
		c, _ := lex(tc.dump+"\n", 1<<20)
		if class, std := c.Session(); class != tc.class || std != tc.std {
			t.Errorf("%q: session %q %v, want %q %v", tc.dump, class, std, tc.class, tc.std)
		}
		if c.Problem() != nil {
			t.Errorf("%q: %v", tc.dump, c.Problem())
		}
	}
	c, _ := lex("SET client_encoding = '';\n", 1<<20)
	if c.Problem() == nil {
		t.Error("an empty client encoding is no problem")
	}
}

func TestProblems(t *testing.T) {
	for _, dump := range []string{
		"SELECT 1;\x00\n",
		"SELECT '\x00';\n",
		"-- \x00\n",
		"SELECT $$\x00$$;\n",
		"COPY t FROM stdin; \\! x\n\\.\n",
		"COPY t FROM stdin;SELECT 1;\n\\.\n",
	} {
		for _, step := range []int{1, 1 << 20} {
			if c, _ := lex(dump, step); c.Problem() == nil {
				t.Errorf("%q (step %d): no problem", dump, step)
			}
		}
	}
	for _, dump := range []string{"COPY t FROM stdin; \t\r\n\\.\n", "SELECT '\xff\xfe';\n", "COPY t FROM stdin;\n\x00\n\\.\n"} {
		if c, _ := lex(dump, 1); c.Problem() != nil {
			t.Errorf("%q: %v", dump, c.Problem())
		}
	}
}

func TestUncounted(t *testing.T) {
	header := "--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: o\n--\n\n"
	for _, tc := range []struct {
		dump      string
		uncounted bool
	}{
		{header + "COPY public.t FROM stdin;\n1\n\\.\n", false},
		{header + "INSERT INTO public.t VALUES (1);\n", false},
		{"SELECT 1;\n", false},
		// The data the table of contents names is in a literal that a
		// wrong reading took for the rest of the dump.
		{"COMMENT ON TABLE t IS '\n" + header + "COPY public.t FROM stdin;\n1\n\\.\n", true},
		{header, true},
	} {
		c, _ := lex(tc.dump, 3)
		if (c.Uncounted() != nil) != tc.uncounted {
			t.Errorf("%q: uncounted %v", tc.dump, c.Uncounted())
		}
	}
}

// FuzzListener: however the stream is cut into writes, a Listener hears
// the same things.
func FuzzListener(f *testing.F) {
	f.Add([]byte(sample), uint8(3))
	for _, n := range sqlNoise {
		f.Add([]byte(n), uint8(1))
	}
	f.Add([]byte("SET client_encoding = 'SJIS';\nSET standard_conforming_strings = off;\nSELECT '\x83\x5c';\nCOPY t FROM stdin;\n1\n\\.\r\n"), uint8(2))
	f.Add([]byte("CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;\nSELECT E'a'\r'\\'; \\; $x ($$;$$);\n"), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		d := string(data)
		whole, w := lex(d, 1<<30)
		parts, p := lex(d, 1+int(step))
		if !slices.Equal(w, p) || (whole.Problem() == nil) != (parts.Problem() == nil) || whole.Complete() != parts.Complete() {
			t.Fatalf("in pieces of up to %d:\n%q\nwhole:\n%q", 1+int(step), p, w)
		}
		if whole.Pending() > whole.Size() {
			t.Fatalf("pending %d after %d bytes", whole.Pending(), whole.Size())
		}
	})
}

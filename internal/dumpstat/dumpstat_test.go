package dumpstat

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const sample = `--
-- PostgreSQL database dump
--

CREATE TABLE public.t (id integer, s text);
CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$SELECT 'COPY x'$$;

COPY public.t (id, s) FROM stdin;
1	a\\.b
2	line\nbreak \. and \\.
3	\N
\.


COPY public.empty (id) FROM stdin;
\.


COPY "odd schema"."we (ird" ("a b") FROM stdin;
x
\.


--
-- PostgreSQL database dump complete
--

\unrestrict abc
`

func writeChunked(c *Counter, data []byte, rng *rand.Rand, maxStep int) {
	for len(data) > 0 {
		n := 1 + rng.IntN(maxStep)
		n = min(n, len(data))
		c.Write(data[:n])
		data = data[n:]
	}
}

func TestSample(t *testing.T) {
	want := map[string]int64{"public.t": 3, "public.empty": 0, `"odd schema"."we (ird"`: 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, step := range []int{1, 2, 3, 4, 5, 7, 64, 1 << 20} {
		t.Run(fmt.Sprint(step), func(t *testing.T) {
			c := NewCounter()
			writeChunked(c, []byte(sample), rng, step)
			if got := c.Rows(); !maps.Equal(got, want) {
				t.Errorf("rows %v, want %v", got, want)
			}
			if !c.Complete() {
				t.Error("not complete")
			}
			if c.Size() != int64(len(sample)) {
				t.Errorf("size %d", c.Size())
			}
		})
	}
}

func TestIncomplete(t *testing.T) {
	for _, cut := range []int{strings.Index(sample, "2\tline"), strings.Index(sample, "-- PostgreSQL database dump complete")} {
		c := NewCounter()
		c.Write([]byte(sample[:cut]))
		if c.Complete() {
			t.Errorf("a dump cut at %d is complete", cut)
		}
	}
}

// sqlNoise is SQL text that holds dump-like lines inside literals, quoted
// identifiers, dollar quotes and comments: none of it may open a COPY
// block or end the dump.
var sqlNoise = []string{
	"COMMENT ON TABLE public.x IS 'a\nCOPY public.x FROM stdin;\n1\n\\.\n';\n",
	"COMMENT ON TABLE public.x IS 'it''s\nCOPY public.x FROM stdin;\n';\n",
	"COMMENT ON TABLE public.x IS E'\\'\nCOPY public.x FROM stdin;\n\\\\';\n",
	"CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $_$\nSELECT $q$\nCOPY public.x FROM stdin;\n$q$;\n$_$;\n",
	"CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$SELECT '$x$;\nCOPY public.x FROM stdin;\n'$$;\n",
	"CREATE TABLE \"COPY public.x FROM stdin;\n\" (\"a;\"\"\" int);\n",
	"/* COPY public.x FROM stdin;\n /* nested */\nCOPY public.x FROM stdin;\n*/\n",
	"-- COPY public.x FROM stdin;\n",
	"\\restrict abcdef\n",
	"SELECT $1, a$b$c, 1-2/3 -- x\n;\n",
	"COMMENT ON TABLE public.x IS 'x\n-- PostgreSQL database dump complete\n';\n",
	"COPY public.x TO stdout;\n",
}

// randomDump writes a dump of random tables, rows and noise, and returns
// the row counts it holds.
func randomDump(rng *rand.Rand, b *bytes.Buffer) map[string]int64 {
	want := map[string]int64{}
	b.WriteString("SET standard_conforming_strings = on;\n")
	for tbl := 0; tbl < rng.IntN(5); tbl++ {
		b.WriteString(sqlNoise[rng.IntN(len(sqlNoise))])
		name := []string{"public.t%d", `"we.ird ""s"""."t%d"`, `s.";t%d"`}[rng.IntN(3)]
		name = fmt.Sprintf(name, tbl)
		fmt.Fprintf(b, "COPY %s (a, \"b)\") FROM stdin;\n", name)
		want[name] += 0
		for r := 0; r < rng.IntN(20); r++ {
			row := ""
			for k := 0; k < rng.IntN(6); k++ {
				row += []string{`\.`, `\\`, ".", "x", `\n`, "\t", "'", `"`, "$$", "--", "COPY x FROM stdin;"}[rng.IntN(11)]
			}
			if row == `\.` {
				row = `\\.`
			}
			b.WriteString(row + "\n")
			want[name]++
		}
		b.WriteString("\\.\n\n")
	}
	b.WriteString(sqlNoise[rng.IntN(len(sqlNoise))])
	b.WriteString("--\n" + Complete + "\n--\n\n\\unrestrict abcdef\n\n")
	return want
}

func TestRandomDumps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		var b bytes.Buffer
		want := randomDump(rng, &b)
		c := NewCounter()
		writeChunked(c, b.Bytes(), rng, 1+rng.IntN(9))
		if got := c.Rows(); !maps.Equal(got, want) {
			t.Fatalf("dump %q:\nrows %v, want %v", b.String(), got, want)
		}
		if !c.Complete() || c.Err() != nil {
			t.Fatalf("dump %q: complete %v, err %v", b.String(), c.Complete(), c.Err())
		}
	}
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dump     string
		rows     map[string]int64
		complete bool
	}{
		{"copy", "COPY public.t (a) FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"lower case, no columns, unqualified", "copy t from STDIN;\n1\n2\n\\.\n", map[string]int64{"t": 2}, false},
		{"with oids", "COPY public.t (a) FROM stdin WITH OIDS;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"rest of the COPY line", "COPY public.t FROM stdin; \n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"to stdout has no data", "COPY public.t TO stdout;\n1\n\\.\n", map[string]int64{}, false},
		{"copy inside a statement", "SELECT 1\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{}, false},
		{"literal", "SELECT '\nCOPY public.t FROM stdin;\n1\n\\.\n';\n", map[string]int64{}, false},
		{"doubled quote", "SELECT 'it''s\nCOPY public.t FROM stdin;\n';\n", map[string]int64{}, false},
		{"backslash is no escape in a standard literal", "SELECT 'a\\';\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"E literal", "SELECT E'\\'\nCOPY public.t FROM stdin;\n';\n", map[string]int64{}, false},
		{"e literal after a word is no E literal", "SELECT note'\\';\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"standard_conforming_strings off", "SET standard_conforming_strings = off;\nSELECT 'a\\'\nCOPY public.t FROM stdin;\n';\n", map[string]int64{}, false},
		{"standard_conforming_strings back on", "SET standard_conforming_strings TO off;\nSET standard_conforming_strings = 'on';\nSELECT 'a\\';\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"quoted identifier", "CREATE TABLE \"\nCOPY public.t FROM stdin;\n\"\"\" ();\n", map[string]int64{}, false},
		{"dollar quote", "SELECT $f$\nCOPY public.t FROM stdin;\n$g$ $$ $f $f$;\n", map[string]int64{}, false},
		{"empty dollar tag", "SELECT $$\nCOPY public.t FROM stdin;\n$$;\n", map[string]int64{}, false},
		{"a $ in a word opens nothing", "SELECT a$b$;\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"parameter", "SELECT $1;\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"line comment", "-- x '\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"nested block comment", "/* /* */\nCOPY public.t FROM stdin;\n*/;\n", map[string]int64{}, false},
		{"comment inside COPY", "COPY /* x */ public.t -- y\n FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"comment ends a word", "COPY public.t--y\nFROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"minus and slash", "SELECT 1-2/3;\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"psql command", "\\restrict x'y\nCOPY public.t FROM stdin;\n1\n\\.\n", map[string]int64{"public.t": 1}, false},
		{"quoted names", `COPY "a.b"".c"."t ""1""" ("x)") FROM stdin;` + "\n1\n\\.\n", map[string]int64{`"a.b"".c"."t ""1"""`: 1}, false},
		{"complete", "--\n" + Complete + "\n--\n\n\\unrestrict x\n", map[string]int64{}, true},
		{"complete without the final newline", "--\n" + Complete, map[string]int64{}, true},
		{"completion comment inside a literal", "SELECT '\n" + Complete + "\n", map[string]int64{}, false},
		{"completion comment inside COPY data", "COPY public.t FROM stdin;\n" + Complete + "\n", map[string]int64{"public.t": 1}, false},
		{"a statement after the completion comment", Complete + "\nSELECT 1;\n", map[string]int64{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 2, 3, 1 << 20} {
				c := NewCounter()
				writeChunked(c, []byte(tc.dump), rand.New(rand.NewPCG(1, 2)), step)
				if got := c.Rows(); !maps.Equal(got, tc.rows) {
					t.Errorf("step %d: rows %v, want %v", step, got, tc.rows)
				}
				if c.Complete() != tc.complete {
					t.Errorf("step %d: complete %v", step, c.Complete())
				}
				if c.Err() != nil {
					t.Errorf("step %d: %v", step, c.Err())
				}
			}
		})
	}
}

func TestTables(t *testing.T) {
	c := NewCounter()
	c.Write([]byte(`COPY "a.b"".c"."t ""1""" FROM stdin;` + "\n\\.\nCOPY Public.T FROM stdin;\n\\.\nCOPY t FROM stdin;\n\\.\n"))
	want := []Table{{`"a.b"".c"."t ""1"""`, `a.b".c`, `t "1"`}, {"Public.T", "public", "t"}, {"t", "", "t"}}
	if got := c.Tables(); !slices.Equal(got, want) {
		t.Errorf("tables %q, want %q", got, want)
	}
}

func TestUnreadableName(t *testing.T) {
	for _, dump := range []string{
		"COPY a.b.c FROM stdin;\n1\n\\.\n",
		"COPY \"\" FROM stdin;\n1\n\\.\n",
		"COPY t x FROM stdin;\n1\n\\.\n",
	} {
		c := NewCounter()
		c.Write([]byte(dump + "COPY public.ok FROM stdin;\n1\n\\.\n"))
		if c.Err() == nil {
			t.Errorf("%q: no error", dump)
		}
		// The data block is still skipped as psql would.
		if c.Rows()["public.ok"] != 1 {
			t.Errorf("%q: rows %v", dump, c.Rows())
		}
	}
}

func FuzzCounter(f *testing.F) {
	f.Add([]byte(sample), uint8(3))
	for _, n := range sqlNoise {
		f.Add([]byte(n), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		// However the stream is cut into writes, the result is the same.
		whole := NewCounter()
		whole.Write(data)
		c := NewCounter()
		writeChunked(c, data, rand.New(rand.NewPCG(uint64(step), 0)), 1+int(step))
		if !maps.Equal(c.Rows(), whole.Rows()) || !slices.Equal(c.Tables(), whole.Tables()) || c.Complete() != whole.Complete() {
			t.Fatalf("in pieces of up to %d: rows %v complete %v; whole: rows %v complete %v",
				1+int(step), c.Rows(), c.Complete(), whole.Rows(), whole.Complete())
		}
		if len(c.Tables()) != len(c.Rows()) {
			t.Fatalf("tables %q, rows %v", c.Tables(), c.Rows())
		}
	})
}

func BenchmarkCounter(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("COPY public.t (a, b) FROM stdin;\n")
	for buf.Len() < 8<<20 {
		buf.WriteString("12345\tsome text of a row with a few words in it\t2026-11-27 06:00:00+00\n")
	}
	buf.WriteString("\\.\n")
	benchWrites(b, buf.Bytes())
}

// BenchmarkCounterSQL reads statement text: literals, dollar quotes and
// comments, as in a schema with many functions and comments.
func BenchmarkCounterSQL(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 8<<20 {
		buf.WriteString("CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$SELECT 'a fairly long function body, with some text'$_$;\n")
		buf.WriteString("COMMENT ON TABLE public.t IS 'a comment that goes on for a while, as comments do; it''s long';\n")
		buf.WriteString("--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\n")
		buf.WriteString("ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n")
	}
	benchWrites(b, buf.Bytes())
}

// benchWrites counts data in writes of 256 KiB, as the job's copy does.
func benchWrites(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := NewCounter()
		for p := data; len(p) > 0; {
			n := min(len(p), 256<<10)
			c.Write(p[:n])
			p = p[n:]
		}
	}
}

package dumpstat

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
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

// naive counts rows line by line: the reference for Counter.
func naive(dump string) map[string]int64 {
	m := map[string]int64{}
	in := ""
	sc := bufio.NewScanner(strings.NewReader(dump))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case in != "" && l == `\.`:
			in = ""
		case in != "":
			m[in]++
		case len(l) > len("COPY ")+len(" FROM stdin;") && strings.HasPrefix(l, "COPY ") && strings.HasSuffix(l, " FROM stdin;"):
			name := strings.TrimSuffix(strings.TrimPrefix(l, "COPY "), " FROM stdin;")
			q := false
			for i, r := range name {
				if r == '"' {
					q = !q
				} else if r == ' ' && !q {
					name = name[:i]
					break
				}
			}
			in = name
			m[in] += 0
		}
	}
	return m
}

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

func TestRandomDumps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		var b bytes.Buffer
		b.WriteString("SET x = 1;\n")
		for tbl := 0; tbl < rng.IntN(4); tbl++ {
			fmt.Fprintf(&b, "COPY public.t%d (a) FROM stdin;\n", tbl)
			for r := 0; r < rng.IntN(20); r++ {
				for k := 0; k < rng.IntN(6); k++ {
					b.WriteString([]string{`\.`, `\\`, ".", "x", `\n`, "\t"}[rng.IntN(6)])
				}
				b.WriteByte('\n')
			}
			b.WriteString("\\.\n\n")
		}
		b.WriteString(Complete + "\n")
		want := naive(b.String())
		c := NewCounter()
		writeChunked(c, b.Bytes(), rng, 1+rng.IntN(9))
		if got := c.Rows(); !maps.Equal(got, want) {
			t.Fatalf("dump %q:\nrows %v, want %v", b.String(), got, want)
		}
		if !c.Complete() {
			t.Fatalf("dump %q not complete", b.String())
		}
	}
}

func FuzzCounter(f *testing.F) {
	f.Add([]byte(sample), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		if bytes.Contains(data, []byte("\r")) {
			return // bufio.Scanner in naive drops \r before \n
		}
		c := NewCounter()
		writeChunked(c, data, rand.New(rand.NewPCG(uint64(step), 0)), 1+int(step))
		want := naive(string(data))
		got := c.Rows()
		// naive cannot see a COPY block the dump never closes the way the
		// counter does only when the data ends without a final newline.
		if !maps.Equal(got, want) && bytes.HasSuffix(data, []byte("\n")) {
			t.Fatalf("rows %v, want %v", got, want)
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
	data := buf.Bytes()
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

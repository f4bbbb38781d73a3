package dumpstat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// awkwardSQL builds tables whose names hold dots, spaces, quotes, tabs,
// newlines, non-ASCII and keywords, and hides dump-like lines (COPY
// headers, \. markers, the completion comment) in every kind of text the
// database's owners can write: comments, literals, dollar-quoted bodies,
// column names, defaults, views and row data.
const awkwardSQL = `
CREATE SCHEMA "s.p a""c e";
CREATE SCHEMA "Ünï	cødé
schema";
CREATE TABLE public.plain (id int, note text DEFAULT E'\nCOPY public.plain FROM stdin;\n\\.\n');
INSERT INTO public.plain (id) SELECT generate_series(1, 7);
CREATE TABLE "s.p a""c e"."t.a b""l e" ("COPY x FROM stdin;" text, "a;b" int);
INSERT INTO "s.p a""c e"."t.a b""l e" VALUES (E'x\n\\.\ny', 1), ('\.', 2), (NULL, 3), (E'\t', 4);
CREATE TABLE "Ünï	cødé
schema"."select" (v text);
INSERT INTO "Ünï	cødé
schema"."select" SELECT 'COPY public.plain FROM stdin;' FROM generate_series(1, 11);
CREATE TABLE public."UPPER" (id int);
CREATE TABLE public."-- PostgreSQL database dump complete" (id int);
INSERT INTO public."-- PostgreSQL database dump complete" VALUES (1);
CREATE TABLE public.parent (id int);
CREATE TABLE public.child () INHERITS (public.parent);
INSERT INTO public.parent VALUES (1), (2);
INSERT INTO public.child VALUES (3), (4), (5);
COMMENT ON TABLE public.plain IS E'a\nCOPY public.plain FROM stdin;\n1\n2\n\\.\n\n-- PostgreSQL database dump complete\n';
COMMENT ON TABLE public."UPPER" IS E'it''s \\ a backslash\nCOPY public."UPPER" FROM stdin;\n';
COMMENT ON COLUMN public.plain.note IS '$$ COPY public.plain FROM stdin; $$';
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $body$
SELECT 'x' || $q$
COPY public.plain FROM stdin;
1
\.
$q$ || $_$ $$ $_$;
$body$;
CREATE FUNCTION "s.p a""c e".g() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN E'\nCOPY public.plain FROM stdin;\n'; -- COPY public.plain FROM stdin;
	/* COPY public.plain FROM stdin;
	*/
END $$;
CREATE VIEW public.v AS SELECT 'COPY public.plain FROM stdin;
\.'::text AS "COPY"" FROM stdin;";
`

// TestDifferential dumps a database full of awkward names and dump-like
// text with the real pg_dump and compares the counter's row counts with
// count(*) of every table, found through the catalog.
func TestDifferential(t *testing.T) {
	ctx := t.Context()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "awkward"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(ctx, "awkward", awkwardSQL); err != nil {
		t.Fatal(err)
	}
	out, err := pg.Psql(ctx, "awkward", `
CREATE FUNCTION pg_temp.n(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint; BEGIN EXECUTE q INTO r; RETURN r; END $$;
SELECT json_agg(json_build_array(ns.nspname, c.relname, pg_temp.n(format('SELECT count(*) FROM ONLY %I.%I', ns.nspname, c.relname))))
FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.relkind = 'r' AND ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname NOT LIKE 'pg_toast%';
`)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][3]any
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n")+1:]), &rows); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	want := map[[2]string]int64{}
	for _, r := range rows {
		want[[2]string{r[0].(string), r[1].(string)}] = int64(r[2].(float64))
	}
	if len(want) != 7 {
		t.Fatalf("catalog: %v", want)
	}

	for _, format := range []string{"", "--inserts"} {
		c := dumpstat.NewCounter()
		cmd := pg.Command(ctx, "pg_dump", "-d", "awkward")
		if format != "" {
			cmd.Args = append(cmd.Args, format)
		}
		var dump bytes.Buffer
		cmd.Stdout = io.MultiWriter(c, &dump)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		// The test means something only if the decoys reach the dump as
		// lines of their own.
		if n := strings.Count(dump.String(), "\nCOPY public.plain FROM stdin;\n"); n < 4 {
			t.Fatalf("pg_dump %s: only %d lines look like the COPY of public.plain", format, n)
		}
		if !c.Complete() || c.Err() != nil {
			t.Fatalf("pg_dump %s: complete %v, err %v", format, c.Complete(), c.Err())
		}
		got := map[[2]string]int64{}
		for _, tb := range c.Tables() {
			if err := tb.Check(); err != nil {
				t.Error(err)
			}
			got[[2]string{tb.Schema, tb.Name}] = c.Rows()[tb.Key]
		}
		if format == "--inserts" {
			// No COPY blocks at all: nothing in the text may pass for one.
			if len(got) != 0 {
				t.Errorf("pg_dump --inserts: counted %v", got)
			}
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("counted:\n%s\ncatalog:\n%s", show(got), show(want))
		}
	}
}

func show(m map[[2]string]int64) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "  %q.%q: %d\n", k[0], k[1], v)
	}
	return b.String()
}

// TestClientOnlyEncodings: a database's owner can make pg_dump write SJIS
// or BIG5 with standard_conforming_strings off (ALTER DATABASE … SET),
// where a character may end in a backslash byte inside a literal. The
// counts must be those of the database, and the dump complete.
func TestClientOnlyEncodings(t *testing.T) {
	ctx := t.Context()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	for _, tc := range []struct {
		enc   string
		chars string // characters whose last byte in enc is 0x5C
	}{
		{"SJIS", "ソ表能"},
		{"BIG5", "許功蓋"},
	} {
		t.Run(tc.enc, func(t *testing.T) {
			db := "enc_" + strings.ToLower(tc.enc)
			if err := pg.CreateDatabase(ctx, db); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.Psql(ctx, db, fmt.Sprintf(`
CREATE TABLE public.a (v text);
INSERT INTO public.a SELECT '%[1]s' || i FROM generate_series(1, 4) i;
COMMENT ON TABLE public.a IS '%[1]s';
CREATE TABLE public."%[1]s" (v text);
INSERT INTO public."%[1]s" VALUES ('%[1]s'), (E'\\%[1]s''');
COMMENT ON COLUMN public."%[1]s".v IS 'x%[1]s';
ALTER DATABASE %[2]s SET client_encoding = '%[3]s';
ALTER DATABASE %[2]s SET standard_conforming_strings = off;
`, tc.chars, db, tc.enc)); err != nil {
				t.Fatal(err)
			}
			c := dumpstat.NewCounter()
			var dump bytes.Buffer
			cmd := pg.Command(ctx, "pg_dump", "-d", db)
			cmd.Stdout = io.MultiWriter(c, &dump)
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(dump.Bytes(), []byte("SET client_encoding = '"+tc.enc+"'")) || !bytes.Contains(dump.Bytes(), []byte("SET standard_conforming_strings = off")) {
				t.Fatalf("pg_dump did not write %s with standard_conforming_strings off:\n%s", tc.enc, dump.String()[:500])
			}
			if !bytes.Contains(dump.Bytes(), []byte{'\\', '\''}) {
				t.Fatal("no character in the dump ends in a backslash before a quote: the test proves nothing")
			}
			if !c.Complete() || c.Err() != nil || c.Problem() != nil || c.Uncounted() != nil {
				t.Fatalf("complete %v, err %v, problem %v, uncounted %v", c.Complete(), c.Err(), c.Problem(), c.Uncounted())
			}
			if got := c.Rows(); len(got) != 2 || got["public.a"] != 4 {
				t.Errorf("rows %v", got)
			}
		})
	}
}

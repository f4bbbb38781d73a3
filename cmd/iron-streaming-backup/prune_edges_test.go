package main

// Retention at its edges: backups that share their second, and a store
// whose answers to deletes go wrong part way.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// TestPruneSameSecondDumps: two dumps of one prefix started in the same
// second (another encryption or format, e.g. a copy converted by hand)
// share that second's companions. Deleting one of them leaves the
// companions to the other; deleting both deletes each companion once.
func TestPruneSameSecondDumps(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	for _, k := range []string{
		"r5/db1-20261130060000.gz.aes",
		"r5/db1-20261129060000.gz.aes", "r5/db1-20261129060000.gz.age", "r5/db1-20261129060000.globals.gz.aes",
		"r5/db1-20261128060000.gz.aes", "r5/db1-20261128060000.dump.gz.aes", "r5/db1-20261128060000.globals.gz.aes",
	} {
		objs[k] = []byte("Salted__ an object of db1")
		objs[k+".manifest.json"] = manifestOf(t, k, objs[k])
	}
	putAll(t, retentionBucket, objs)
	before := allKeys(t, t.Context(), retentionBucket)
	// KEEP_DAILY=2: 30 November, and of 29 November the dump that sorts
	// first (.gz.age, by key among the same second); 28 November goes.
	var wantGone []string
	for _, k := range []string{"r5/db1-20261129060000.gz.aes",
		"r5/db1-20261128060000.gz.aes", "r5/db1-20261128060000.dump.gz.aes", "r5/db1-20261128060000.globals.gz.aes"} {
		wantGone = append(wantGone, k, k+".manifest.json")
	}
	sort.Strings(wantGone)

	env := retentionEnv(twoDatabases(), "r5", "", "KEEP_DAILY=2")
	r := runJob(t, env, "prune", "-dry-run", "db1")
	got := strings.Fields(r.stdout)
	sort.Strings(got)
	if r.code != 0 || !slices.Equal(got, wantGone) {
		t.Errorf("prune -dry-run: exit %d, would delete:\n  %s\nwant:\n  %s\n%s", r.code, strings.Join(got, "\n  "), strings.Join(wantGone, "\n  "), r.stderr)
	}
	if strings.Contains(r.stderr, "would delete s3://retention/r5/db1-20261129060000.gz.aes with globals") {
		t.Errorf("prune -dry-run says the kept dump's globals go:\n%s", r.stderr)
	}

	r = runJob(t, env, "prune", "db1")
	after := allKeys(t, t.Context(), retentionBucket)
	if gone := minus(before, after); r.code != 0 || !slices.Equal(gone, wantGone) {
		t.Errorf("prune: exit %d:\nextra: %q\nmissing: %q\n%s", r.code, minus(gone, wantGone), minus(wantGone, gone), r.stderr)
	}
	if !strings.Contains(r.stderr, "db1: retention (KEEP_DAILY=2): 2 backups kept, 3 deleted\n") {
		t.Errorf("prune log:\n%s", r.stderr)
	}
}

// TestPruneCutShort: a prune whose store stops answering part way names
// every backup it did delete and counts it, fails, and leaves what the
// next prune removes.
func TestPruneCutShort(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r6/", "db1", "2026-11-21", "2026-11-30", "2026-11-21")
	putAll(t, retentionBucket, objs)
	before := allKeys(t, t.Context(), retentionBucket)
	// No DeleteObjects; the first two single deletes go through, then the
	// connection breaks on every try.
	p := refusingProxy(t, http.StatusNotImplemented, "NotImplemented", "")
	p.Add(faultproxy.Rule{Method: "DELETE", Nth: 3, Times: -1, Fault: faultproxy.ResetBody})
	env := retentionEnv(twoDatabases(), "r6", p.URL, "KEEP_LAST=1")
	r := runJob(t, env, "prune", "db1")
	t.Logf("prune log:\n%s", r.stderr)
	gone := minus(before, allKeys(t, t.Context(), retentionBucket))
	if r.code != 1 || len(gone) != 2 {
		t.Fatalf("prune: exit %d, deleted %q; want exit 1 and 2 deleted", r.code, gone)
	}
	for _, k := range gone {
		if !strings.Contains(r.stderr, "db1: retention: deleted s3://retention/"+k+" (kept by no rule)\n") {
			t.Errorf("the log does not name %s, which is gone", k)
		}
	}
	if !strings.Contains(r.stderr, "error: retention failed for 1 of 1 prefixes (db1); 1 backups kept, 2 deleted\n") {
		t.Errorf("the summary does not count the 2 deleted")
	}

	// The next prune finishes the work: the manifests left behind go too.
	r = runJob(t, retentionEnv(twoDatabases(), "r6", "", "KEEP_LAST=1"), "prune", "db1")
	want := []string{"r6/db1-20261130060000.gz.aes", "r6/db1-20261130060000.gz.aes.manifest.json"}
	if got := allKeys(t, t.Context(), retentionBucket); r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("second prune: exit %d, left %q:\n%s", r.code, got, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 backups kept, 7 deleted, and 2 leftover objects") {
		t.Errorf("second prune log:\n%s", r.stderr)
	}
}

// silentDeleteProxy is a proxy in front of the gateway that answers every
// DeleteObjects with 200 and an empty result, deleting nothing, as a store
// that does not implement it but accepts the request may; every other
// request passes.
func silentDeleteProxy(t *testing.T) string {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // keep the signed Host
	}}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Query().Has("delete") {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// TestPruneUnconfirmedDeletes: a key is gone when the store says it
// deleted it, not when it names no error: a DeleteObjects answer that
// names nothing leaves every backup whole (its manifest included) and the
// keys get one DELETE each.
func TestPruneUnconfirmedDeletes(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r7/", "db1", "2026-11-26", "2026-11-30", "2026-11-26")
	objs["r7/db1-20261127060000.globals.gz.aes"] = []byte("globals")
	putAll(t, retentionBucket, objs)
	r := runJob(t, retentionEnv(twoDatabases(), "r7", silentDeleteProxy(t), "KEEP_LAST=2"), "prune", "db1")
	want := []string{"r7/db1-20261129060000.gz.aes", "r7/db1-20261129060000.gz.aes.manifest.json",
		"r7/db1-20261130060000.gz.aes", "r7/db1-20261130060000.gz.aes.manifest.json"}
	if got := allKeys(t, t.Context(), retentionBucket); r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("prune: exit %d, left %q:\n%s", r.code, got, r.stderr)
	}
	if !strings.Contains(r.stderr, "db1: retention (KEEP_LAST=2): 2 backups kept, 3 deleted\n") {
		t.Errorf("prune log:\n%s", r.stderr)
	}
}

// TestPruneTruncatedListing: a listing that cannot be read to its end is
// an error, not the whole listing: prune deletes nothing and fails. One
// store says more keys follow but gives no token to read them; another
// answers every page as the first, with the same token again.
func TestPruneTruncatedListing(t *testing.T) {
	tokenRE := regexp.MustCompile(`<NextContinuationToken>[^<]*</NextContinuationToken>`)
	var first sync.Once
	var firstToken []byte
	for _, tc := range []struct {
		name string
		body func(src, repl []byte) []byte
		want string
	}{
		{
			name: "no token",
			body: tokenRE.ReplaceAllLiteral,
			want: "the store says more keys follow but gives no continuation token",
		},
		{
			// Every page names the first page's token as the next one.
			name: "same token",
			body: func(body, _ []byte) []byte {
				first.Do(func() { firstToken = tokenRE.Find(body) })
				return tokenRE.ReplaceAllLiteral(body, firstToken)
			},
			want: "the store gave the same continuation token twice",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			freshRetentionBucket(t)
			objs := map[string][]byte{}
			history(t, objs, "r8/", "db1", "2023-11-01", "2026-11-30", "2023-11-01") // 2 × 1126 keys
			putAll(t, retentionBucket, objs)
			before := allKeys(t, t.Context(), retentionBucket)
			target, err := url.Parse(srv.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			rp := &httputil.ReverseProxy{
				Rewrite: func(r *httputil.ProxyRequest) {
					r.SetURL(target)
					r.Out.Host = r.In.Host
				},
				ModifyResponse: func(resp *http.Response) error {
					if tc.body == nil || !resp.Request.URL.Query().Has("list-type") {
						return nil
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						return err
					}
					body = tc.body(body, nil)
					resp.Body = io.NopCloser(bytes.NewReader(body))
					resp.ContentLength = int64(len(body))
					resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
					return nil
				},
			}
			s := httptest.NewServer(rp)
			t.Cleanup(s.Close)

			r := runJob(t, retentionEnv(twoDatabases(), "r8", s.URL, "KEEP_LAST=1"), "prune", "db1")
			if after := allKeys(t, t.Context(), retentionBucket); !slices.Equal(after, before) {
				t.Errorf("prune deleted %d keys after a listing it could not finish", len(minus(before, after)))
			}
			if r.code != 1 || !strings.Contains(r.stderr, "error: db1: listing s3://retention/r8/db1-: "+tc.want) {
				t.Errorf("prune: exit %d:\n%s", r.code, r.stderr)
			}
		})
	}
}

// TestPrunePrefixesAlike: prefixes that start alike, end in what looks
// like a time, or hold dots each prune their own keys only, in the
// bucket's root; an ignored line's prefix is not pruned.
func TestPrunePrefixesAlike(t *testing.T) {
	freshRetentionBucket(t)
	prefixes := []string{"a", "a-2", "a-20261127060000", "a.b", "a-3"}
	objs := map[string][]byte{}
	for _, p := range prefixes {
		history(t, objs, "", p, "2026-11-25", "2026-11-27", "2026-11-25")
	}
	putAll(t, retentionBucket, objs)
	var list string
	for i, p := range prefixes {
		var extra []string
		if p == "a-3" {
			extra = append(extra, "ignore")
		}
		list += pgpassLine("x"+strconv.Itoa(i), "u", "pw", p, extra...) + "\n"
	}
	r := runJob(t, retentionEnv(list, "", "", "KEEP_LAST=1"), "prune")
	var want []string
	for _, p := range prefixes {
		for _, d := range []string{"20261125", "20261126", "20261127"} {
			if p == "a-3" || d == "20261127" {
				k := p + "-" + d + "060000.gz.aes"
				want = append(want, k, k+".manifest.json")
			}
		}
	}
	sort.Strings(want)
	if got := allKeys(t, t.Context(), retentionBucket); r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("prune: exit %d:\nextra: %q\nmissing: %q\n%s", r.code, minus(got, want), minus(want, got), r.stderr)
	}
	if !strings.Contains(r.stderr, "retention of 4 prefixes: 4 backups kept, 8 deleted\n") {
		t.Errorf("prune log:\n%s", r.stderr)
	}
}

// TestPruneAfterGlobalsFailure: a backup whose dump was committed but
// whose globals failed is a failed prefix, and prunes nothing.
func TestPruneAfterGlobalsFailure(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r9/", "db1", "2026-11-01", "2026-11-30", "2026-11-01")
	putAll(t, retentionBucket, objs)
	before := allKeys(t, t.Context(), retentionBucket)
	dir := t.TempDir()
	for _, p := range []string{"pg_dump", "psql"} {
		if err := os.Symlink(pg.Bin(p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pg_dumpall"), []byte("#!/bin/bash\necho 'pg_dumpall: error: no' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := retentionEnv(pgpassLine("app1", "backup1", pw1, "db1")+"\n", "r9", "", "KEEP_LAST=1", "DUMP_GLOBALS=true", "PG_DUMP="+filepath.Join(dir, "pg_dump"))
	r := runJob(t, env)
	t.Logf("job log:\n%s", r.stderr)
	after := allKeys(t, t.Context(), retentionBucket)
	key := backupKey(t, minus(after, before), "r9/db1", ".gz.aes")
	if want := append([]string{key, key + ".manifest.json"}, before...); r.code != 1 || !slices.Equal(after, sorted(want)) {
		t.Errorf("exit %d; after the job:\nextra: %q\nmissing: %q", r.code, minus(after, want), minus(want, after))
	}
	if !strings.Contains(r.stderr, "error: db1: globals: ") || strings.Contains(r.stderr, "db1: retention") {
		t.Errorf("job log: a failed globals, and no retention line, wanted")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestPruneLineGlobals: under a '*' line's prefix, which has no dumps,
// globals are the line's backups: the rules keep and delete them (one
// without a manifest too), and none is deleted as a leftover. Under a
// found database's prefix, globals that lost their dump are leftovers
// still.
func TestPruneLineGlobals(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	history(t, objs, "r11/", "shop.a", "2026-11-01", "2026-11-30", "2026-11-01")
	for d := time.Date(2026, 10, 31, 6, 0, 0, 0, time.UTC); !d.After(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		k := "r11/shop-" + d.Format("20060102150405") + ".globals.gz.aes"
		objs[k] = []byte("Salted__ the globals of the line")
		if d.Month() == time.November {
			objs[k+".manifest.json"] = manifestOf(t, k, objs[k])
		}
	}
	orphan := "r11/shop.a-20261015060000.globals.gz.aes"
	objs[orphan] = []byte("Salted__ globals that lost their dump")
	putAll(t, retentionBucket, objs)
	var want []string
	for k := range objs {
		if k == orphan {
			continue
		}
		if b, ok := catalog.ParseKey(path.Base(strings.TrimSuffix(k, ".manifest.json"))); ok && b.Time.Day() >= 24 && b.Time.Month() == time.November {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	r := runJob(t, retentionEnv(pgpassLine("*", "backup1", pw1, "shop")+"\n", "r11/", "", "KEEP_DAILY=7"), "prune")
	if got := allKeys(t, t.Context(), retentionBucket); r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("prune: exit %d\nextra: %q\nmissing: %q\n%s", r.code, minus(got, want), minus(want, got), r.stderr)
	}
	if !strings.Contains(r.stderr, "shop: retention (KEEP_DAILY=7): 7 backups kept, 24 deleted\n") ||
		!strings.Contains(r.stderr, "shop.a: retention (KEEP_DAILY=7): 7 backups kept, 23 deleted, and 1 leftover objects") ||
		!strings.Contains(r.stderr, "retention of 2 prefixes: 14 backups kept, 47 deleted") {
		t.Errorf("prune log:\n%s", r.stderr)
	}
}

// TestPruneMixedLineGlobals: dumps under a '*' line's prefix (a listed line
// given it later, or forged keys) make the line's older globals look like
// leftovers; prune reads their manifests and keeps them, and deletes a
// real leftover beside them. Globals newer than every dump stay backups.
func TestPruneMixedLineGlobals(t *testing.T) {
	freshRetentionBucket(t)
	objs := map[string][]byte{}
	line := map[string]any{"database": "*", "list_prefix": "mix", "companion": "globals"}
	var lineGlobals, newer []string
	for d := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC); !d.After(time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		if d.Day() == 20 {
			continue
		}
		k := "r12/mix-" + d.Format("20060102150405") + ".globals.gz.aes"
		objs[k] = []byte("Salted__ the globals of the line")
		objs[k+".manifest.json"] = manifestWith(t, k, objs[k], line)
		if d.Day() < 20 {
			lineGlobals = append(lineGlobals, k, k+".manifest.json")
		} else {
			newer = append(newer, k, k+".manifest.json")
		}
	}
	dump := "r12/mix-20261120060000.gz.aes"
	objs[dump] = []byte("Salted__ a dump under the line's prefix")
	objs[dump+".manifest.json"] = manifestOf(t, dump, objs[dump])
	leftover := "r12/mix-20261115070000.globals.gz.aes" // a listed database's globals that lost their dump
	objs[leftover] = []byte("Salted__ globals that lost their dump")
	objs[leftover+".manifest.json"] = manifestOf(t, leftover, objs[leftover])
	putAll(t, retentionBucket, objs)

	r := runJob(t, retentionEnv(pgpassLine("*", "backup1", pw1, "mix")+"\n", "r12/", "", "KEEP_LAST=20"), "prune")
	got := allKeys(t, t.Context(), retentionBucket)
	if r.code != 0 {
		t.Errorf("prune: exit %d\n%s", r.code, r.stderr)
	}
	for _, k := range slices.Concat(lineGlobals, newer, []string{dump, dump + ".manifest.json"}) {
		if !slices.Contains(got, k) {
			t.Errorf("deleted %s", k)
		}
	}
	if slices.Contains(got, leftover) {
		t.Errorf("kept the leftover %s", leftover)
	}
	if n := strings.Count(r.stderr, "which looks like a leftover: the globals of a '*' line"); n != len(lineGlobals)/2 {
		t.Errorf("%d warnings about the line's globals, want %d:\n%s", n, len(lineGlobals)/2, r.stderr)
	}
	// Those newer than the dump are the prefix's backups.
	r = runJob(t, retentionEnv("", "r12/", ""), "list", "-json", "mix")
	for _, k := range newer {
		if !strings.HasSuffix(k, ".manifest.json") && !strings.Contains(r.stdout, path.Base(k)) {
			t.Errorf("list does not show %s:\n%s", k, r.stdout)
		}
	}
}

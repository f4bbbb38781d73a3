package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// dumpIn is pg_dump of a database of the cluster c without owners and
// privileges.
func dumpIn(t *testing.T, c *testenv.Postgres, db string) string {
	t.Helper()
	return clusterDump(t, c, db, "--no-owner", "--no-privileges")
}

// discovered are the backups' prefixes in bucket (their dumps' keys
// without the time and endings), sorted, each once.
func discovered(t *testing.T, bucket string) []string {
	t.Helper()
	var out []string
	for _, k := range objects(t, bucket) {
		if b, ok := catalog.ParseKey(k); ok && b.Companion == "" && !slices.Contains(out, b.Prefix) {
			out = append(out, b.Prefix)
		}
	}
	sort.Strings(out)
	return out
}

// TestDiscover: a list line whose database is '*' backs up every database
// of its server that allows connections and is no template, each under
// the documented prefix, each verified and restorable; the filters, a
// database created between runs, a prefix that another line has, shards,
// a server that cannot be listed and a filter that keeps nothing.
func TestDiscover(t *testing.T) {
	t.Parallel()
	c, err := testenv.StartPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	names := []string{"a", "b-c", "Ünïcode", "with space", "x.y", "host=127.0.0.1 port=1"}
	for i, n := range names {
		q := `"` + n + `"`
		if _, err := c.Psql(t.Context(), "postgres", "CREATE DATABASE "+q); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Psql(t.Context(), "dbname='"+n+"'", fmt.Sprintf("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'in %s' FROM generate_series(1, %d) g", strings.ReplaceAll(n, "'", "''"), 10+i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Psql(t.Context(), "postgres", "CREATE DATABASE tmpl IS_TEMPLATE true; CREATE DATABASE closed ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	line := func(password, prefix string) string {
		return strings.Join([]string{c.Host, strconv.Itoa(c.Port), "*", c.User, password, prefix}, ":") + "\n"
	}
	nobody := strings.Join([]string{c.Host, strconv.Itoa(c.Port), "*", "nobody", "wrong-password", "bad"}, ":") + "\n"
	bucket := newBucket(t)
	env := jobEnv(line(c.Password, "srv"), bucket, "")

	r := runJob(t, env)
	want := []string{"srv..c3.9cn.c3.afcode", "srv.a", "srv.b-c", "srv.host.3d127.2e0.2e0.2e1.20port.3d1", "srv.postgres", "srv.with.20space", "srv.x.2ey"}
	if got := discovered(t, bucket); r.code != 0 || !slices.Equal(got, want) {
		t.Fatalf("backup: exit %d, prefixes %q, want %q\n%s", r.code, got, want, r.stderr)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("srv: found 7 databases on %s:%d: a, b-c, host=127.0.0.1 port=1, postgres, with space, x.y, Ünïcode", c.Host, c.Port)) ||
		!strings.Contains(r.stderr, "7 of 7 databases backed up") {
		t.Errorf("log:\n%s", r.stderr)
	}
	k := backupKey(t, objects(t, bucket), "srv..c3.9cn.c3.afcode", ".gz.aes")
	if b, _ := readManifest(t, bucket, k)["backup"].(map[string]any); b["database"] != "Ünïcode" || b["list_prefix"] != "srv" || b["prefix"] != "srv..c3.9cn.c3.afcode" {
		t.Errorf("manifest: %v", b)
	}

	// verify finds them in the bucket; two restore equal to their source.
	if r := runJob(t, env, "verify"); r.code != 0 || !strings.Contains(r.stderr, "7 of 7 backups verified") {
		t.Errorf("verify: exit %d\n%s", r.code, r.stderr)
	}
	for _, n := range []string{"Ünïcode", "host=127.0.0.1 port=1"} {
		p := "srv." + map[string]string{"Ünïcode": ".c3.9cn.c3.afcode", "host=127.0.0.1 port=1": "host.3d127.2e0.2e0.2e1.20port.3d1"}[n]
		into := fmt.Sprintf("host=%s port=%d user=%s dbname=restored_%d", c.SocketDir, c.Port, c.User, len(n))
		r := runJob(t, append(env, c.SocketEnv()...), "restore", p, "-into", into, "-create", "-trust-dump")
		if r.code != 0 {
			t.Fatalf("restore %s: exit %d\n%s", p, r.code, r.stderr)
		}
		if dumpIn(t, c, fmt.Sprintf("restored_%d", len(n))) != dumpIn(t, c, n) {
			t.Errorf("the restore of %s differs from %q", p, n)
		}
	}

	// prune finds them in the bucket too.
	if r := runJob(t, append(env, "KEEP_LAST=1"), "prune", "-dry-run"); r.code != 0 || !strings.Contains(r.stderr, "retention of 7 prefixes: 7 backups kept, 0 to delete") {
		t.Errorf("prune: exit %d\n%s", r.code, r.stderr)
	}

	// The filters (exclude wins), and a database created since.
	if _, err := c.Psql(t.Context(), "postgres", "CREATE DATABASE later"); err != nil {
		t.Fatal(err)
	}
	bucket2 := newBucket(t)
	r = runJob(t, jobEnv(line(c.Password, "srv"), bucket2, "", "DATABASES_INCLUDE=a,b-*,x.y,later,with space", "DATABASES_EXCLUDE=x*"))
	if got := discovered(t, bucket2); r.code != 0 || !slices.Equal(got, []string{"srv.a", "srv.b-c", "srv.later", "srv.with.20space"}) {
		t.Errorf("filtered: exit %d, prefixes %q\n%s", r.code, got, r.stderr)
	}
	if !strings.Contains(r.stderr, ", 6 excluded: host=127.0.0.1 port=1, postgres, restored_21, restored_9, x.y, Ünïcode: a, b-c, later, with space") {
		t.Errorf("filtered log:\n%s", r.stderr)
	}

	// Shards: each database in exactly one.
	bucket3 := newBucket(t)
	for _, sh := range []string{"0/2", "1/2"} {
		if r := runJob(t, jobEnv(line(c.Password, "srv"), bucket3, "", "SHARD="+sh, "DATABASES_EXCLUDE=restored_*")); r.code != 0 {
			t.Errorf("shard %s: exit %d\n%s", sh, r.code, r.stderr)
		}
	}
	if got := discovered(t, bucket3); !slices.Equal(got, []string{"srv..c3.9cn.c3.afcode", "srv.a", "srv.b-c", "srv.host.3d127.2e0.2e0.2e1.20port.3d1", "srv.later", "srv.postgres", "srv.with.20space", "srv.x.2ey"}) {
		t.Errorf("two shards backed up %q", got)
	}
	if n := len(objects(t, bucket3)); n != 16 {
		t.Errorf("two shards wrote %d objects, want 8 backups and their manifests", n)
	}

	// A prefix a '*' line's databases may take: refused before anything
	// is written.
	bucket4 := newBucket(t)
	explicit := strings.Join([]string{c.Host, strconv.Itoa(c.Port), "a", c.User, c.Password, "srv.a"}, ":") + "\n"
	r = runJob(t, jobEnv(line(c.Password, "srv")+explicit, bucket4, ""))
	if r.code != 2 || !strings.Contains(r.stderr, `line 2: prefix "srv.a" is one that line 1's databases may take`) || len(objects(t, bucket4)) != 0 {
		t.Errorf("a taken prefix: exit %d, %d objects\n%s", r.code, len(objects(t, bucket4)), r.stderr)
	}

	// A server that cannot be listed, and a filter that keeps nothing:
	// those lines fail, the others are backed up.
	bucket5 := newBucket(t)
	r = runJob(t, jobEnv(nobody+line(c.Password, "srv")+explicit[:len(explicit)-len("srv.a\n")]+"one\n", bucket5, "", "DATABASES_INCLUDE=nothing*"))
	if r.code != 1 || !strings.Contains(r.stderr, "error: bad: finding the databases of ") || strings.Contains(r.stderr, "wrong-password") ||
		!strings.Contains(r.stderr, "error: srv: finding the databases of ") || !strings.Contains(r.stderr, "no database found on ") ||
		!strings.Contains(r.stderr, "error: 2 of 3 databases failed (bad, srv); 1 backed up") {
		t.Errorf("unlistable and empty lines: exit %d\n%s", r.code, r.stderr)
	}
	if got := discovered(t, bucket5); !slices.Equal(got, []string{"one"}) {
		t.Errorf("backed up %q", got)
	}

	// A name too long for a prefix fails alone.
	long := strings.Repeat("é", 31) // 62 bytes, as long as a name may be
	if _, err := c.Psql(t.Context(), "postgres", `CREATE DATABASE "`+long+`"`); err != nil {
		t.Fatal(err)
	}
	bucket6 := newBucket(t)
	r = runJob(t, jobEnv(line(c.Password, "srv"), bucket6, "", "DATABASES_INCLUDE=a,é*"))
	if r.code != 1 || !strings.Contains(r.stderr, `error: srv: database "`+long+`": its prefix srv.`) || !strings.Contains(r.stderr, "1 of 2 databases failed (srv); 1 backed up") {
		t.Errorf("a long name: exit %d\n%s", r.code, r.stderr)
	}
	if got := discovered(t, bucket6); !slices.Equal(got, []string{"srv.a"}) {
		t.Errorf("with a long name, backed up %q", got)
	}

	// A database with a line of its own is backed up there only.
	bucket7 := newBucket(t)
	r = runJob(t, jobEnv(line(c.Password, "srv")+explicit[:len(explicit)-len("srv.a\n")]+"one\n", bucket7, "", "DATABASES_INCLUDE=a,b-c"))
	if got := discovered(t, bucket7); r.code != 0 || !slices.Equal(got, []string{"one", "srv.b-c"}) || !strings.Contains(r.stderr, ", 1 backed up on lines of their own: a") {
		t.Errorf("a database with a line of its own: exit %d, backed up %q\n%s", r.code, got, r.stderr)
	}

	// A user who may not connect to every database: those are left out,
	// and the log says which.
	if _, err := c.Psql(t.Context(), "postgres", `CREATE ROLE lister LOGIN PASSWORD 'lister-pw'; CREATE DATABASE mine OWNER lister; CREATE DATABASE private; REVOKE CONNECT ON DATABASE private FROM PUBLIC`); err != nil {
		t.Fatal(err)
	}
	bucket8 := newBucket(t)
	lister := strings.Join([]string{c.Host, strconv.Itoa(c.Port), "*", "lister", "lister-pw", "srv"}, ":") + "\n"
	r = runJob(t, jobEnv(lister, bucket8, "", "DATABASES_INCLUDE=mine,private"))
	if got := discovered(t, bucket8); r.code != 0 || !slices.Equal(got, []string{"srv.mine"}) || !strings.Contains(r.stderr, ", 1 the user may not connect to: private: mine") {
		t.Errorf("a user who may not connect to every database: exit %d, backed up %q\n%s", r.code, got, r.stderr)
	}

	// A database that is gone is still verified, from its backups: they
	// only get older.
	if _, err := c.Psql(t.Context(), "postgres", "DROP DATABASE a"); err != nil {
		t.Fatal(err)
	}
	r = runJob(t, env, "verify", "-max-age", "1s", "srv.a")
	if r.code != 1 || !strings.Contains(r.stderr, "error: srv.a: the newest backup, srv.a-") || !strings.Contains(r.stderr, "older than the allowed 1s") {
		t.Errorf("verify of a dropped database: exit %d\n%s", r.code, r.stderr)
	}
}

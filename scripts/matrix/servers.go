package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// server is a PostgreSQL major and the Debian suite whose packages it
// comes from (scripts/matrix-test.sh makes their images and names them,
// -servers).
type server struct {
	major int
	suite string
}

// parseServers reads -servers: MAJOR:SUITE, comma-separated.
func parseServers(s string) ([]server, error) {
	var out []server
	for _, f := range strings.Split(s, ",") {
		m, suite, ok := strings.Cut(strings.TrimSpace(f), ":")
		major, err := strconv.Atoi(m)
		if !ok || err != nil || suite == "" {
			return nil, fmt.Errorf("-servers: %q is not MAJOR:SUITE", f)
		}
		out = append(out, server{major, suite})
	}
	return out, nil
}

// pgServer is a container of one major's packages running two clusters,
// the source and the restore target, both with the superuser postgres.
// Both accept the password over TCP on 127.0.0.1 (scram-sha-256) and
// anyone on their Unix sockets in the container's /tmp.
type pgServer struct {
	m        *matrix
	major    int
	suite    string
	name     string // the container's
	src, dst int    // ports
	version  string // the source's server_version, e.g. 13.22
	cells    []cell // one per client set
}

const startScript = `set -e
cd /var/lib/postgresql
umask 077
printf '%s\n' "$PGPW" >pw
initdb -D src -U postgres -A trust --auth-host=scram-sha-256 --pwfile=pw >src-init.log
initdb -D dst -U postgres -A trust --auth-host=scram-sha-256 --pwfile=pw >dst-init.log
rm pw
pg_ctl -D src -l src.log -o "-p $SRC_PORT -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
pg_ctl -D dst -l dst.log -o "-p $DST_PORT -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
touch ready
exec sleep infinity
`

// resetScript makes the restore target anew.
const resetScript = `set -e
cd /var/lib/postgresql
umask 077
pg_ctl -D dst -m immediate stop >/dev/null
rm -rf dst
printf '%s\n' "$PGPW" >pw
initdb -D dst -U postgres -A trust --auth-host=scram-sha-256 --pwfile=pw >dst-init.log
rm pw
pg_ctl -D dst -l dst.log -o "-p $DST_PORT -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
`

// sampleSQL is the source database: a schema owned by a role, a sequence,
// a table with a generated column, a large object and a grant.
const sampleSQL = `CREATE ROLE app LOGIN;
CREATE DATABASE sample;
\connect sample
CREATE SCHEMA shop AUTHORIZATION app;
CREATE SEQUENCE shop.order_no START 1000;
CREATE TABLE shop.items (
	id int PRIMARY KEY,
	price numeric(10,2) NOT NULL,
	qty int NOT NULL,
	total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED,
	note text
);
INSERT INTO shop.items (id, price, qty, note)
	SELECT i, (i % 97) + 0.5, i % 7, repeat(md5(i::text), 3) FROM generate_series(1, 20000) i;
ALTER TABLE shop.items OWNER TO app;
ALTER SEQUENCE shop.order_no OWNER TO app;
SELECT setval('shop.order_no', 4242);
SELECT lo_from_bytea(424242, convert_to(repeat('large object ', 1000), 'UTF8'));
ALTER LARGE OBJECT 424242 OWNER TO app;
GRANT SELECT ON shop.items TO PUBLIC;
`

func (m *matrix) startServers() error {
	for _, sv := range m.serverList {
		s := &pgServer{m: m, major: sv.major, suite: sv.suite, name: fmt.Sprintf("isb-matrix-pg%d-%d", sv.major, os.Getpid())}
		m.servers = append(m.servers, s)
		if err := s.start(); err != nil {
			return fmt.Errorf("PostgreSQL %d (%s): %w", s.major, s.suite, err)
		}
	}
	return nil
}

func (s *pgServer) start() error {
	start := time.Now()
	var err error
	if s.src, err = testenv.FreePort(); err != nil {
		return err
	}
	if s.dst, err = testenv.FreePort(); err != nil {
		return err
	}
	image := fmt.Sprintf("localhost/isb-matrix-postgres:%d", s.major)
	r, err := s.m.container([]string{"PGPW=" + s.m.dbPassword}, nil, "run", "-d", "--name", s.name, "--network", "host",
		"--user", "postgres", "-e", "PGPW", "-e", "SRC_PORT="+strconv.Itoa(s.src), "-e", "DST_PORT="+strconv.Itoa(s.dst),
		"-v", s.m.bin+":/isb:ro", image, "bash", "-c", startScript)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("podman run %s: exit %d: %s", image, r.Code, testenv.LastLines(r.Stderr, 3))
	}
	for {
		r, err := s.exec(nil, nil, "test", "-e", "/var/lib/postgresql/ready")
		if err != nil {
			return err
		}
		if r.Code == 0 {
			break
		}
		if time.Since(start) > 2*time.Minute || strings.Contains(r.Stderr, "no such container") || strings.Contains(r.Stderr, "not running") {
			logs, _ := s.m.container(nil, nil, "logs", s.name)
			return fmt.Errorf("the clusters did not start: %s", testenv.LastLines(logs.Output(), 5))
		}
		time.Sleep(200 * time.Millisecond)
	}
	r, err = s.psql(s.src, "postgres", nil, "-At", "-c", "SHOW server_version")
	if err != nil {
		return err
	}
	if s.version = strings.Fields(r.Stdout + " ?")[0]; r.Code != 0 {
		return fmt.Errorf("SHOW server_version: %s", r.Stderr)
	}
	if r, err := s.psql(s.src, "postgres", []byte(sampleSQL), "-q", "-v", "ON_ERROR_STOP=1"); err != nil || r.Code != 0 {
		return fmt.Errorf("the sample database: %v %s", err, r.Stderr)
	}
	say("PostgreSQL %s (%s) in %s on 127.0.0.1:%d, restore target on :%d (%v)", s.version, s.suite, s.name, s.src, s.dst, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// stop removes the container, also after an interrupt has ended the
// run's context.
func (s *pgServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exec.CommandContext(ctx, s.m.engine[0], append(append([]string{}, s.m.engine[1:]...), "rm", "-f", "-t", "0", s.name)...).Run()
}

// exec runs a command in the server's container; envFile, when not "",
// is read by the engine.
func (s *pgServer) exec(env []string, stdin []byte, args ...string) (testenv.Result, error) {
	pre := []string{"exec"}
	if stdin != nil {
		pre = append(pre, "-i")
	}
	for _, e := range env {
		pre = append(pre, "-e", strings.SplitN(e, "=", 2)[0])
	}
	return s.m.container(env, stdin, append(append(pre, s.name), args...)...)
}

// psql runs the container's psql on a cluster's socket.
func (s *pgServer) psql(port int, db string, stdin []byte, args ...string) (testenv.Result, error) {
	return s.exec(nil, stdin, append([]string{"psql", "-X", "-h", "/tmp", "-p", strconv.Itoa(port), "-U", "postgres", "-d", db}, args...)...)
}

// dump is the container's pg_dump of a database, without \restrict lines.
func (s *pgServer) dump(port int, db string) ([]byte, error) {
	r, err := s.exec(nil, nil, "pg_dump", "-h", "/tmp", "-p", strconv.Itoa(port), "-U", "postgres", "-d", db)
	if err != nil {
		return nil, err
	}
	if r.Code != 0 {
		return nil, fmt.Errorf("pg_dump %s: %s", db, testenv.LastLines(r.Stderr, 2))
	}
	return testenv.WithoutRestrict([]byte(r.Stdout)), nil
}

func (s *pgServer) resetTarget() error {
	r, err := s.exec([]string{"PGPW=" + s.m.dbPassword, "DST_PORT=" + strconv.Itoa(s.dst)}, nil, "bash", "-c", resetScript)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("making the restore target anew: %s", testenv.LastLines(r.Output(), 3))
	}
	return nil
}

// restoreLine is the stock restore pipeline, with the project's filters
// and the psql of the client set that made the dump: the object's text
// into the restore target.
func (s *pgServer) restoreLine(cs clientSet, major int, key, db string, onErrorStop bool) string {
	stop := ""
	if onErrorStop {
		stop = " -v ON_ERROR_STOP=1"
	}
	return fmt.Sprintf("%s s3://%s/%s | %s -d -pass env:ISB_ENC_PASS | gzip -d | %s -X -q%s -h 127.0.0.1 -p %d -U postgres -d %s",
		cs.tool("s3get"), bucket, key, cs.tool("osslenc"), cs.psql(major), stop, s.dst, db)
}

// restore runs the stock pipelines where the client set runs, globals
// first, into a fresh target; with onErrorStop false it returns psql's
// ERROR lines.
func (s *pgServer) restore(st *store, cs clientSet, major int, dumpKey, globalsKey string, onErrorStop bool) ([]string, error) {
	if err := s.resetTarget(); err != nil {
		return nil, err
	}
	env := append(st.srv.Env(), "S3_PATH_STYLE=true", "ISB_ENC_PASS="+s.m.encPass, "PGPASSWORD="+s.m.dbPassword)
	run := func(line string) ([]string, error) {
		r, err := cs.shell(s, env, line+" 2>&1 >/dev/null")
		if err != nil {
			return nil, err
		}
		var errs []string
		for _, l := range strings.Split(r.Output(), "\n") {
			if strings.Contains(l, "ERROR:") {
				errs = append(errs, strings.TrimSpace(l))
			}
		}
		if r.Code != 0 {
			return errs, fmt.Errorf("%s: exit %d: %s", line, r.Code, testenv.LastLines(r.Output(), 2))
		}
		return errs, nil
	}
	// As docs/restore.md says: the globals without ON_ERROR_STOP, where
	// the one error is the role the new server has already.
	gerrs, err := run(s.restoreLine(cs, major, globalsKey, "postgres", false))
	if err == nil && (len(gerrs) != 1 || !strings.Contains(gerrs[0], `role "postgres" already exists`)) {
		err = fmt.Errorf("want the one error that role postgres exists, got %q", gerrs)
	}
	if err != nil {
		return gerrs, fmt.Errorf("the globals: %w", err)
	}
	if r, err := s.psql(s.dst, "postgres", nil, "-c", "CREATE DATABASE sample"); err != nil || r.Code != 0 {
		return nil, fmt.Errorf("CREATE DATABASE: %v %s", err, r.Stderr)
	}
	return run(s.restoreLine(cs, major, dumpKey, "sample", onErrorStop))
}

// sameDump compares pg_dump of the source and the restored database.
func (s *pgServer) sameDump() error {
	a, err := s.dump(s.src, "sample")
	if err != nil {
		return err
	}
	b, err := s.dump(s.dst, "sample")
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("pg_dump of the restored database differs from the source's (%d and %d bytes): %s", len(b), len(a), firstDiff(a, b))
	}
	return nil
}

// firstDiff says where two dumps first differ.
func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: source %q, restored %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("one ends at line %d", min(len(al), len(bl)))
}

// A clientSet is one way of running the job, and the stock restore of its
// backups: on the host, in the image, or inside the server's container.
type clientSet struct {
	name    string
	run     func(s *pgServer, st *store, env []string) (testenv.Result, error)
	shell   func(s *pgServer, env []string, line string) (testenv.Result, error)
	bin     string // where its s3get and osslenc are
	majors  []int  // the pg_dump majors it has
	summary string // for the table's header
}

func (cs clientSet) tool(name string) string { return filepath.Join(cs.bin, name) }

// psql is the set's psql of a major (the one installed with its pg_dump).
func (cs clientSet) psql(major int) string {
	return fmt.Sprintf("/usr/lib/postgresql/%d/bin/psql", major)
}

// jobEnv is the job's environment for one database of s, stored under
// prefix in st's bucket.
func (m *matrix) jobEnv(s *pgServer, st *store, prefix string, more ...string) []string {
	list := fmt.Sprintf("127.0.0.1:%d:sample:postgres:%s:%s\n", s.src, m.dbPassword, prefix)
	env := append(st.srv.Env(),
		"PGPASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(list)),
		"PASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(m.encPass+"\n")),
		"S3_BUCKET="+bucket,
		"S3_PATH_STYLE=true",
		"DUMP_GLOBALS=true",
	)
	return append(env, more...)
}

func (m *matrix) jobOnHost(_ *pgServer, _ *store, env []string) (testenv.Result, error) {
	return m.command(env, nil, binary(m.bin, "iron-streaming-backup"))
}

func (m *matrix) jobInImage(_ *pgServer, _ *store, env []string) (testenv.Result, error) {
	f, err := m.envFile(env)
	if err != nil {
		return testenv.Result{}, err
	}
	return m.container(nil, nil, "run", "--rm", "--network", "host", "--env-file", f, "--entrypoint", "/app/backup.sh", m.image)
}

func (m *matrix) jobInServer(s *pgServer, _ *store, env []string) (testenv.Result, error) {
	return s.exec(env, nil, "/isb/iron-streaming-backup")
}

func (m *matrix) shellOnHost(_ *pgServer, env []string, line string) (testenv.Result, error) {
	return m.command(env, nil, "bash", "-o", "pipefail", "-c", line)
}

func (m *matrix) shellInImage(_ *pgServer, env []string, line string) (testenv.Result, error) {
	f, err := m.envFile(env)
	if err != nil {
		return testenv.Result{}, err
	}
	return m.container(nil, nil, "run", "--rm", "--network", "host", "--env-file", f, "--entrypoint", "bash", m.image, "-o", "pipefail", "-c", line)
}

func (m *matrix) shellInServer(s *pgServer, env []string, line string) (testenv.Result, error) {
	return s.exec(env, nil, "bash", "-o", "pipefail", "-c", line)
}

// clientMajors finds the pg_dump majors of each client set.
func (m *matrix) clientMajors() error {
	host, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	m.clientSets[0].majors = majorsOf(strings.Join(host, "\n"))
	r, err := m.container(nil, nil, "run", "--rm", "--entrypoint", "sh", m.image, "-c", "ls -d /usr/lib/postgresql/*/bin/pg_dump")
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("listing the image's clients: %s", r.Stderr)
	}
	m.clientSets[1].majors = majorsOf(r.Stdout)
	for i, cs := range m.clientSets[:2] {
		if len(cs.majors) == 0 {
			return fmt.Errorf("no pg_dump in the %s client set", cs.name)
		}
		m.clientSets[i].summary = fmt.Sprintf("pg_dump %s", joinInts(cs.majors))
	}
	m.clientSets[2].summary = "the server's own major"
	return nil
}

var majorRE = regexp.MustCompile(`/usr/lib/postgresql/(\d+)/bin/pg_dump`)

func majorsOf(s string) []int {
	var out []int
	for _, mm := range majorRE.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(mm[1])
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

var (
	choiceRE  = regexp.MustCompile(`server PostgreSQL (\S+), pg_dump (\S+) \(`)
	refusedRE = regexp.MustCompile(`no pg_dump for PostgreSQL (\S+): this machine has pg_dump ([0-9, ]+), and`)
)

// serverCell backs up s with one client set, and restores and compares
// the backup; or, where the set has no pg_dump as new as the server,
// checks the refusal.
func (m *matrix) serverCell(s *pgServer, cs clientSet) cell {
	st := m.stores[0]
	prefix := fmt.Sprintf("pg%d-%s", s.major, cs.name)
	majors := cs.majors
	if cs.name == "own" {
		majors = []int{s.major}
	}
	want := 0 // the pg_dump major the job must choose: the server's, else the oldest newer
	for _, c := range majors {
		if c >= s.major && (want == 0 || c < want) {
			want = c
		}
	}
	r, err := cs.run(s, st, m.jobEnv(s, st, prefix))
	if err != nil {
		return cell{err.Error(), false}
	}
	keys, err := st.keys(prefix + "-")
	if err != nil {
		return cell{err.Error(), false}
	}
	if want == 0 {
		ref := refusedRE.FindStringSubmatch(r.Output())
		switch {
		case r.Code == 0:
			return cell{"backed up, though no pg_dump is as new as the server", false}
		case ref == nil || ref[1] != s.version || ref[2] != joinInts(majors):
			return cell{fmt.Sprintf("exit %d without the refusal naming PostgreSQL %s and pg_dump %s: %s", r.Code, s.version, joinInts(majors), testenv.LastLines(r.Output(), 3)), false}
		case len(keys) > 0:
			return cell{fmt.Sprintf("refused, but left %s", strings.Join(keys, ", ")), false}
		}
		return cell{fmt.Sprintf("refused before writing (exit %d): no pg_dump for PostgreSQL %s; has %s", r.Code, ref[1], ref[2]), true}
	}
	choice := choiceRE.FindStringSubmatch(r.Output())
	if r.Code != 0 || choice == nil {
		return cell{fmt.Sprintf("exit %d: %s", r.Code, testenv.LastLines(r.Output(), 3)), false}
	}
	got := choice[2]
	if !strings.HasPrefix(got, strconv.Itoa(want)+".") {
		return cell{fmt.Sprintf("chose pg_dump %s, not the %d the rule names", got, want), false}
	}
	dumpKey, globalsKey := "", ""
	for _, k := range keys {
		switch {
		case dumpKeyRE.MatchString(k):
			dumpKey = k
		case globalsKeyRE.MatchString(k):
			globalsKey = k
		}
	}
	if dumpKey == "" || globalsKey == "" {
		return cell{fmt.Sprintf("pg_dump %s: objects %v, not a dump and its globals", got, keys), false}
	}
	text := "pg_dump " + got
	major, _ := strconv.Atoi(strings.SplitN(got, ".", 2)[0])
	errs, err := s.restore(st, cs, major, dumpKey, globalsKey, true)
	if err != nil && want > s.major && len(errs) == 1 && strings.Contains(errs[0], `"transaction_timeout"`) {
		// pg_dump 17 and later write SET transaction_timeout, which an
		// older server does not know (docs/restore.md, "Which psql
		// restores what"); without ON_ERROR_STOP that one line fails and
		// the rest must restore equal.
		errs, err = s.restore(st, cs, major, dumpKey, globalsKey, false)
		if err == nil && (len(errs) != 1 || !strings.Contains(errs[0], `"transaction_timeout"`)) {
			err = fmt.Errorf("want only the transaction_timeout error, got %q", errs)
		}
		if err == nil {
			err = s.sameDump()
		}
		if err != nil {
			return cell{text + ": " + err.Error(), false}
		}
		return cell{text + ": ON_ERROR_STOP=1 stops at SET transaction_timeout; without it, equal", true}
	}
	if err == nil {
		err = s.sameDump()
	}
	if err != nil {
		return cell{text + ": " + err.Error(), false}
	}
	return cell{text + ": restored, equal", true}
}

var (
	dumpKeyRE    = regexp.MustCompile(`^[^/]+-\d{14}\.gz\.aes$`)
	globalsKeyRE = regexp.MustCompile(`^[^/]+-\d{14}\.globals\.gz\.aes$`)
)

// Command matrix measures the compatibility matrix ('make matrix-test';
// scripts/matrix-test.sh builds the server images, MinIO and the image
// first):
//
//   - servers × clients: PostgreSQL 13, 15, 17 and 18, each in a container
//     of its Debian suite's own packages, holding a sample database (a
//     role-owned schema, a large object, a sequence, a generated column).
//     The job backs it up with DUMP_GLOBALS=true three ways: with the
//     host's clients, in the image, and inside the server's container
//     with that suite's clients. Each backup is restored where it was
//     made, with the stock pipeline (s3get | osslenc -d | gzip -d | psql)
//     into a fresh server of the same major: the globals as
//     docs/restore.md says (without ON_ERROR_STOP; the one error is that
//     role postgres exists), then the dump with ON_ERROR_STOP=1; pg_dump
//     of source and restored must be equal. A server newer than every client
//     must be refused before anything is written, naming the server's
//     version and the clients present.
//   - stores × features: the Versity S3 gateway and MinIO, each with the
//     job, verify, s3put/s3get round trips, s3put --no-clobber (If-None-
//     Match), prune (DeleteObjects), S3_CHECKSUM=when_required and Object
//     Lock.
//
// Every cell has an expected outcome; the table shows what happened, and a
// cell that differs fails the run. The table is printed and written to
// -out as Markdown.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func main() {
	image := flag.String("image", "", "the image 'make image-test' builds")
	engine := flag.String("engine", "podman", "the container engine command (words split at spaces)")
	bin := flag.String("bin", "", "the folder of the project's static binaries")
	minio := flag.String("minio", "", "the MinIO server binary")
	minioVersion := flag.String("minio-version", "", "MinIO's version, for the table")
	out := flag.String("out", "", "where to write the table (Markdown)")
	serverFlag := flag.String("servers", "", "the servers: MAJOR:SUITE, comma-separated, each an image localhost/isb-matrix-postgres:MAJOR")
	flag.Parse()
	serverList, err := parseServers(*serverFlag)
	if *image == "" || *bin == "" || *minio == "" || flag.NArg() > 0 || err != nil {
		fmt.Fprintln(os.Stderr, "usage: matrix -image NAME -bin DIR -minio BIN -servers MAJOR:SUITE,… [-minio-version V] [-engine podman] [-out FILE]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &matrix{ctx: ctx, image: *image, engine: strings.Fields(*engine), bin: *bin, minio: *minio, minioVersion: *minioVersion, serverList: serverList}
	start := time.Now()
	err = m.run()
	for _, s := range m.servers {
		s.stop()
	}
	stop()
	testenv.StopAll()
	if m.work != "" {
		os.RemoveAll(m.work)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "matrix-test: error: %v\n", err)
		os.Exit(1)
	}
	table := m.table(time.Since(start))
	fmt.Print("\n" + table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "matrix-test: error: %v\n", err)
			os.Exit(1)
		}
	}
	if m.failed > 0 {
		fmt.Fprintf(os.Stderr, "matrix-test: %d of %d cells differ from what is expected (FAIL lines above)\n", m.failed, m.cells)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "matrix-test: all %d cells as expected, in %v\n", m.cells, time.Since(start).Round(time.Second))
}

type matrix struct {
	ctx          context.Context
	image        string
	engine       []string
	bin          string
	minio        string
	minioVersion string
	work         string // private folder, removed at the end
	encPass      string
	dbPassword   string
	serverList   []server
	servers      []*pgServer
	stores       []*store
	clientSets   []clientSet
	cells        int
	failed       int
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "matrix-test: "+format+"\n", args...)
}

// cell is one outcome: its text for the table, and whether it is the
// expected one.
type cell struct {
	text string
	ok   bool
}

// record counts a cell and reports one that differs.
func (m *matrix) record(where string, c cell) cell {
	m.cells++
	if !c.ok {
		m.failed++
		say("FAIL: %s: %s", where, c.text)
	} else {
		say("ok: %s: %s", where, c.text)
	}
	return c
}

func (m *matrix) run() error {
	var err error
	if m.work, err = os.MkdirTemp("", "isb-matrix-"); err != nil {
		return err
	}
	m.encPass = testenv.RandomText("enc-")
	m.dbPassword = testenv.RandomText("db-")
	if err := m.startStores(); err != nil {
		return err
	}
	if err := m.startServers(); err != nil {
		return err
	}
	m.clientSets = []clientSet{
		{name: "host", run: m.jobOnHost, shell: m.shellOnHost, bin: m.bin},
		{name: "image", run: m.jobInImage, shell: m.shellInImage, bin: "/usr/local/bin"},
		{name: "own", run: m.jobInServer, shell: m.shellInServer, bin: "/isb"},
	}
	if err := m.clientMajors(); err != nil {
		return err
	}
	for _, s := range m.servers {
		for _, cs := range m.clientSets {
			s.cells = append(s.cells, m.record(fmt.Sprintf("PostgreSQL %s × %s clients", s.version, cs.name), m.serverCell(s, cs)))
		}
	}
	return m.storeCells()
}

// command runs name with args (testenv.Run).
func (m *matrix) command(env []string, stdin []byte, name string, args ...string) (testenv.Result, error) {
	return testenv.Run(m.ctx, 10*time.Minute, env, stdin, name, args...)
}

// container runs the container engine.
func (m *matrix) container(env []string, stdin []byte, args ...string) (testenv.Result, error) {
	return m.command(env, stdin, m.engine[0], append(append([]string{}, m.engine[1:]...), args...)...)
}

// envFile writes env into a new file of the private folder, for the
// engine's --env-file.
func (m *matrix) envFile(env []string) (string, error) {
	f, err := os.CreateTemp(m.work, "env-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, e := range env {
		if strings.ContainsAny(e, "\n") {
			return "", fmt.Errorf("an environment value with a line break cannot go into an env file")
		}
		fmt.Fprintln(f, e)
	}
	return f.Name(), f.Close()
}

func binary(dir, name string) string { return filepath.Join(dir, name) }

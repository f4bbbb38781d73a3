package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Postgres is a throwaway PostgreSQL cluster. It accepts the superuser over
// its Unix socket without a password, and over TCP on 127.0.0.1 only with a
// password (scram-sha-256), as a managed server would.
type Postgres struct {
	BinDir    string // server binaries: initdb, postgres, pg_dump, psql, …
	Major     int    // server major version
	Dir       string // removed by Stop
	SocketDir string
	Host      string // 127.0.0.1
	Port      int
	User      string // superuser
	Password  string // superuser password, for TCP connections

	cmd        *exec.Cmd
	done       chan struct{}
	stopOnce   sync.Once
	unregister func()
}

// PostgresBinDir finds the newest /usr/lib/postgresql/*/bin with initdb.
func PostgresBinDir() (string, int, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestMajor := "", 0
	for _, m := range matches {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && major > bestMajor {
			best, bestMajor = filepath.Dir(m), major
		}
	}
	if best == "" {
		return "", 0, errors.New("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run 'make setup' (as root it installs Debian's postgresql package; otherwise run: sudo apt-get install -y postgresql)")
	}
	return best, bestMajor, nil
}

// StartPostgres initialises and starts a cluster in a new temporary folder.
// As root, the server runs as the postgres system user (PostgreSQL refuses
// to run as root).
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, major, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{BinDir: bin, Major: major, Host: "127.0.0.1", User: "postgres", done: make(chan struct{})}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user to start PostgreSQL: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.Dir, err = tempDir("pg"); err != nil {
		return nil, err
	}
	p.unregister = register(func() { p.Stop() })
	fail := func(err error) (*Postgres, error) {
		p.Stop()
		return nil, err
	}
	p.SocketDir = filepath.Join(p.Dir, "sock")
	data := filepath.Join(p.Dir, "data")
	if err := os.Mkdir(p.SocketDir, 0o700); err != nil {
		return fail(err)
	}
	pw := make([]byte, 12)
	rand.Read(pw)
	p.Password = hex.EncodeToString(pw)
	pwfile := filepath.Join(p.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if cred != nil {
		for _, d := range []string{p.Dir, p.SocketDir, pwfile} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(err)
			}
		}
	}

	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", p.User, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, bytes.TrimSpace(out)))
	}
	os.Remove(pwfile)

	logPath := filepath.Join(p.Dir, "postgres.log")
	for attempt := 0; ; attempt++ {
		if p.Port, err = FreePort(); err != nil {
			return fail(err)
		}
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fail(err)
		}
		// No fsync: the cluster is thrown away, and tests should measure our
		// code, not the disk.
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
			"-p", strconv.Itoa(p.Port), "-k", p.SocketDir,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=50", "-c", "shared_buffers=128MB")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fail(fmt.Errorf("start postgres: %w", err))
		}
		logf.Close()
		p.cmd = cmd
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		p.done = exited
		err = p.waitReady(ctx, exited, 30*time.Second)
		if err == nil {
			return p, nil
		}
		if attempt < 2 && strings.Contains(tail(logPath, 2000), "could not bind") {
			continue // the port was taken between FreePort and bind
		}
		return fail(fmt.Errorf("%w\npostgres log: %s", err, tail(logPath, 1500)))
	}
}

func (p *Postgres) waitReady(ctx context.Context, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		out, err := exec.CommandContext(ctx, filepath.Join(p.BinDir, "pg_isready"),
			"-h", p.SocketDir, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("postgres exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %s", limit, bytes.TrimSpace(out))
		}
	}
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 15 s) and
// removes its folder. It is safe to call more than once.
func (p *Postgres) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		if p.cmd != nil && p.cmd.Process != nil {
			p.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
		if p.Dir != "" {
			err = os.RemoveAll(p.Dir)
		}
		if p.unregister != nil {
			p.unregister()
		}
	})
	return err
}

// Bin returns the path of a PostgreSQL program of the server's version.
func (p *Postgres) Bin(name string) string { return filepath.Join(p.BinDir, name) }

// SocketEnv is the libpq environment for the superuser over the Unix socket.
func (p *Postgres) SocketEnv() []string {
	return []string{"PGHOST=" + p.SocketDir, "PGPORT=" + strconv.Itoa(p.Port), "PGUSER=" + p.User}
}

// Command returns a PostgreSQL program (psql, pg_dump, …) of the server's
// version set up to connect as the superuser over the Unix socket.
func (p *Postgres) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Bin(name), args...)
	cmd.Env = append(cleanEnv(), p.SocketEnv()...)
	return cmd
}

// Psql runs SQL in database db and returns psql's unaligned, tuples-only
// output. Errors stop the script (ON_ERROR_STOP).
func (p *Postgres) Psql(ctx context.Context, db, sql string) (string, error) {
	cmd := p.Command(ctx, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db)
	cmd.Stdin = strings.NewReader(sql)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("psql -d %s: %v: %s", db, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(out.String()), nil
}

// CreateDatabase creates an empty database.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	_, err := p.Psql(ctx, "postgres", fmt.Sprintf(`CREATE DATABASE %q`, name))
	return err
}

// CreateUser creates a login role with a password, owner of nothing.
func (p *Postgres) CreateUser(ctx context.Context, name, password string) error {
	_, err := p.Psql(ctx, "postgres", fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD '%s'`, name, strings.ReplaceAll(password, "'", "''")))
	return err
}

// cleanEnv is the process environment without libpq variables, so that a
// developer's PGHOST or PGPASSWORD cannot redirect a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	sort.Strings(env)
	return env
}

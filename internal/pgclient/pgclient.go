// Package pgclient finds the PostgreSQL client programs the job runs:
// pg_dump for each server (the one of the server's own major when there
// is one), and the psql and pg_dumpall installed with it. Debian's and
// the PostgreSQL project's packages install the client of each major
// version side by side, Root/<major>/bin.
package pgclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// DefaultRoot is where the packages install the clients.
const DefaultRoot = "/usr/lib/postgresql"

// Root is DefaultRoot, but for tests.
var Root = DefaultRoot

// Version is a PostgreSQL version.
type Version struct {
	Major int
	Text  string
}

func (v Version) String() string { return v.Text }

// Client is an installed pg_dump and its version.
type Client struct {
	PgDump  string
	Version Version
}

// Psql is the psql installed with this pg_dump, or psql on PATH.
func (c Client) Psql() string { return Sibling(c.PgDump, "psql") }

// PgDumpall is the pg_dumpall installed with this pg_dump (of the same
// version, so it accepts the same servers), or pg_dumpall on PATH.
func (c Client) PgDumpall() string { return Sibling(c.PgDump, "pg_dumpall") }

// Sibling is the program name installed beside program (found on PATH
// when it has no folder), or name alone, for PATH to find.
func Sibling(program, name string) string {
	if p, err := exec.LookPath(program); err == nil {
		if q := filepath.Join(filepath.Dir(p), name); Executable(q) == nil {
			return q
		}
	}
	return name
}

// Installed returns the pg_dump programs under root, one per major.
func Installed(root string) []string {
	found, _ := filepath.Glob(filepath.Join(root, "*", "bin", "pg_dump"))
	return found
}

// Find returns the pg_dump programs the job may use, oldest first: pgDump
// when it is not empty, else every major version under root, else pg_dump
// on PATH. It runs each with --version, in env.
func Find(ctx context.Context, root, pgDump string, env []string) ([]Client, error) {
	paths := []string{pgDump}
	if pgDump == "" {
		if paths = Installed(root); len(paths) == 0 {
			paths = []string{"pg_dump"}
		}
	}
	var clients []Client
	for _, p := range paths {
		v, err := DumpVersion(ctx, p, env)
		if err != nil {
			return nil, err
		}
		clients = append(clients, Client{PgDump: p, Version: v})
	}
	sort.SliceStable(clients, func(i, j int) bool { return clients[i].Version.Major < clients[j].Version.Major })
	return clients, nil
}

// ErrNotFound is wrapped by the errors of a pg_dump that is not there.
var ErrNotFound = errors.New("not found")

// Choose picks the pg_dump for a server: the one of the server's major
// version (its dump restores cleanly into a server of that version), else
// the oldest newer one (an older pg_dump refuses a newer server). With
// explicit set (one pg_dump chosen by the user), that one is used
// whenever it can dump the server at all. Its errors end where a caller
// may add how to choose another.
func Choose(clients []Client, server Version, explicit bool) (Client, error) {
	var newer []Client
	for _, c := range clients {
		switch {
		case c.Version.Major == server.Major:
			return c, nil
		case c.Version.Major > server.Major:
			newer = append(newer, c)
		}
	}
	if len(newer) > 0 {
		return newer[0], nil
	}
	if explicit && len(clients) == 1 {
		c := clients[0]
		return Client{}, fmt.Errorf("pg_dump %s is older than the server (PostgreSQL %s); pg_dump must be at least the server's major version %d",
			c.Version, server, server.Major)
	}
	have := make([]string, len(clients))
	for i, c := range clients {
		have[i] = strconv.Itoa(c.Version.Major)
	}
	return Client{}, fmt.Errorf("no pg_dump for PostgreSQL %s: this machine has pg_dump %s, and a pg_dump older than the server refuses it; install the client of major version %d or newer (postgresql-client-%d)",
		server, strings.Join(have, ", "), server.Major, server.Major)
}

// Newest is the client whose psql asks servers for their version: the
// newest psql talks to every server.
func Newest(clients []Client) Client { return clients[len(clients)-1] }

var dumpVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

// DumpVersion runs pgDump --version in env.
func DumpVersion(ctx context.Context, pgDump string, env []string) (Version, error) {
	cmd := exec.CommandContext(ctx, pgDump, "--version")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return Version{}, fmt.Errorf("pg_dump %w (%s): install the PostgreSQL client", ErrNotFound, pgDump)
		}
		return Version{}, fmt.Errorf("%s --version: %w", pgDump, err)
	}
	m := dumpVersionRE.FindSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("%s --version printed no PostgreSQL version: %q", pgDump, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(string(m[1]))
	return Version{Major: major, Text: string(m[1]) + string(m[2])}, nil
}

// Lookup is exec.LookPath with the PATH given: a name with a slash is
// that file, any other is looked up in path.
func Lookup(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, Executable(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); Executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("not found")
}

// Executable says why p cannot be run as a program, or nil.
func Executable(p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such file")
	case err != nil:
		return err
	case st.IsDir():
		return errors.New("is a directory")
	case st.Mode().Perm()&0o111 == 0:
		return errors.New("not executable")
	}
	return nil
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// defaultClientRoot is where Debian's and the PostgreSQL project's (PGDG)
// packages install the client of each major version, side by side:
// defaultClientRoot/<major>/bin/pg_dump.
const defaultClientRoot = "/usr/lib/postgresql"

// clientRoot is defaultClientRoot, but for tests.
var clientRoot = defaultClientRoot

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

// psql is the psql installed with this pg_dump, or psql on PATH.
func (c Client) psql() string {
	if p, err := exec.LookPath(c.PgDump); err == nil {
		if q := filepath.Join(filepath.Dir(p), "psql"); fileExists(q) {
			return q
		}
	}
	return "psql"
}

// findClients returns the pg_dump programs the job may use, oldest first:
// the one PG_DUMP names (pgDump not empty), else every major version under
// root, else pg_dump on PATH.
func findClients(ctx context.Context, root, pgDump string) ([]Client, error) {
	var paths []string
	switch {
	case pgDump != "":
		paths = []string{pgDump}
	default:
		paths, _ = filepath.Glob(filepath.Join(root, "*", "bin", "pg_dump"))
		if len(paths) == 0 {
			paths = []string{"pg_dump"}
		}
	}
	var clients []Client
	for _, p := range paths {
		v, err := pgDumpVersion(ctx, p)
		if err != nil {
			return nil, err
		}
		clients = append(clients, Client{PgDump: p, Version: v})
	}
	sort.SliceStable(clients, func(i, j int) bool { return clients[i].Version.Major < clients[j].Version.Major })
	return clients, nil
}

// chooseClient picks the pg_dump for a server: the one of the server's
// major version (its dump restores cleanly into a server of that version),
// else the oldest newer one (an older pg_dump refuses a newer server).
// With PG_DUMP set (explicit), that one is used whenever it can dump the
// server at all.
func chooseClient(clients []Client, server Version, explicit bool) (Client, error) {
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
	return Client{}, fmt.Errorf("no pg_dump for PostgreSQL %s: this machine has pg_dump %s, and a pg_dump older than the server refuses it; install the client of major version %d or newer (postgresql-client-%d) or set %s",
		server, strings.Join(have, ", "), server.Major, server.Major, envPgDump)
}

// newestClient is the client whose psql asks servers for their version:
// the newest psql talks to every server.
func newestClient(clients []Client) Client { return clients[len(clients)-1] }

var dumpVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(\.\d+)?`)

func pgDumpVersion(ctx context.Context, pgDump string) (Version, error) {
	cmd := exec.CommandContext(ctx, pgDump, "--version")
	cmd.Env = childEnv("")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return Version{}, fmt.Errorf("pg_dump not found (%s): install the PostgreSQL client or set %s", pgDump, envPgDump)
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

package pgclient

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// fakeClients lays out root/<major>/bin/pg_dump scripts that print the
// given versions, as Debian's and PGDG's packages install them.
func fakeClients(t *testing.T, versions ...string) string {
	t.Helper()
	root, err := testenv.FakeClients(t.TempDir(), versions...)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestChooseClient(t *testing.T) {
	root := fakeClients(t, "17.7", "14.20", "18.1", "16.11")
	clients, err := Find(t.Context(), root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range clients {
		got = append(got, c.Version.Text)
	}
	if strings.Join(got, " ") != "14.20 16.11 17.7 18.1" {
		t.Fatalf("clients %v, want oldest first", got)
	}
	for _, tc := range []struct {
		server int
		want   string // the major chosen, or the error's text
	}{
		{18, "18"},
		{17, "17"},
		{16, "16"},
		{15, "16"}, // none of its own: the oldest newer one
		{13, "14"},
		{9, "14"},
		{19, "no pg_dump for PostgreSQL 19.0: this machine has pg_dump 14, 16, 17, 18"},
	} {
		c, err := Choose(clients, Version{Major: tc.server, Text: fmt.Sprintf("%d.0", tc.server)}, false)
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("server %d: %v, want %q", tc.server, err, tc.want)
		case err == nil && c.PgDump != filepath.Join(root, tc.want, "bin", "pg_dump"):
			t.Errorf("server %d: chose %s, want major %s", tc.server, c.PgDump, tc.want)
		}
	}
	if _, err := Choose(clients, Version{Major: 19, Text: "19.0"}, false); err == nil ||
		!strings.Contains(err.Error(), "postgresql-client-19") {
		t.Errorf("the error names no way out: %v", err)
	}
}

func TestChooseClientExplicit(t *testing.T) {
	root := fakeClients(t, "17.7")
	pgDump := filepath.Join(root, "17", "bin", "pg_dump")
	clients, err := Find(t.Context(), fakeClients(t, "15.1", "16.1"), pgDump, nil)
	if err != nil {
		t.Fatal(err)
	}
	// PG_DUMP is used for every server it can dump, newer or not...
	for _, server := range []int{12, 17} {
		if c, err := Choose(clients, Version{Major: server}, true); err != nil || c.PgDump != pgDump {
			t.Errorf("server %d: %v, %v", server, c, err)
		}
	}
	// ...and never for one it cannot.
	if _, err := Choose(clients, Version{Major: 18, Text: "18.1"}, true); err == nil ||
		!strings.Contains(err.Error(), "pg_dump 17.7 is older than the server (PostgreSQL 18.1)") {
		t.Errorf("server 18: %v", err)
	}
}

func TestFindClientsNone(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Find(t.Context(), t.TempDir(), "", nil); err == nil || !strings.Contains(err.Error(), "pg_dump not found") {
		t.Errorf("no client anywhere: %v", err)
	}
}

// TestRealClients reads the clients this machine has installed where
// Debian puts them: each one's version matches its folder.
func TestRealClients(t *testing.T) {
	clients, err := Find(t.Context(), DefaultRoot, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) == 0 {
		t.Fatalf("no pg_dump under %s", DefaultRoot)
	}
	for _, c := range clients {
		if want := filepath.Join(DefaultRoot, fmt.Sprint(c.Version.Major), "bin", "pg_dump"); c.PgDump != want {
			t.Errorf("%s says it is version %s", c.PgDump, c.Version)
		}
		if q := c.Psql(); q != filepath.Join(filepath.Dir(c.PgDump), "psql") {
			t.Errorf("psql of %s: %s", c.PgDump, q)
		}
		t.Logf("%s: %s", c.PgDump, c.Version)
	}
}

func TestPgDumpallBesidePgDump(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"pg_dump", "pg_dumpall"} {
		os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755)
	}
	if got := (Client{PgDump: filepath.Join(dir, "pg_dump")}).PgDumpall(); got != filepath.Join(dir, "pg_dumpall") {
		t.Errorf("pg_dumpall %q, want the one beside pg_dump", got)
	}
	os.Remove(filepath.Join(dir, "pg_dumpall"))
	if got := (Client{PgDump: filepath.Join(dir, "pg_dump")}).PgDumpall(); got != "pg_dumpall" {
		t.Errorf("pg_dumpall %q, want the one on PATH", got)
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDumpGlobals(t *testing.T) {
	// A client folder with pg_dump and psql, and one with pg_dumpall too.
	bare, full, empty := t.TempDir(), t.TempDir(), t.TempDir()
	for dir, progs := range map[string][]string{bare: {"pg_dump", "psql"}, full: {"pg_dump", "psql", "pg_dumpall"}} {
		for _, p := range progs {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		globals bool
		err     string
	}{
		{"default", nil, false, ""},
		{"true", map[string]string{"DUMP_GLOBALS": "true", "PG_DUMP": filepath.Join(full, "pg_dump"), "PATH": empty}, true, ""},
		{"false", map[string]string{"DUMP_GLOBALS": "false"}, false, ""},
		{"not a boolean", map[string]string{"DUMP_GLOBALS": "roles"}, false, `DUMP_GLOBALS="roles": use true or false`},
		{"no pg_dumpall beside PG_DUMP or on PATH", map[string]string{"DUMP_GLOBALS": "true", "PG_DUMP": filepath.Join(bare, "pg_dump"), "PATH": empty},
			false, "DUMP_GLOBALS=true: pg_dumpall not found beside " + filepath.Join(bare, "pg_dump") + " or on PATH"},
		{"pg_dumpall on PATH", map[string]string{"DUMP_GLOBALS": "true", "PG_DUMP": filepath.Join(bare, "pg_dump"), "PATH": full}, true, ""},
		{"no pg_dumpall, not wanted", map[string]string{"PG_DUMP": filepath.Join(bare, "pg_dump"), "PATH": empty}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := seedEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := Load(getenv(env), ForBackup, "")
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err != "" && strings.Count(err.Error(), "\n") != 0:
				t.Errorf("more than one line: %v", err)
			case err == nil && s.DumpGlobals != tc.globals:
				t.Errorf("DumpGlobals %v", s.DumpGlobals)
			}
		})
	}
	// verify and list read the setting without looking for programs.
	env := seedEnv()
	env["DUMP_GLOBALS"], env["PATH"] = "true", empty
	if s, err := Load(getenv(env), ForVerify, ""); err != nil || !s.DumpGlobals {
		t.Errorf("Load: %v, %v", s, err)
	}
}

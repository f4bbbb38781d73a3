package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FakeClients lays out root/<major>/bin/pg_dump scripts that print the
// given versions, as Debian's and PGDG's packages install them, under a
// new folder of dir, and returns that root.
func FakeClients(dir string, versions ...string) (string, error) {
	root, err := os.MkdirTemp(dir, "clients")
	if err != nil {
		return "", err
	}
	for _, v := range versions {
		major, _, _ := strings.Cut(v, ".")
		bin := filepath.Join(root, major, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return "", err
		}
		script := fmt.Sprintf("#!/bin/sh\necho 'pg_dump (PostgreSQL) %s (Debian %s-1.pgdg13+1)'\n", v, v)
		if err := os.WriteFile(filepath.Join(bin, "pg_dump"), []byte(script), 0o755); err != nil {
			return "", err
		}
	}
	return root, nil
}

package config

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "list")
	if err := os.WriteFile(file, []byte("from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("from base64\n"))
	tests := []struct {
		name string
		env  map[string]string
		data string
		from string
		err  string
	}{
		{name: "base64", env: map[string]string{EnvPgpassBase64: b64}, data: "from base64\n", from: "$PGPASS_FILE_BASE64"},
		{name: "file", env: map[string]string{EnvPgpassFile: file}, data: "from file\n", from: "$PGPASS_FILE (" + file + ")"},
		{name: "base64 wins over file", env: map[string]string{EnvPgpassBase64: b64, EnvPgpassFile: file}, data: "from base64\n", from: "$PGPASS_FILE_BASE64"},
		{name: "empty base64 is unset", env: map[string]string{EnvPgpassBase64: "", EnvPgpassFile: file}, data: "from file\n", from: "$PGPASS_FILE (" + file + ")"},
		{name: "neither", env: map[string]string{}, err: "no pgpass list: set PGPASS_FILE_BASE64 or PGPASS_FILE"},
		{name: "bad base64", env: map[string]string{EnvPgpassBase64: "a:b"}, from: "$PGPASS_FILE_BASE64", err: "$PGPASS_FILE_BASE64: not valid base64: bad character at offset 1"},
		{name: "missing file", env: map[string]string{EnvPgpassFile: filepath.Join(dir, "nope")}, from: "$PGPASS_FILE (" + filepath.Join(dir, "nope") + ")",
			err: "PGPASS_FILE: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "large file", env: map[string]string{EnvPgpassFile: big}, from: "$PGPASS_FILE (" + big + ")", err: "PGPASS_FILE: pgpass list is larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, from, err := List(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.data || from != tc.from {
				t.Errorf("got %q from %q, want %q from %q", data, from, tc.data, tc.from)
			}
		})
	}
	_, _, err := List(func(string) string { return "" })
	if !errors.Is(err, ErrNoList) {
		t.Errorf("err = %v, want ErrNoList", err)
	}
	_, _, err = List(func(k string) string { return map[string]string{EnvPgpassFile: dir + "/nope"}[k] })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The payload of the original image's README.
const seedPayload = `{
  "version": "1",
  "cmd": ["/app/backup.sh"],
  "env": {
	"PGPASS_FILE_BASE64": "cG9zdGdyZXMtZGIuZGVmc2ZzYS51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckF4eDp5eVBhc3N3ZEF5eTpkYjEKcG9zdGdyZXMtZGIuZGVmc2ZzYi51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckJ4eDp5eVBhc3N3ZEJ5eTpkYjIK",
	"PASS_FILE_BASE64": "TXlTZWNyZXRQYXNzd29yZAo=",
	"AWS_ACCESS_KEY_ID": "APIKeyHere",
	"AWS_SECRET_ACCESS_KEY": "SecretKeyHere",
	"S3_BUCKET": "cf-s3-some-random-uuid-here"
  }
}`

func TestParseSeedPayload(t *testing.T) {
	p, err := Parse([]byte(seedPayload), "payload.json")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Cmd, []string{"/app/backup.sh"}) || len(p.Env) != 5 || p.Env["S3_BUCKET"] != "cf-s3-some-random-uuid-here" {
		t.Errorf("parsed %+v", p)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"not json", "Salted__\x01\x02", "not valid JSON"},
		{"version", `{"version":"2","cmd":["x"]}`, `version "2" is not supported`},
		{"no version", `{"cmd":["x"]}`, `version "" is not supported`},
		{"empty cmd", `{"version":"1","cmd":[]}`, "cmd is empty"},
		{"cmd string", `{"version":"1","cmd":"/app/backup.sh"}`, `field "cmd" must be []string`},
		{"env number", `{"version":"1","cmd":["x"],"env":{"A":1}}`, `must be string`},
		{"bad name", `{"version":"1","cmd":["x"],"env":{"A=B":"supersecret"}}`, "invalid variable name"},
		{"unknown field", `{"version":"1","cmd":["x"],"envs":{}}`, `unknown field "envs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json), "p.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "supersecret") {
				t.Errorf("error quotes a value: %v", err)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	p := &Payload{Version: "1", Cmd: []string{"x"}, Env: map[string]string{"B": "2", "A": "1", "HOME": "/payload"}}
	got := p.Environ([]string{"HOME=/root", "PATH=/bin", "PAYLOAD_FILE=/task/payload.json"})
	want := []string{"PATH=/bin", "A=1", "B=2", "HOME=/payload"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRunPassesEnvAndStatus(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "task.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$GREETING $1\"\nexit \"$CODE\"\n"), 0o755)
	path := filepath.Join(dir, "payload.json")
	os.WriteFile(path, []byte(`{"version":"1","cmd":["`+script+`","db1"],"env":{"GREETING":"hello","CODE":"3"}}`), 0o600)
	p, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := p.Run(nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 || out.String() != "hello db1\n" {
		t.Errorf("exit %d, output %q; want 3, %q", code, out.String(), "hello db1\n")
	}
}

func TestRunMissingCommand(t *testing.T) {
	p := &Payload{Version: "1", Cmd: []string{"/nonexistent/backup.sh"}}
	if _, err := p.Run(nil, nil, nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/backup.sh") {
		t.Fatalf("got %v, want an error naming the command", err)
	}
}

func TestReadMissingFile(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Fatal("no error for a missing payload file")
	}
}

package runner

import (
	"bytes"
	"fmt"
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

// A payload as siderite's env2payload writes it (json.Marshal of its
// payload type, indented): "type" always present and empty, env before cmd.
const sideritePayload = `{
  "version": "1",
  "env": {
    "AWS_ACCESS_KEY_ID": "APIKeyHere",
    "AWS_SECRET_ACCESS_KEY": "SecretKeyHere",
    "PASS_FILE_BASE64": "TXlTZWNyZXRQYXNzd29yZAo=",
    "PGPASS_FILE_BASE64": "cG9zdGdyZXMtZGI6NTQzMjpoc2RwX3BnOnVzZXI6cGFzc3dvcmQ6ZGIxCg==",
    "S3_BUCKET": "cf-s3-some-random-uuid-here"
  },
  "cmd": [
    "/app/backup.sh",
    "db1"
  ],
  "type": ""
}`

func TestParseSideritePayloads(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		warn       string // a warning expected, "" for none
	}{
		{"env2payload", sideritePayload, ""},
		{"all fields", `{"version":"1","env":{"A":"1"},"cmd":["/app/backup.sh"],"type":"docker","token":"tok-supersecret","auth":"auth-supersecret","upstream":"https://up.example.com/supersecret","mode":"task"}`, ""},
		{"fields of other types", `{"version":"1","cmd":["/app/backup.sh"],"type":null,"token":{"t":"supersecret"},"auth":7,"mode":["supersecret"]}`, ""},
		{"no version", `{"cmd":["/app/backup.sh"],"type":""}`, "has no version"},
		{"null version", `{"version":null,"cmd":["/app/backup.sh"]}`, "has no version"},
		{"version 2", `{"version":"2","cmd":["/app/backup.sh"]}`, `version "2" is unknown`},
		{"numeric version", `{"version":1,"cmd":["/app/backup.sh"]}`, `version number "1" is unknown`},
		{"unknown field", `{"version":"1","cmd":["/app/backup.sh"],"envs":{"A":"supersecret"}}`, `ignoring unknown field "envs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.json), "p.json")
			if err != nil {
				t.Fatal(err)
			}
			if p.Cmd[0] != "/app/backup.sh" {
				t.Errorf("cmd %q", p.Cmd)
			}
			all := strings.Join(p.Warnings, "\n")
			if tc.warn == "" && len(p.Warnings) > 0 || !strings.Contains(all, tc.warn) {
				t.Errorf("warnings %q, want one containing %q", p.Warnings, tc.warn)
			}
			if strings.Contains(all, "supersecret") || strings.Contains(fmt.Sprintf("%+v", p), "supersecret") {
				t.Errorf("a value of an ignored field was kept or echoed: %q", all)
			}
		})
	}
	p, _ := Parse([]byte(sideritePayload), "payload.json")
	if !slices.Equal(p.Cmd, []string{"/app/backup.sh", "db1"}) || len(p.Env) != 5 {
		t.Errorf("parsed %+v", p)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"not json", "Salted__\x01\x02", "not valid JSON"},
		{"trailing text", `{"version":"1","cmd":["x"]} supersecret`, "not valid JSON"},
		{"array", `["/app/backup.sh"]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"empty", ``, "not valid JSON"},
		{"no cmd", `{"version":"1","env":{"A":"supersecret"}}`, "cmd is missing or empty"},
		{"no cmd, siderite", `{"version":"1","env":{"A":"supersecret"},"type":""}`, "cmd is missing or empty"},
		{"empty cmd", `{"version":"1","cmd":[]}`, "cmd is missing or empty"},
		{"null cmd", `{"version":"1","cmd":null}`, "cmd is missing or empty"},
		{"cmd string", `{"version":"1","cmd":"/app/backup.sh"}`, `field "cmd" must be a list of strings`},
		{"env number", `{"version":"1","cmd":["x"],"env":{"A":1}}`, `field "env" must be an object of strings`},
		{"env secret of wrong type", `{"version":"1","cmd":["x"],"env":{"A":["supersecret"]}}`, `field "env" must be an object of strings`},
		{"bad name", `{"version":"1","cmd":["x"],"env":{"A=B":"supersecret"}}`, "invalid variable name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json), "p.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "supersecret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error quotes a value or is not one line: %v", err)
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

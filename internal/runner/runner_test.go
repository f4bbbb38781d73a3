package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
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

// TestParseKeysAsSiderite checks that keys are matched as siderite's runner
// matches them: it decodes the payload with json.Unmarshal into its struct,
// so a key in any case (Unicode folding included) names a field, and of
// keys naming the same field the last wins, objects adding to each other.
// Parse must agree with json.Unmarshal into siderite's payload type.
func TestParseKeysAsSiderite(t *testing.T) {
	type sideritePayload struct {
		Version  string            `json:"version"`
		Env      map[string]string `json:"env,omitempty"`
		Cmd      []string          `json:"cmd,omitempty"`
		Type     string            `json:"type"`
		Token    string            `json:"token,omitempty"`
		Auth     string            `json:"auth,omitempty"`
		Upstream string            `json:"upstream,omitempty"`
		Mode     string            `json:"mode,omitempty"`
	}
	for _, tc := range []struct{ name, json string }{
		{"Cmd", `{"version":"1","Cmd":["/app/backup.sh","db1"]}`},
		{"CMD and Env", `{"Version":"1","CMD":["/app/backup.sh"],"Env":{"A":"supersecret"}}`},
		{"ENV and TYPE", `{"VERSION":"1","cmd":["/app/backup.sh"],"ENV":{"A":"1"},"TYPE":"","Token":"supersecret"}`},
		{"cmd then Cmd", `{"version":"1","cmd":["/app/first.sh"],"Cmd":["/app/backup.sh","db2"]}`},
		{"Cmd then cmd", `{"version":"1","Cmd":["/app/first.sh","db1"],"cmd":["/app/backup.sh"]}`},
		{"cmd twice", `{"version":"1","cmd":["/app/first.sh"],"cmd":["/app/backup.sh"]}`},
		{"null between", `{"version":"1","cmd":["/app/first.sh"],"CMD":null,"Cmd":["/app/backup.sh"]}`},
		{"env then Env", `{"version":"1","cmd":["/app/backup.sh"],"env":{"A":"1","B":"2"},"Env":{"B":"3","C":"4"}}`},
		{"env then null", `{"version":"1","cmd":["/app/backup.sh"],"env":{"A":"1"},"ENV":null}`},
		{"version then null", `{"version":"1","Version":null,"cmd":["/app/backup.sh"]}`},
		{"version 2 then 1", `{"version":"2","VERSION":"1","cmd":["/app/backup.sh"]}`},
		{"Kelvin sign", "{\"version\":\"1\",\"cmd\":[\"/app/backup.sh\"],\"to\u212aen\":\"supersecret\"}"},
		{"long s", "{\"ver\u017fion\":\"1\",\"cmd\":[\"/app/backup.sh\"]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want sideritePayload
			if err := json.Unmarshal([]byte(tc.json), &want); err != nil {
				t.Fatal(err)
			}
			p, err := Parse([]byte(tc.json), "p.json")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Cmd, want.Cmd) || !maps.Equal(p.Env, want.Env) || (p.Version == "1") != (want.Version == "1") {
				t.Errorf("parsed cmd %q, env %v, version %s; json.Unmarshal: %q, %v, %q", p.Cmd, p.Env, p.Version, want.Cmd, want.Env, want.Version)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("warnings %q, want none: every key names a field", p.Warnings)
			}
		})
	}
}

// TestParseUnknownFields checks what is said about keys that name no field:
// a warning each, naming the key and never its value, and in the error for
// a missing cmd, since a misspelt cmd is the usual cause.
func TestParseUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		err        string   // the error wanted, "" for none
		warnings   []string // the warnings wanted, in order
	}{
		{"command and args", `{"version":"1","command":"/app/backup.sh","args":["supersecret"],"env":{"A":"supersecret"}}`,
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"] (unknown fields: "command", "args")`, nil},
		{"one misspelt", `{"version":"1","cmds":["/app/backup.sh"],"Env":{"A":"supersecret"}}`,
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"] (unknown field: "cmds")`, nil},
		{"written twice", `{"version":"1","command":"supersecret","command":"supersecret"}`,
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"] (unknown field: "command")`, nil},
		{"known fields only", `{"version":"1","Env":{"A":"supersecret"},"TOKEN":"supersecret"}`,
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"]`, nil},
		{"many", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`,
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"] (unknown fields: "a", "b", "c", "d", "e", "f", "g", "h" and 2 more)`, nil},
		{"control characters in a name", "{\"cmd\\u001b[2J\":\"supersecret\"}",
			`payload p.json: cmd is missing or empty; use ["/app/backup.sh"] (unknown field: "cmd\x1b[2J")`, nil},
		{"zero-width space", "{\"version\":\"1\",\"cmd\":[\"/app/backup.sh\"],\"env\u200b\":{\"A\":\"supersecret\"}}",
			"", []string{`payload p.json: ignoring unknown field "env\u200b"`}},
		{"warnings in order", `{"version":"1","zz":"supersecret","cmd":["/app/backup.sh"],"aa":"supersecret"}`,
			"", []string{`payload p.json: ignoring unknown field "zz"`, `payload p.json: ignoring unknown field "aa"`}},
		{"warnings capped", `{"cmd":["/app/backup.sh"],"version":"1","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`,
			"", []string{
				`payload p.json: ignoring unknown field "a"`, `payload p.json: ignoring unknown field "b"`,
				`payload p.json: ignoring unknown field "c"`, `payload p.json: ignoring unknown field "d"`,
				`payload p.json: ignoring unknown field "e"`, `payload p.json: ignoring unknown field "f"`,
				`payload p.json: ignoring unknown field "g"`, `payload p.json: ignoring unknown field "h"`,
				`payload p.json: ignoring 2 more unknown fields`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.json), "p.json")
			switch {
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Fatalf("got error %v, want %s", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case err == nil && !slices.Equal(p.Warnings, tc.warnings):
				t.Errorf("warnings %q, want %q", p.Warnings, tc.warnings)
			}
		})
	}
}

// TestParseNeverShowsEnvValues parses payloads whose env holds a secret,
// in every way a payload can be wrong or odd, and checks that no error or
// warning shows it.
func TestParseNeverShowsEnvValues(t *testing.T) {
	const secret = "supersecret-pgpass"
	for _, env := range []string{
		`"env":{"PGPASSWORD":"supersecret-pgpass"}`,
		`"Env":{"PGPASSWORD":"supersecret-pgpass"}`,
		`"env":{"PGPASSWORD":"supersecret-pgpass"},"ENV":{"A":"1"}`,
		`"env":{"PGPASSWORD":["supersecret-pgpass"]}`,
		`"env":{"PGPASSWORD":"supersecret-pgpass","A=B":"1"}`,
		`"env":{"A":"supersecret-pgpass","":"1"}`,
		`"env":"supersecret-pgpass"`,
		`"envs":{"PGPASSWORD":"supersecret-pgpass"}`,
	} {
		for _, rest := range []string{
			`"version":"1","cmd":["/app/backup.sh"]`,
			`"version":2,"cmd":["/app/backup.sh"]`,
			`"version":"1"`,
			`"version":"1","command":["/app/backup.sh"]`,
			`"version":"1","cmd":"/app/backup.sh"`,
			`"version":"1","cmd":["/app/backup.sh"],"cmd":[]`,
		} {
			payload := "{" + env + "," + rest + "}"
			p, err := Parse([]byte(payload), "p.json")
			shown := fmt.Sprint(err)
			if p != nil {
				shown += strings.Join(p.Warnings, "\n")
			}
			if strings.Contains(shown, secret) {
				t.Errorf("%s: the secret is shown: %s", payload, shown)
			}
		}
	}
}

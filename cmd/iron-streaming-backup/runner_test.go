package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunnerSideritePayloads runs payloads as siderite's own tools write
// them (its env2payload always writes "type": ""; its payload type also has
// token, auth, upstream and mode): the runner runs their cmd, warns about an
// unknown or missing version without quoting any value, and refuses only a
// payload that is not JSON or has no cmd, with one line.
func TestRunnerSideritePayloads(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "task.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"ran $1 with $GREETING\"\nexit 3\n"), 0o755)
	base := []string{"PATH=" + os.Getenv("PATH")}
	for _, tc := range []struct {
		name, payload string
		code          int
		stdout        string
		stderr        []string // lines expected on stderr, in order
	}{
		{"env2payload", `{
  "version": "1",
  "env": {
    "GREETING": "hello"
  },
  "cmd": [
    "` + script + `",
    "db1"
  ],
  "type": ""
}`, 3, "ran db1 with hello\n", nil},
		{"every siderite field", `{"version":"1","env":{"GREETING":"hi"},"cmd":["` + script + `"],"type":"docker","token":"tok-supersecret","auth":"supersecret","upstream":"https://supersecret.example.com","mode":"task"}`,
			3, "ran  with hi\n", nil},
		{"no version", `{"env":{"GREETING":"hi"},"cmd":["` + script + `"],"type":""}`,
			3, "ran  with hi\n", []string{"iron-streaming-backup: warning: payload P has no version; running its cmd as version \"1\""}},
		{"version 2", `{"version":"2","cmd":["` + script + `"],"token":"supersecret"}`,
			3, "ran  with \n", []string{"iron-streaming-backup: warning: payload P: version \"2\" is unknown; running its cmd as version \"1\""}},
		{"no cmd", `{"version":"1","env":{"GREETING":"supersecret"},"type":""}`,
			2, "", []string{"iron-streaming-backup: error: payload P: cmd is missing or empty; use [\"/app/backup.sh\"]"}},
		{"encrypted", "Salted__\x8a\x01supersecret",
			2, "", []string{"iron-streaming-backup: error: payload P is not valid JSON (at byte 1); an encrypted payload must be decrypted by the scheduler before the task starts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "payload.json")
			os.WriteFile(path, []byte(tc.payload), 0o600)
			r := runJob(t, append(base, "PAYLOAD_FILE="+path), "runner")
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Errorf("exit %d, stdout %q; want %d, %q\nstderr:\n%s", r.code, r.stdout, tc.code, tc.stdout, r.stderr)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				// Hints may follow an error; the lines asserted come first.
				if l != "" && !strings.Contains(l, ": hint: ") {
					lines = append(lines, strings.ReplaceAll(l, path, "P"))
				}
			}
			if strings.Join(lines, "\n") != strings.Join(tc.stderr, "\n") {
				t.Errorf("stderr lines %q, want %q", lines, tc.stderr)
			}
			if strings.Contains(r.stderr, "supersecret") {
				t.Errorf("stderr quotes a payload value:\n%s", r.stderr)
			}
		})
	}
}

// Package runner implements the IronIO payload contract of the original
// image's runner (siderite): the payload file (named by PAYLOAD_FILE) is JSON
//
//	{"version": "1", "cmd": ["/app/backup.sh", "db1"], "env": {"NAME": "value", …}}
//
// possibly with siderite's other fields (type, token, auth, upstream, mode),
// which are ignored, and the runner starts cmd with the payload's env added to its own
// environment, passes stdin, stdout and stderr through, forwards SIGINT and
// SIGTERM, and exits with cmd's exit status.
package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// EnvPayloadFile names the payload file; IronIO sets it for every task.
const EnvPayloadFile = "PAYLOAD_FILE"

// MaxPayload caps the payload file's size.
const MaxPayload = 1 << 20

// Payload is a parsed payload file.
type Payload struct {
	Version string            // "1" in every payload known; anything else is warned about
	Cmd     []string          // the command and its arguments
	Env     map[string]string // added to the environment of Cmd
	// Warnings are one-line notes about the payload that did not stop it
	// from running (an unknown version or field); they never quote a value.
	Warnings []string
}

// ignoredFields are the other fields of siderite's payload type, which the
// original image's payloads were written with (its env2payload always writes
// "type": ""). They mean nothing to a runner and are ignored silently; their
// values (token, auth) can be secrets and are never read.
var ignoredFields = map[string]bool{"type": true, "token": true, "auth": true, "upstream": true, "mode": true}

// Read reads and checks a payload file. Error messages never quote values
// from the payload's env, which holds secrets.
func Read(path string) (*Payload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("payload %s: %w", path, err)
	}
	if len(data) > MaxPayload {
		return nil, fmt.Errorf("payload %s: larger than %d bytes", path, MaxPayload)
	}
	return Parse(data, path)
}

// Parse checks a payload's JSON; name is used in messages. Like siderite's
// runner, it runs what it can: an unknown or missing version and unknown
// fields are warnings, while a payload that is not a JSON object, or has no
// cmd, is an error.
func Parse(data []byte, name string) (*Payload, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("payload %s is not valid JSON (at byte %d); an encrypted payload must be decrypted by the scheduler before the task starts", name, se.Offset)
		}
		return nil, fmt.Errorf("payload %s is not a JSON object with cmd and env", name)
	}
	p := &Payload{}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		raw := fields[k]
		var err error
		switch {
		case k == "cmd":
			err = json.Unmarshal(raw, &p.Cmd)
		case k == "env":
			err = json.Unmarshal(raw, &p.Env)
		case k == "version":
			p.Version = versionOf(raw)
		case ignoredFields[k]:
		default:
			p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s: ignoring unknown field %s", name, quoteName(k)))
		}
		if err != nil {
			// The message names the field and the type wanted, never a value.
			want := "a list of strings"
			if k == "env" {
				want = "an object of strings"
			}
			return nil, fmt.Errorf("payload %s: field %q must be %s", name, k, want)
		}
	}
	switch {
	case p.Version == "":
		p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s has no version; running its cmd as version \"1\"", name))
	case p.Version != "1":
		p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s: version %s is unknown; running its cmd as version \"1\"", name, p.Version))
	}
	if len(p.Cmd) == 0 || p.Cmd[0] == "" {
		return nil, fmt.Errorf("payload %s: cmd is missing or empty; use [\"/app/backup.sh\"]", name)
	}
	for k := range p.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("payload %s: env has an invalid variable name %s", name, quoteName(k))
		}
	}
	return p, nil
}

// versionOf returns "1" for the version every payload has, and otherwise a
// short quoted description for a warning: a version is no secret, but it is
// the payload author's text, so it is quoted and capped.
func versionOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "1" {
			return s
		}
		if s == "" {
			return ""
		}
		return quoteName(s)
	}
	if v := string(raw); v == "null" {
		return ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return "number " + quoteName(n.String())
	}
	return "(not a string)"
}

// quoteName quotes a name taken from the payload for a message, capped so
// that hostile input cannot flood the log.
func quoteName(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// Environ returns base with the payload's variables set (replacing any of
// the same name), in a stable order.
func (p *Payload) Environ(base []string) []string {
	env := make([]string, 0, len(base)+len(p.Env))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := p.Env[name]; !ok && name != EnvPayloadFile {
			env = append(env, kv)
		}
	}
	names := make([]string, 0, len(p.Env))
	for k := range p.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, k+"="+p.Env[k])
	}
	return env
}

// Run starts the payload's command and waits for it. It returns the
// command's exit status (128+signal if a signal ended it), or an error when
// the command could not be started.
func (p *Payload) Run(stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := exec.Command(p.Cmd[0], p.Cmd[1:]...)
	cmd.Env = p.Environ(os.Environ())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// Signals are forwarded, not handled: the command decides how to stop
	// (the backup job aborts its uploads).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("payload cmd %q: %w", p.Cmd[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}

// Package runner implements the IronIO payload contract of the original
// image's runner (siderite): the payload file (named by PAYLOAD_FILE) is JSON
//
//	{"version": "1", "cmd": ["/app/backup.sh", "db1"], "env": {"NAME": "value", …}}
//
// possibly with siderite's other fields (type, token, auth, upstream, mode),
// which are ignored. Keys match fields as they do in siderite, which decodes
// the payload with encoding/json: in any case ("Cmd", "ENV"). The runner
// starts cmd with the payload's env added to its own environment, passes
// stdin, stdout and stderr through, forwards SIGINT and SIGTERM, and exits
// with cmd's exit status.
package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
)

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

// fields are the fields of siderite's payload type, which its runner
// decodes with encoding/json: a key names a field when Go's case-insensitive
// matching says so ("Cmd" and "CMD" are cmd). Each field keeps every value
// given for it, in order, so that Parse can decode them one after another
// into the same variable, as json.Unmarshal does into siderite's struct:
// the last value wins, an object (env) adds to the one before, and null
// clears cmd and env but leaves the version.
type fields struct {
	Version rawValues `json:"version"`
	Cmd     rawValues `json:"cmd"`
	Env     rawValues `json:"env"`
	// The other fields, which the original image's payloads were written
	// with (siderite's env2payload always writes "type": ""), mean nothing
	// to a runner. Their values (token, auth) can be secrets and are never
	// kept.
	Type     ignored `json:"type"`
	Token    ignored `json:"token"`
	Auth     ignored `json:"auth"`
	Upstream ignored `json:"upstream"`
	Mode     ignored `json:"mode"`
}

type rawValues []json.RawMessage

func (r *rawValues) UnmarshalJSON(b []byte) error {
	*r = append(*r, append(json.RawMessage(nil), b...))
	return nil
}

type ignored struct{}

func (*ignored) UnmarshalJSON([]byte) error { return nil }

// maxNamed caps how many unknown fields are named, one warning each, so
// that a payload of many keys cannot flood the log.
const maxNamed = 8

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
// cmd, is an error. Keys are matched as siderite's runner matches them (see
// fields).
func Parse(data []byte, name string) (*Payload, error) {
	var f fields
	err := json.Unmarshal(data, &f)
	keys, isObject := keysOf(data)
	if err != nil || !isObject {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("payload %s is not valid JSON (at byte %d); an encrypted payload must be decrypted by the scheduler before the task starts", name, se.Offset)
		}
		return nil, fmt.Errorf("payload %s is not a JSON object with cmd and env", name)
	}
	p := &Payload{}
	// The messages name the field and the type wanted, never a value.
	for _, raw := range f.Cmd {
		if json.Unmarshal(raw, &p.Cmd) != nil {
			return nil, fmt.Errorf("payload %s: field \"cmd\" must be a list of strings", name)
		}
	}
	for _, raw := range f.Env {
		if json.Unmarshal(raw, &p.Env) != nil {
			return nil, fmt.Errorf("payload %s: field \"env\" must be an object of strings", name)
		}
	}
	for _, raw := range f.Version {
		if string(raw) != "null" {
			p.Version = versionOf(raw)
		}
	}
	var unknown []string
	for _, k := range keys {
		if !known(k) {
			unknown = append(unknown, quoteName(k))
		}
	}
	for i, k := range unknown {
		if i == maxNamed {
			p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s: ignoring %d more unknown fields", name, len(unknown)-i))
			break
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s: ignoring unknown field %s", name, k))
	}
	switch {
	case p.Version == "":
		p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s has no version; running its cmd as version \"1\"", name))
	case p.Version != "1":
		p.Warnings = append(p.Warnings, fmt.Sprintf("payload %s: version %s is unknown; running its cmd as version \"1\"", name, p.Version))
	}
	if len(p.Cmd) == 0 || p.Cmd[0] == "" {
		// A misspelt cmd ("command", "args") is the usual cause.
		return nil, fmt.Errorf("payload %s: cmd is missing or empty; use [\"/app/backup.sh\"]%s", name, listUnknown(unknown))
	}
	for k := range p.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("payload %s: env has an invalid variable name %s", name, quoteName(k))
		}
	}
	return p, nil
}

// keysOf returns the keys of the JSON object data, each once, in the order
// they are first written; isObject is false when data is not an object.
func keysOf(data []byte) (keys []string, isObject bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return keys, true
		}
		k, _ := t.(string)
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return keys, true
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, true
}

// known reports whether encoding/json matches key to a field of siderite's
// payload type. It asks the decoder itself, rather than comparing names
// here, so that the rule is exactly Go's, Unicode case folding included.
func known(key string) bool {
	obj, err := json.Marshal(map[string]any{key: nil})
	if err != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(obj))
	d.DisallowUnknownFields()
	return d.Decode(&fields{}) == nil
}

// listUnknown is " (unknown fields: …)" naming the quoted unknown fields,
// or "" when there are none.
func listUnknown(quoted []string) string {
	switch len(quoted) {
	case 0:
		return ""
	case 1:
		return " (unknown field: " + quoted[0] + ")"
	}
	more := ""
	if len(quoted) > maxNamed {
		more = fmt.Sprintf(" and %d more", len(quoted)-maxNamed)
		quoted = quoted[:maxNamed]
	}
	return " (unknown fields: " + strings.Join(quoted, ", ") + more + ")"
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
		if _, ok := p.Env[name]; !ok && name != config.EnvPayloadFile {
			env = append(env, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
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

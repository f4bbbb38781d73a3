// Package runner implements the IronIO payload contract of the original
// image's runner: the payload file (named by PAYLOAD_FILE) is JSON
//
//	{"version": "1", "cmd": ["/app/backup.sh", "db1"], "env": {"NAME": "value", …}}
//
// and the runner starts cmd with the payload's env added to its own
// environment, passes stdin, stdout and stderr through, forwards SIGINT and
// SIGTERM, and exits with cmd's exit status.
package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// EnvPayloadFile names the payload file; IronIO sets it for every task.
const EnvPayloadFile = "PAYLOAD_FILE"

// MaxPayload caps the payload file's size.
const MaxPayload = 1 << 20

// Payload is a parsed payload file.
type Payload struct {
	Version string            `json:"version"`
	Cmd     []string          `json:"cmd"`
	Env     map[string]string `json:"env"`
}

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

// Parse checks a payload's JSON; name is used in messages.
func Parse(data []byte, name string) (*Payload, error) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("payload %s is not valid JSON (at byte %d); an encrypted payload must be decrypted by the scheduler before the task starts", name, se.Offset)
		case errors.As(err, &te):
			return nil, fmt.Errorf("payload %s: field %q must be %s", name, te.Field, te.Type)
		}
		// Unknown fields: the message names the field, not a value.
		return nil, fmt.Errorf("payload %s: %v", name, err)
	}
	if p.Version != "1" {
		return nil, fmt.Errorf("payload %s: version %q is not supported; use \"1\"", name, p.Version)
	}
	if len(p.Cmd) == 0 || p.Cmd[0] == "" {
		return nil, fmt.Errorf("payload %s: cmd is empty; use [\"/app/backup.sh\"]", name)
	}
	for k := range p.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("payload %s: env has an invalid variable name %q", name, k)
		}
	}
	return &p, nil
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

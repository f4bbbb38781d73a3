package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Result is what a program that Run ran did.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Output is the program's standard output and error, in that order.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Run runs name with args for at most limit, env added to this process's
// environment (secrets travel there or in files, never in argv), stdin
// when not nil. A program that ran and exited non-zero is a Result, not an
// error.
func Run(ctx context.Context, limit time.Duration, env []string, stdin []byte, name string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
		err = nil
	}
	return r, err
}

// WithoutRestrict drops a plain dump's \restrict and \unrestrict lines,
// whose key is random on every pg_dump run.
func WithoutRestrict(dump []byte) []byte {
	var kept [][]byte
	for _, l := range bytes.SplitAfter(dump, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`\restrict `)) || bytes.HasPrefix(l, []byte(`\unrestrict `)) {
			continue
		}
		kept = append(kept, l)
	}
	return bytes.Join(kept, nil)
}

// LastLines is the last n lines of s, joined with " / ".
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// RandomText is prefix and 24 random hex digits: a throwaway password.
func RandomText(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

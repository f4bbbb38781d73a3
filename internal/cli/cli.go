// Package cli holds the conventions shared by the project's commands: how
// errors and hints are printed, which exit status they map to, and the
// version string.
//
// Every command's main is
//
//	func main() { cli.Main("tool", run) }
//
// and run(ctx, args, stdin, stdout, stderr) does the work and returns an
// error. Nothing but Main calls os.Exit, so deferred clean-ups in run always
// happen.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
)

// Exit statuses shared by every command.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the work failed
	ExitUsage   = 2 // bad command line or settings; nothing was done
)

// RunFunc is the body of a command.
type RunFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// Main runs run with a context cancelled on SIGINT and SIGTERM, prints its
// error as "tool: error: …" (and "tool: hint: …" lines) on stderr and exits
// with the matching status.
func Main(tool string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(Report(os.Stderr, tool, err))
}

// Report prints err the way Main does and returns the exit status for it.
// A nil error and flag.ErrHelp (the user asked for -h) map to 0.
func Report(stderr io.Writer, tool string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var silent *silentError
	if !errors.As(err, &silent) {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: error: %s\n", tool, line)
		}
		for _, h := range Hints(err) {
			fmt.Fprintf(stderr, "%s: hint: %s\n", tool, h)
		}
	}
	var u *usageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	if silent != nil {
		return silent.code
	}
	return ExitFailure
}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// Usagef returns an error that makes the command exit with ExitUsage.
func Usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// Usage marks err as a usage error (exit status 2).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// WithHint attaches a hint, printed as "tool: hint: …" after the error line.
// Hints name a likely mistake; they never contain secrets.
func WithHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err, fmt.Sprintf(format, args...)}
}

// Hints returns the hints attached to err, outermost first, those inside
// ScrubArgs showing its arguments as its message does.
func Hints(err error) []string {
	var (
		hs, args  []string
		scrubbing bool // inside ScrubArgs
	)
	for err != nil {
		switch e := err.(type) {
		case *hintError:
			h := e.hint
			if scrubbing {
				h = scrub(h, args)
			}
			hs = append(hs, h)
		case *scrubbed:
			scrubbing = true
			args = append(args, e.args...)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			err = nil
		}
	}
	return hs
}

type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Silent returns an error that sets the exit status without printing
// anything, for commands that already reported their failures themselves.
func Silent(usage bool) error {
	if usage {
		return &usageError{&silentError{ExitUsage}}
	}
	return &silentError{ExitFailure}
}

// ExitCode returns an error that makes Main exit with code, printing
// nothing: for a command that passes on another program's exit status.
func ExitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &silentError{code}
}

// stamp is the version a build without VCS information was given, as the
// image's build does: go build -ldflags "-X
// github.com/philips-labs/iron-streaming-backup/internal/cli.stamp=v1.2.0".
var stamp string

// Version is the module version the binary was built from, with the VCS
// revision when the build recorded one, or the version stamped at link time.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if stamp != "" {
		return stamp + " " + bi.GoVersion
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && v == "(devel)" {
		v += " " + rev + dirty
	}
	return v + " " + bi.GoVersion
}

// NewFlagSet returns a flag set that reports errors instead of exiting and
// prints usage (a hand-written text) to stderr on -h.
func NewFlagSet(tool, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(tool, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error too; Parse prints
	// the text only for -h, and a one-line error with a hint otherwise.
	fs.Usage = func() {}
	usages.Store(fs, func() { fmt.Fprint(stderr, usage) })
	return fs
}

var usages sync.Map // *flag.FlagSet → func()

// Parse parses args with fs. On -h it prints the usage and returns
// flag.ErrHelp; on a bad flag it returns a usage error, showing the flag as
// Arg does, with a hint to -h.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		if u, ok := usages.Load(fs); ok {
			u.(func())()
		}
		return flag.ErrHelp
	}
	return WithHint(Usage(flagError(err, args)), "run '%s -h' for usage", fs.Name())
}

// flagError returns an error of the flag package with the arguments it
// repeats shown as Arg shows them. The flag package writes an undefined
// flag's name, and a malformed flag, as they are, and a flag's value
// quoted by %q, which escapes it but keeps a password in it; the error of
// the flag's own parser may repeat the value in any way.
func flagError(err error, args []string) error {
	msg := err.Error()
	for _, prefix := range []string{"flag provided but not defined: ", "bad flag syntax: "} {
		if name, ok := strings.CutPrefix(msg, prefix); ok {
			msg = prefix + Arg(name)
			break
		}
	}
	return errors.New(scrub(msg, args))
}

// TightGC lowers the garbage collector's heap headroom (GOGC 100 → 50)
// unless the user set GOGC. The streaming commands hold their data in
// pooled buffers and make little garbage, so this costs little CPU, and it
// keeps peak RSS near what they need even when a busy machine delays the
// collector.
func TightGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// JobCommands are the words iron-streaming-backup takes as a command in
// a prefix's place (iron-streaming-backup list, backup.sh verify). No
// prefix of a list may be one of them: "backup.sh list", scheduled to back
// up the database of the line "list", would list the bucket instead.
var JobCommands = []string{"backup", "list", "prune", "restore", "runner", "verify"}

// Package scripttest holds what the testscript tests of every command
// share: the parameters, and the script commands beyond testscript's own.
package scripttest

import (
	"errors"
	"os/exec"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// Params are the testscript parameters for the scripts in testdata:
// programs run only with an explicit exec (or exits), and Cmds.
func Params() testscript.Params {
	return testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds:                Cmds(),
	}
}

// Cmds are the script commands for every command's scripts:
//
//	exits N program [args...]   run program like exec; it must exit with status N
//
// A caller may add its own to the map.
func Cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(*testscript.TestScript, bool, []string){"exits": Exits}
}

// Exits runs "exits N program [args...]": the program, like exec, which
// must exit with status N. Unlike "! exec", it tells a usage error (2)
// from a failure (1).
func Exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s: exit status %d, want %d", args[1], got, want)
	}
}

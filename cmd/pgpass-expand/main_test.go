package main

import (
	"os"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/scripttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"pgpass-expand": main})
}

func TestScripts(t *testing.T) {
	p := scripttest.Params()
	p.Cmds["mode"] = cmdMode
	// Scripts can write control characters only through variables.
	p.Setup = func(e *testscript.Env) error {
		e.Setenv("ESC", "\x1b")
		e.Setenv("CR", "\r")
		e.Setenv("CSI", "\u009b")
		return nil
	}
	testscript.Run(t, p)
}

// cmdMode checks the permission bits of a file:
//
//	mode 0600 file
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode PERM file")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := uint64(fi.Mode().Perm()); (got == want) == neg {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"nil", nil, ExitOK, ""},
		{"help", flag.ErrHelp, ExitOK, ""},
		{"failure", errors.New("bad decrypt"), ExitFailure, "t: error: bad decrypt\n"},
		{"usage", Usagef("unknown cipher %q", "x"), ExitUsage, "t: error: unknown cipher \"x\"\n"},
		{"wrapped usage with hint", fmt.Errorf("reading: %w", WithHint(Usagef("no key"), "set -pass")), ExitUsage,
			"t: error: reading: no key\nt: hint: set -pass\n"},
		{"joined", errors.Join(errors.New("line 1: a"), errors.New("line 2: b")), ExitFailure,
			"t: error: line 1: a\nt: error: line 2: b\n"},
		{"silent", Silent(false), ExitFailure, ""},
		{"silent usage", Silent(true), ExitUsage, ""},
		{"exit code", ExitCode(3), 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if code := Report(&buf, "t", tc.err); code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			if buf.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", buf.String(), tc.stderr)
			}
		})
	}
}

func TestParse(t *testing.T) {
	var out bytes.Buffer
	fs := NewFlagSet("t", "Usage: t\n", &out)
	fs.Bool("x", false, "")
	if err := Parse(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || out.String() != "Usage: t\n" {
		t.Errorf("-h: err %v, output %q", err, out.String())
	}
	err := Parse(fs, []string{"-nope"})
	var buf bytes.Buffer
	if code := Report(&buf, "t", err); code != ExitUsage {
		t.Errorf("bad flag: exit %d, want %d", code, ExitUsage)
	}
	if want := "t: error: flag provided but not defined: \"-nope\"\nt: hint: run 't -h' for usage\n"; buf.String() != want {
		t.Errorf("bad flag: stderr %q, want %q", buf.String(), want)
	}
}

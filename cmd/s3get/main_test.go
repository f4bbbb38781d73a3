package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3test"
)

func TestMain(m *testing.M) {
	s3test.Main(m, map[string]func(){"s3get": main})
}

func TestScripts(t *testing.T) {
	p := s3test.Params()
	setup := p.Setup
	// Scripts can write control characters only through variables.
	p.Setup = func(e *testscript.Env) error {
		e.Setenv("ESC", "\x1b")
		e.Setenv("CR", "\r")
		e.Setenv("CSI", "\u009b")
		return setup(e)
	}
	testscript.Run(t, p)
}

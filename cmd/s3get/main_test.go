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
	testscript.Run(t, s3test.Params())
}

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/scripttest"
)

// TestScripts runs testdata/*.txtar: the job's command line and the
// settings it refuses, against the test servers. Every script starts with
// the settings of a good run (the two test databases, the S3 server, an
// encryption password) and changes what it tests. $DB_PASSWORDS and
// $ENC_PASS are secrets no message may show.
func TestScripts(t *testing.T) {
	p := scripttest.Params()
	p.Setup = func(e *testscript.Env) error {
		for _, kv := range jobEnv(twoDatabases(), "backups", "") {
			k, v, _ := strings.Cut(kv, "=")
			if k != "HOME" && k != "TMPDIR" {
				e.Setenv(k, v)
			}
		}
		e.Setenv("S3_ENDPOINT", srv.Endpoint)
		e.Setenv("DB1_PASSWORD", pw1)
		e.Setenv("DB2_PASSWORD", pw2)
		e.Setenv("ENC_PASS", encPass)
		e.Setenv("S3_SECRET", srv.SecretKey)
		e.Setenv("S3_ACCESS_KEY", srv.AccessKey)
		e.Setenv("S3_REGION", srv.Region)
		e.Setenv("ESC", "\x1b")
		e.Setenv("CR", "\r")
		return nil
	}
	if _, err := os.Stat("testdata"); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, p)
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// TestDiscover: a '*' line prints one target per database its server
// has, as the job finds them, filtered by DATABASES_EXCLUDE; a server
// that cannot be listed fails after the rest is printed, and no message
// holds a password.
func TestDiscover(t *testing.T) {
	c, err := testenv.StartPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := c.Psql(t.Context(), "postgres", `CREATE DATABASE "x.y"; CREATE DATABASE app; CREATE DATABASE tmpl IS_TEMPLATE true`); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASES_EXCLUDE", "postgres")
	port := strconv.Itoa(c.Port)
	list := filepath.Join(t.TempDir(), "pgpass")
	os.WriteFile(list, []byte(c.Host+":"+port+":*:"+c.User+":"+c.Password+":srv\n"+
		c.Host+":"+port+":app:"+c.User+":"+c.Password+":one\n"+
		c.Host+":"+port+":*:nobody:wrong-secret:bad\n"), 0o600)

	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"-in", list, "-json"}, nil, &stdout, &stderr)
	var got []target
	if jerr := json.Unmarshal(stdout.Bytes(), &got); jerr != nil {
		t.Fatalf("%v\n%s", jerr, stdout.String())
	}
	// app has a line of its own: the '*' line leaves it to that line.
	want := []target{
		{Line: 1, Host: c.Host, Port: port, Database: "x.y", User: c.User, Prefix: "srv.x.2ey", ListPrefix: "srv"},
		{Line: 2, Host: c.Host, Port: port, Database: "app", User: c.User, Prefix: "one"},
	}
	if len(got) != len(want) {
		t.Fatalf("targets %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if err == nil || !strings.Contains(err.Error(), "line 3 (bad): finding the databases of ") ||
		!strings.Contains(stderr.String(), "pgpass-expand: srv: found 1 databases on "+c.Host+":"+port+", 1 excluded, 1 on lines of their own: app") {
		t.Errorf("error %v, stderr %s", err, stderr.String())
	}
	if strings.Contains(err.Error()+stderr.String(), "wrong-secret") || strings.Contains(err.Error()+stderr.String(), c.Password) {
		t.Error("a message holds a password")
	}

	// A found prefix selects that database; -pgpass-out writes it for
	// libpq.
	stdout.Reset()
	out := filepath.Join(t.TempDir(), "out")
	if err := run(t.Context(), []string{"-in", list, "-pgpass-out", out, "srv.x.2ey"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != strings.Join([]string{c.Host, port, "x.y", c.User, "srv.x.2ey"}, "\t")+"\n" {
		t.Errorf("selected: %q", got)
	}
	if b, _ := os.ReadFile(out); string(b) != c.Host+":"+port+":x.y:"+c.User+":"+c.Password+"\n" {
		t.Errorf("pgpass out: %q", b)
	}
}

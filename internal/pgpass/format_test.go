package pgpass

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// formatList writes entries as a list that Parse reads back.
func formatList(entries []Entry) ([]byte, error) {
	return appendEntries(nil, entries, true)
}

func TestFormat(t *testing.T) {
	entries := []Entry{
		{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: "plain", Prefix: "db1"},
		{Line: 2, Host: "::1", Port: "5432", Database: `d:b\`, User: "u", Password: `p:a\s:s\`, Prefix: "db2"},
		{Line: 3, Host: "*", Port: "*", Database: "*", User: "*", Password: "*", Ignore: true},
		{Line: 4, Host: "#h", Port: "5432", Database: "#d", User: "u", Password: "#", Prefix: "db4"},
	}
	var b bytes.Buffer
	if err := Format(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := `h:5432:d:u:plain
\:\:1:5432:d\:b\\:u:p\:a\\s\:s\\
*:*:*:*:*
\#h:5432:#d:u:#
`
	if b.String() != want {
		t.Errorf("Format wrote\n%s\nwant\n%s", b.String(), want)
	}
}

// trickyEntries are entries whose fields need escaping.
var trickyEntries = []Entry{
	{Host: "h", Port: "5432", Database: "d", User: "u", Password: "plain", Prefix: "plain"},
	{Host: "h", Port: "5432", Database: "d", User: "colon", Password: "a:b", Prefix: "colon"},
	{Host: "h", Port: "5432", Database: "d", User: "backslash", Password: `a\b`, Prefix: "backslash"},
	{Host: "h", Port: "5432", Database: "d", User: "trailing", Password: `ab\`, Prefix: "trailing"},
	{Host: "h", Port: "5432", Database: "d", User: "both", Password: `\:\\::\`, Prefix: "both"},
	{Host: "h", Port: "5432", Database: "d", User: "escapes", Password: `\n\t\*`, Prefix: "escapes"},
	{Host: "h", Port: "5432", Database: "d", User: "star", Password: "*", Prefix: "star"},
	{Host: "h", Port: "5432", Database: "d", User: "empty", Password: "", Prefix: "empty"},
	{Host: "h", Port: "5432", Database: "d", User: "hash", Password: "#x", Prefix: "hash"},
	{Host: "h", Port: "5432", Database: "d", User: "space", Password: " a b ", Prefix: "space"},
	{Host: "h", Port: "5432", Database: "d", User: "tab", Password: "a\tb\x01", Prefix: "tab"},
	{Host: "h", Port: "5432", Database: "d", User: "utf8", Password: "pässwörd€", Prefix: "utf8"},
	{Host: "h", Port: "5432", Database: "d", User: "bytes", Password: "\xff\xfe", Prefix: "bytes"},
	{Host: "::1", Port: "5433", Database: `my:db\`, User: `us:er\`, Password: "ipv6", Prefix: "ipv6"},
	{Host: "#h", Port: "5432", Database: "d", User: "u", Password: "hashhost", Prefix: "hashhost"},
	{Host: "\xef\xbb\xbfh", Port: "5432", Database: "d", User: "u", Password: "bomhost", Prefix: "bomhost"},
	{Host: "*", Port: "*", Database: "*", User: "*", Password: "wild", Ignore: true},
}

// TestFormatRoundTrip checks that what Format writes is what libpq reads,
// and that a list written with the extra fields parses back unchanged.
func TestFormatRoundTrip(t *testing.T) {
	for _, e := range trickyEntries {
		t.Run(e.Prefix+e.User, func(t *testing.T) {
			var b bytes.Buffer
			if err := Format(&b, []Entry{e}); err != nil {
				t.Fatal(err)
			}
			pw, ok := libpqPassword(b.String(), e.Host, e.Port, e.Database, e.User)
			if !ok || pw != e.Password {
				t.Errorf("libpq reads %q from %q: %q, %t; want %q", e.User, b.String(), pw, ok, e.Password)
			}

			list, err := formatList([]Entry{e})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(bytes.NewReader(list))
			if err != nil {
				t.Fatalf("Parse(%q): %v", list, err)
			}
			want := e
			want.Line = 1
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("Parse(%q) = %q, want %q", list, revealAll(got), revealAll([]Entry{want}))
			}
		})
	}

	// All at once: libpq must find each target's own password.
	var b bytes.Buffer
	if err := Format(&b, trickyEntries[:len(trickyEntries)-1]); err != nil {
		t.Fatal(err)
	}
	for _, e := range trickyEntries[:len(trickyEntries)-1] {
		if pw, ok := libpqPassword(b.String(), e.Host, e.Port, e.Database, e.User); !ok || pw != e.Password {
			t.Errorf("libpq reads %q: %q, %t; want %q", e.User, pw, ok, e.Password)
		}
	}
}

// TestLibpqPassword checks the port of libpq's reader against the examples
// of the libpq documentation and its corner cases.
func TestLibpqPassword(t *testing.T) {
	file := "# comment\n" +
		"h:5432:d:u:pw1:prefix:ignore\n" +
		"h:5432:*:u2:pw2\r\n" +
		`h\:x:5432:d:u:pw\:3\\` + "\n" +
		"h:5432:d:u4:pw4\\\n"
	tests := []struct {
		host, port, db, user string
		want                 string
		ok                   bool
	}{
		{"h", "5432", "d", "u", "pw1", true},
		{"h", "5432", "any", "u2", "pw2", true},
		{"h:x", "5432", "d", "u", `pw:3\`, true},
		{"h", "5432", "d", "u4", `pw4\`, true},
		{"h", "5433", "d", "u", "", false},
		{"# comment", "5432", "d", "u", "", false},
	}
	for _, tc := range tests {
		pw, ok := libpqPassword(file, tc.host, tc.port, tc.db, tc.user)
		if pw != tc.want || ok != tc.ok {
			t.Errorf("libpqPassword(%q, %q, %q, %q) = %q, %t; want %q, %t", tc.host, tc.port, tc.db, tc.user, pw, ok, tc.want, tc.ok)
		}
	}
}

func TestFormatRejects(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		err  string
	}{
		{"newline in host", Entry{Line: 3, Host: "h\nx"}, "entry 1 (line 3): line break or NUL byte in the host"},
		{"NUL in user", Entry{User: "u\x00"}, "entry 1 (line 0): line break or NUL byte in the user"},
		{"CR in password", Entry{Password: "secretCR\r"}, "entry 1 (line 0): line break or NUL byte in the password"},
		{"newline in password", Entry{Password: "secret\nNL"}, "entry 1 (line 0): line break or NUL byte in the password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Format(&b, []Entry{tc.e})
			if err == nil || err.Error() != tc.err {
				t.Errorf("err = %v, want %s", err, tc.err)
			}
			if b.Len() != 0 {
				t.Errorf("Format wrote %q on error", b.String())
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pgpass")
	entries := trickyEntries[:3]
	if err := WriteFile(path, entries); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	Format(&want, entries)
	if string(got) != want.String() {
		t.Errorf("file holds %q, want %q", got, want.String())
	}

	// An existing file is never replaced.
	err = WriteFile(path, trickyEntries[3:4])
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second WriteFile: err = %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, got) {
		t.Errorf("second WriteFile changed the file")
	}

	// An entry that cannot be written leaves no file behind.
	bad := filepath.Join(dir, "bad")
	if err := WriteFile(bad, []Entry{{Password: "a\nb"}}); err == nil {
		t.Errorf("WriteFile of a bad entry succeeded")
	}
	if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile of a bad entry left a file: %v", err)
	}
}

func TestEntryNeverShowsPassword(t *testing.T) {
	const secret = "hunter2-Sup3rSecret"
	e := Entry{Line: 7, Host: "db.example.com", Port: "5432", Database: "app", User: "backup", Password: secret, Prefix: "app"}

	tests := []struct {
		format string
		want   string
	}{
		{"%v", "app (backup@db.example.com:5432/app, line 7)"},
		{"%s", "app (backup@db.example.com:5432/app, line 7)"},
		{"%+v", "{Line:7 Host:db.example.com Port:5432 Database:app User:backup Password:[redacted] Prefix:app Ignore:false}"},
		{"%#v", `pgpass.Entry{Line:7, Host:"db.example.com", Port:"5432", Database:"app", User:"backup", Password:"[redacted]", Prefix:"app", Ignore:false}`},
		{"%q", `"app (backup@db.example.com:5432/app, line 7)"`},
		{"%x", "%!x(pgpass.Entry=app (backup@db.example.com:5432/app, line 7))"},
		{"%d", "%!d(pgpass.Entry=app (backup@db.example.com:5432/app, line 7))"},
		{"%10v", "app (backup@db.example.com:5432/app, line 7)"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			if got := fmt.Sprintf(tc.format, e); got != tc.want {
				t.Errorf("Sprintf(%q) = %s, want %s", tc.format, got, tc.want)
			}
		})
	}

	ignored := e
	ignored.Prefix, ignored.Ignore = "", true
	if got, want := ignored.String(), "(no prefix) (backup@db.example.com:5432/app, line 7, ignored)"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}

	// Every other way an Entry reaches text.
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		out = append(out,
			fmt.Sprintf(verb, e), fmt.Sprintf(verb, &e),
			fmt.Sprintf(verb, []Entry{e, ignored}), fmt.Sprintf(verb, []*Entry{&e}),
			fmt.Sprintf(verb, map[string]Entry{"k": e}), fmt.Sprintf(verb, struct{ E Entry }{e}),
		)
	}
	out = append(out, fmt.Sprint(e), fmt.Sprintln(e), e.String(), e.GoString())
	j, err := json.Marshal([]Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Info("backup", "entry", e)
	slog.New(slog.NewTextHandler(&log, nil)).Info("backup", "entry", e, "ptr", &e)
	out = append(out, log.String())
	for _, s := range out {
		if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Errorf("password shown: %s", s)
		}
	}
	if want := `{"line":7,"host":"db.example.com","port":"5432","database":"app","user":"backup","prefix":"app"}`; !strings.Contains(string(j), want) {
		t.Errorf("json.Marshal = %s, want %s", j, want)
	}
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
)

func TestParsePass(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		t.Helper()
		f, err := os.CreateTemp(dir, "pw")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(content); err != nil {
			t.Fatal(err)
		}
		return "file:" + f.Name()
	}
	long := strings.Repeat("x", 2000)
	t.Setenv("OSSLENC_TEST_PW", "from env\r")
	for _, tc := range []struct {
		name  string
		spec  string
		stdin string
		want  string
		warn  string // a substring of the warning, if one is expected
	}{
		{"pass", "pass:hunter2", "", "hunter2", ""},
		{"pass keeps everything", "pass:a:b\r\n", "", "a:b\r\n", ""},
		{"env", "env:OSSLENC_TEST_PW", "", "from env\r", ""},
		{"file first line", file("line one\nline two\n"), "", "line one", ""},
		{"file no newline", file("only"), "", "only", ""},
		{"file CRLF", file("secret\r\n"), "", "secret\r", `ends in "\r"`},
		{"file NUL", file("ab\x00cd\n"), "", "ab", ""},
		{"file long line", file(long + "\n"), "", long[:osslenc.MaxPassLine], "cut at 1023"},
		{"file exactly max", file(long[:osslenc.MaxPassLine]), "", long[:osslenc.MaxPassLine], ""},
		{"file max and newline", file(long[:osslenc.MaxPassLine] + "\n"), "", long[:osslenc.MaxPassLine], ""},
		{"stdin", "stdin", "from stdin\r\ndata", "from stdin\r", `ends in "\r"`},
		{"stdin long", "stdin", long, long[:osslenc.MaxPassLine], "cut at 1023"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warnings []string
			pass, err := ParsePass(tc.spec, strings.NewReader(tc.stdin), func(m string) { warnings = append(warnings, m) })
			if err != nil {
				t.Fatal(err)
			}
			if string(pass) != tc.want {
				t.Errorf("got %q, want %q", pass, tc.want)
			}
			if tc.warn == "" && len(warnings) > 0 || tc.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warn)) {
				t.Errorf("warnings %q, want one with %q", warnings, tc.warn)
			}
			for _, w := range warnings {
				if strings.Contains(w, tc.want) {
					t.Errorf("warning %q contains the password", w)
				}
			}
		})
	}
}

func TestParsePassStdinLeavesData(t *testing.T) {
	in := strings.NewReader("pw\nthe data")
	pass, err := ParsePass("stdin", in, nil)
	if err != nil || string(pass) != "pw" {
		t.Fatalf("got %q, %v", pass, err)
	}
	rest, _ := io.ReadAll(in)
	if string(rest) != "the data" {
		t.Errorf("left %q on stdin", rest)
	}
}

func TestParsePassFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fmt.Fprint(w, "from fd\nrest")
	w.Close()
	pass, err := ParsePass(fmt.Sprintf("fd:%d", r.Fd()), nil, nil)
	if err != nil || string(pass) != "from fd" {
		t.Fatalf("got %q, %v", pass, err)
	}
	rest, _ := io.ReadAll(r) // the descriptor is still open and positioned
	if string(rest) != "rest" {
		t.Errorf("left %q", rest)
	}
}

func TestParsePassErrors(t *testing.T) {
	const secret = "Sup3rS3cret"
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	emptyLine := filepath.Join(dir, "emptyline")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(emptyLine, []byte("\n"+secret+"\n"), 0o600)
	t.Setenv("OSSLENC_EMPTY", "")
	for _, tc := range []struct {
		spec    string
		stdin   string
		badSpec bool
	}{
		{secret, "", true},
		{"Pass:" + secret, "", true},
		{"password:" + secret, "", true},
		{"pass" + secret, "", true},
		{"fd:" + secret, "", true},
		{"fd:-3", "", true},
		{"pass:", "", false},
		{"env:OSSLENC_NOT_SET_" + secret[:3], "", false},
		{"env:OSSLENC_EMPTY", "", false},
		{"file:" + empty, "", false},
		{"file:" + emptyLine, "", false},
		{"file:" + filepath.Join(dir, "missing"), "", false},
		{"stdin", "", false},
		{"stdin", "\n" + secret, false},
		{"fd:9999", "", false},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParsePass(tc.spec, strings.NewReader(tc.stdin), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrPassSpec) != tc.badSpec {
				t.Errorf("ErrPassSpec: %v, want %v", errors.Is(err, ErrPassSpec), tc.badSpec)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// FuzzParsePass checks that no password source, however mangled, panics
// or repeats the argument (which may be a mistyped password) in an error,
// and that stdin is read by openssl's rules.
func FuzzParsePass(f *testing.F) {
	for _, s := range []string{"pass:hunter2", "env:HOME", "file:/nonexistent", "fd:-1", "fd:x", "stdin", "pass", "hunter2", ""} {
		f.Add(s, []byte("hunter2\r\nsecond line"))
	}
	f.Fuzz(func(t *testing.T, spec string, stdin []byte) {
		if strings.HasPrefix(spec, "fd:") {
			return // would read this process's descriptors
		}
		pass, err := ParsePass(spec, bytes.NewReader(stdin), nil)
		known := spec == "stdin"
		for _, p := range []string{"pass:", "env:", "file:"} {
			known = known || strings.HasPrefix(spec, p)
		}
		if !known {
			if err != ErrPassSpec {
				t.Fatalf("%q: got %v, want ErrPassSpec", spec, err)
			}
			return
		}
		if p, ok := strings.CutPrefix(spec, "pass:"); ok && err != nil && p != "" {
			t.Fatalf("pass: %v", err)
		}
		if err != nil {
			return
		}
		if len(pass) == 0 {
			t.Fatal("empty password accepted")
		}
		if spec == "stdin" {
			want, _, _ := bytes.Cut(stdin, []byte("\n"))
			want, _, _ = bytes.Cut(want, []byte{0})
			want = want[:min(len(want), osslenc.MaxPassLine)]
			if !bytes.Equal(pass, want) {
				t.Fatalf("stdin %q: password %q, want %q", stdin, pass, want)
			}
		}
	})
}

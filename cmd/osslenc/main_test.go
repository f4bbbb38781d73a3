package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/scripttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"osslenc": main})
}

func TestScripts(t *testing.T) {
	p := scripttest.Params()
	// Scripts can write control characters only through variables.
	p.Setup = func(e *testscript.Env) error {
		e.Setenv("ESC", "\x1b")
		e.Setenv("CR", "\r")
		e.Setenv("CSI", "\u009b")
		return nil
	}
	testscript.Run(t, p)
}

// TestInterrupt cancels a run that waits for input: it must fail and leave
// no output file, even though the input never ends.
func TestInterrupt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.enc")
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		pw.Write(make([]byte, 1<<20)) // more than a chunk, so the file exists
		cancel()
	}()
	var stderr bytes.Buffer
	err := run(ctx, []string{"-k", "pw", "-out", out}, pr, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file left behind: %v", err)
	}
}

// TestInterruptAfterEOF fails a run whose input ended because of the
// interrupt.
func TestInterruptAfterEOF(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.enc")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-k", "pw", "-out", out}, strings.NewReader("data"), io.Discard, io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file left behind: %v", err)
	}
}

func TestParseHex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		size int
		want string
		warn bool
	}{
		{"0102030405060708", 8, "0102030405060708", false},
		{"0102", 8, "0102000000000000", true},
		{"010", 8, "0100000000000000", true},
		{"ABcd", 2, "abcd", false},
		{"010203", 2, "0102", true},
		{"0102zz", 2, "0102", true}, // the excess is not even looked at
		{"", 2, "0000", true},
	} {
		var warned bool
		got, err := parseHex("-S", tc.in, tc.size, func(string) { warned = true })
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if hexs := strings.ToLower(strings.TrimSpace(string(hexEncode(got)))); hexs != tc.want || warned != tc.warn {
			t.Errorf("%q: got %s, warned %v; want %s, %v", tc.in, hexs, warned, tc.want, tc.warn)
		}
	}
	if _, err := parseHex("-K", "0g", 2, func(string) {}); err == nil || strings.Contains(err.Error(), "0g") {
		t.Errorf("bad digit: %v", err)
	}
}

func hexEncode(b []byte) []byte {
	const digits = "0123456789abcdef"
	var out []byte
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func TestReadKFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content, want string
	}{
		{"ab\n", "ab"},
		{"ab\r\n\r\n", "ab"},
		{"a\n", "a"}, // openssl rejects this by an off-by-one
		{"ab\x00cd\n", "ab"},
		{strings.Repeat("x", 200) + "\n", strings.Repeat("x", 127)},
		{"line one\nline two\n", "line one"},
		{"\r\n", ""},
		{"", ""},
	} {
		f := filepath.Join(dir, "k")
		os.WriteFile(f, []byte(tc.content), 0o600)
		got, err := readKFile(f)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: no error", tc.content)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.content, got, err, tc.want)
		}
	}
}

// FuzzArgs parses arbitrary command lines. Parsing must not panic, and no
// error may repeat the password given with -k or -pass pass:, or a -K key.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{
		"-d -pass pass:Secret123",
		"-k Secret123 -aes-128-cbc -md md5",
		"-K Secret123 -iv 00",
		"-pass Secret123",
		"--iter 0 -k Secret123",
		"-S 00 -nosalt -k Secret123",
		"-cipher aes-512-cbc -k Secret123 extra",
		"-h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "fd:") || strings.Contains(line, "/") {
			return // would read this process's descriptors or devices
		}
		args := strings.Fields(line)
		var stderr bytes.Buffer
		cfg, err := parseArgs(args, &stderr)
		if err == nil && !cfg.version {
			_, err = cfg.options(strings.NewReader(""), func(string) {})
		}
		if err == nil {
			return
		}
		for i, a := range args {
			secret := ""
			switch {
			case (a == "-k" || a == "--k" || a == "-K" || a == "--K") && i+1 < len(args):
				secret = args[i+1]
			case strings.HasPrefix(a, "pass:"):
				secret = strings.TrimPrefix(a, "pass:")
			}
			if len(secret) >= 8 && !strings.HasPrefix(secret, "-") && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the secret %q", err, secret)
			}
		}
	})
}

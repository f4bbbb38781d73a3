package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestArg(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Control characters and other text %q escapes.
		{"db1", `"db1"`},
		{"", `""`},
		{"-\x1b[31m", `"-\x1b[31m"`},
		{"\x1b]0;title\x07", `"\x1b]0;title\a"`},
		{"a\rb\nc\td", `"a\rb\nc\td"`},
		{"\x00\x7f", `"\x00\x7f"`},
		{"\u009b31m", `"\u009b31m"`},
		{"\u202eevil", `"\u202eevil"`},
		{"\xff\xfe", `"\xff\xfe"`},
		{`say "hi" \n`, `"say \"hi\" \\n"`},
		{"café/数据", `"café/数据"`},

		// URIs.
		{"postgres://u:secret@h/db", `"postgres://u:xxxxx@h/db"`},
		{"postgresql://:secret@h", `"postgresql://:xxxxx@h"`},
		{"postgres://u:@h", `"postgres://u:xxxxx@h"`},
		{"postgres://u@h/db", `"postgres://u@h/db"`},
		{"postgres://h:5432/db", `"postgres://h:5432/db"`},
		{"postgres://u:p%40ss@h:5432/db?sslmode=require", `"postgres://u:xxxxx@h:5432/db?sslmode=require"`},
		{"postgres://u:secret@h1:5432,h2:5433/db", `"postgres://u:xxxxx@h1:5432,h2:5433/db"`},
		{"postgres://u:p@ss/w?rd@h/db", `"postgres://u:xxxxx@h/db"`},
		{"postgres://u:a://b:c@h/db", `"postgres://u:xxxxx@h/db"`},
		{"https://key:secret@hc-ping.example.com/x", `"https://key:xxxxx@hc-ping.example.com/x"`},
		{"postgres://h/db?sslmode=require&password=secret&user=u", `"postgres://h/db?sslmode=require&password=xxxxx&user=u"`},
		{"postgres://h/db?password=secret", `"postgres://h/db?password=xxxxx"`},
		{"postgres://h/db?pass%77ord=secret&x=1", `"postgres://h/db?pass%77ord=xxxxx&x=1"`},
		{"postgres://h/db?PASSWORD=se cret", `"postgres://h/db?PASSWORD=xxxxx"`},
		{"postgres://u:one@h/db?password=two", `"postgres://u:xxxxx@h/db?password=xxxxx"`},
		{"\x1b[2Jpostgres://u:secret\x1b@h", `"\x1b[2Jpostgres://u:xxxxx@h"`},

		// Keyword values.
		{"host=h password=secret dbname=db", `"host=h password=xxxxx dbname=db"`},
		{"host=h password = 'a secret' dbname=db", `"host=h password=xxxxx dbname=db"`},
		{`password='it\'s a \\ secret' host=h`, `"password=xxxxx host=h"`},
		{"host=h password='never ends", `"host=h password=xxxxx"`},
		{"host=h password=", `"host=h password=xxxxx"`},
		{"password= secret host=h", `"password=xxxxx host=h"`},
		{`password=se\ cret host=h`, `"password=xxxxx host=h"`},
		{`password="se cret" host=h`, `"password=xxxxx host=h"`},
		{"password=se\x1bcret host=h", `"password=xxxxx host=h"`},
		{"PassWord=secret", `"PassWord=xxxxx"`},
		{"PGPASSWORD=secret", `"PGPASSWORD=xxxxx"`},
		{"password=one host=h password='two' user=u", `"password=xxxxx host=h password=xxxxx user=u"`},
		{"user='password=' password='secret' dbname=db", `"user='password=xxxxx dbname=db"`},
		{`dbname='host=h password=\'se cret\''`, `"dbname='host=h password=xxxxx"`},
		{"-dsn=host=h password=secret", `"-dsn=host=h password=xxxxx"`},
		{"my password is long", `"my password is long"`},
		{"passwordfile=/x", `"passwordfile=/x"`},
		{"host=h\npassword=secret", `"host=h\npassword=xxxxx"`},
	} {
		if got := Arg(tc.in); got != tc.want {
			t.Errorf("Arg(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestArgManyKeywords checks that an argument of many password keywords,
// each of whose values may run to the end, is hidden from the 64th on.
func TestArgManyKeywords(t *testing.T) {
	in := strings.Repeat("password=x ", 70)
	want := strconv.Quote(strings.Repeat("password=xxxxx ", 63) + "password=xxxxx")
	if got := Arg(in); got != want {
		t.Errorf("Arg(%q) = %s, want %s", in, got, want)
	}
}

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, `[]`},
		{[]string{"db1", "db2"}, `["db1" "db2"]`},
		{[]string{"a\x1b", "postgres://u:secret@h/db", "host=h password='x y'"}, `["a\x1b" "postgres://u:xxxxx@h/db" "host=h password=xxxxx"]`},
	} {
		if got := Args(tc.in); got != tc.want {
			t.Errorf("Args(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// Without anything to hide, Args is %q, which messages used before.
	plain := []string{"db1", `a "b"`, "-x=1"}
	if got, want := Args(plain), fmt.Sprintf("%q", plain); got != want {
		t.Errorf("Args(%q) = %s, want %s", plain, got, want)
	}
}

func TestScrubArgs(t *testing.T) {
	notExist := &fs.PathError{Op: "open", Path: "a\x1b[2Jb", Err: fs.ErrNotExist}
	for _, tc := range []struct {
		name string
		err  error
		args []string
		want string
	}{
		{"file name", notExist, []string{"-in", "a\x1b[2Jb"}, `open "a\x1b[2Jb": file does not exist`},
		{"flag value", notExist, []string{"-in=a\x1b[2Jb"}, `open "a\x1b[2Jb": file does not exist`},
		{"quoted URL", fmt.Errorf("%q is not an s3://BUCKET/KEY URL", "postgres://u:secret@h/db"), []string{"postgres://u:secret@h/db"},
			`"postgres://u:xxxxx@h/db" is not an s3://BUCKET/KEY URL`},
		{"quoted part", fmt.Errorf("invalid bucket name %q", "u:secret@h"), []string{"s3://u:secret@h/key"},
			`invalid bucket name "u:xxxxx@h"`},
		{"raw conn string", fmt.Errorf("cannot use host=h password='x y' here"), []string{"host=h password='x y'"},
			`cannot use "host=h password=xxxxx" here`},
		{"other control characters", errors.New("a\rb\x1bc\u009bd\xffe"), nil, `a\rb\x1bc\u009bd\xffe`},
		{"lines of a joined error", errors.Join(errors.New("line 1:\ta"), errors.New("line 2: \x1b")), nil, "line 1:\ta\nline 2: \\x1b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ScrubArgs(tc.err, tc.args...)
			if err.Error() != tc.want {
				t.Errorf("got %s, want %s", err, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("errors.Is does not see the error scrubbed")
			}
		})
	}

	// Nothing to change: the error itself.
	plain := &fs.PathError{Op: "open", Path: "missing.txt", Err: fs.ErrNotExist}
	if err := ScrubArgs(plain, "-in", "missing.txt"); err != error(plain) {
		t.Errorf("got %#v, want the error itself", err)
	}
	if ScrubArgs(nil, "x") != nil {
		t.Error("nil is not nil")
	}

	// Hints inside are scrubbed too; the exit status is kept.
	err := ScrubArgs(WithHint(Usage(notExist), "the list came from %s", notExist.Path), "a\x1b[2Jb")
	var buf bytes.Buffer
	if code := Report(&buf, "t", err); code != ExitUsage {
		t.Errorf("exit status %d, want %d", code, ExitUsage)
	}
	if want := "t: error: open \"a\\x1b[2Jb\": file does not exist\nt: hint: the list came from \"a\\x1b[2Jb\"\n"; buf.String() != want {
		t.Errorf("stderr %q, want %q", buf.String(), want)
	}
	if got := Hints(ScrubArgs(WithHint(errors.New("x"), "from %s", "a\rb"))); len(got) != 1 || got[0] != `from a\rb` {
		t.Errorf("hint without arguments: %q, want the carriage return escaped", got)
	}
	if code := Report(&buf, "t", ScrubArgs(Silent(false), "\x1b")); code != ExitFailure {
		t.Errorf("silent: exit status %d, want %d", code, ExitFailure)
	}
}

// TestParseFlagErrors checks that a bad flag is shown as Arg shows it:
// escaped, and without the password of a connection string given by
// mistake.
func TestParseFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, `flag provided but not defined: "-nope"`},
		{[]string{"-\x1b[31m"}, `flag provided but not defined: "-\x1b[31m"`},
		{[]string{"--\u009b2J=x"}, `flag provided but not defined: "-\u009b2J"`},
		{[]string{"--postgres://u:secret@h/db"}, `flag provided but not defined: "-postgres://u:xxxxx@h/db"`},
		{[]string{"---\x1b"}, `bad flag syntax: "---\x1b"`},
		{[]string{"-=password=secret"}, `bad flag syntax: "-=password=xxxxx"`},
		{[]string{"-s"}, `flag needs an argument: -s`},
		{[]string{"-b=host=h password=secret"}, `invalid boolean value "host=h password=xxxxx" for -b: parse error`},
		{[]string{"-s", "host=h password=secret"}, `invalid value "host=h password=xxxxx" for flag -s: no server "host=h password=xxxxx"`},
		{[]string{"-s=a\x1bb"}, `invalid value "a\x1bb" for flag -s: no server "a\x1bb"`},
		{[]string{"-s", "a\rb\x1b"}, `invalid value "a\rb\x1b" for flag -s: no server "a\rb\x1b"`},
	} {
		fs := NewFlagSet("t", "Usage: t\n", &bytes.Buffer{})
		fs.Bool("b", false, "")
		// A flag whose parser repeats its value as it is.
		fs.Func("s", "", func(v string) error { return fmt.Errorf("no server %s", v) })
		err := Parse(fs, tc.args)
		var buf bytes.Buffer
		if code := Report(&buf, "t", err); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if want := "t: error: " + tc.want + "\nt: hint: run 't -h' for usage\n"; buf.String() != want {
			t.Errorf("%q: stderr %q, want %q", tc.args, buf.String(), want)
		}
	}
}

// FuzzArg builds connection strings around a password, in the forms libpq
// reads and as people mistype them, and checks that Arg never shows the
// password as written, nor a control character.
func FuzzArg(f *testing.F) {
	f.Add("user", "s3cr3t-pw", "db.example.com", "app", uint8(0))
	f.Add("user", "p@ss/w?rd:x", "h", "db", uint8(1))
	f.Add("us'er", `it's a \ secret`, "h", "db", uint8(2))
	f.Add("u", "pass&word=x", "h", "db", uint8(3))
	f.Add("password=", "password='", "://x@", "'", uint8(1))
	f.Add("\x1b[31m", "\u009bsecret\x00", "h\r", "d\n", uint8(2))
	f.Fuzz(func(t *testing.T, user, pw, host, db string, form uint8) {
		// written is the password as the connection string holds it.
		var build func(pw string) (s, written string)
		// The output does not depend on the password when it is escaped so
		// that it cannot look like more of the structure.
		exact := true
		switch form % 4 {
		case 0: // a URI, as libpq wants it
			build = func(pw string) (string, string) {
				return "postgres://" + pct(user) + ":" + pct(pw) + "@" + pct(host) + "/" + pct(db), pct(pw)
			}
		case 1: // a URI, nothing escaped
			exact = false // the password may look like more structure
			build = func(pw string) (string, string) {
				return "postgresql://" + user + ":" + pw + "@" + host + "/" + db, pw
			}
		case 2: // keywords
			exact = false // a password=' in the password hides more
			build = func(pw string) (string, string) {
				return "host=" + kw(host) + " user=" + kw(user) + " password = " + kw(pw) + " dbname=" + kw(db), kwEscape(pw)
			}
		case 3: // a URI with the password a query parameter
			build = func(pw string) (string, string) {
				return "postgres://" + pct(host) + "/" + pct(db) + "?user=" + pct(user) + "&password=" + pct(pw) + "&sslmode=require", pct(pw)
			}
		}
		s, written := build(pw)
		out := Arg(s)
		if !utf8.ValidString(out) || strings.ContainsFunc(out, func(r rune) bool { return r < ' ' || r >= 0x7f && r < 0xa0 }) {
			t.Fatalf("Arg(%q) = %s has a control character", s, out)
		}
		shown, err := strconv.Unquote(out)
		if err != nil {
			t.Fatalf("Arg(%q) = %s is not quoted: %v", s, out, err)
		}
		ref, _ := build("")
		refShown, _ := strconv.Unquote(Arg(ref))
		if exact && shown != refShown {
			t.Errorf("Arg(%q) = %s depends on the password: with none it is %q", s, out, refShown)
		}
		// A password that is also text around it cannot be told from it.
		if written == "" || strings.Count(s, written) != 1 || strings.Contains(refShown, written) {
			return
		}
		if strings.Contains(shown, written) {
			t.Errorf("Arg(%q) = %s shows the password %q", s, out, written)
		}
	})
}

// pct percent-encodes all but the unreserved characters of a URI.
func pct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// kw quotes a keyword value as libpq reads it.
func kw(s string) string { return "'" + kwEscape(s) + "'" }

func kwEscape(s string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) }

// FuzzScrubArgs checks that a scrubbed message holds no control character
// but the newlines and tabs it had, whatever it and the argument are, and
// not the password of an argument that is a connection string.
func FuzzScrubArgs(f *testing.F) {
	f.Add("open \x1b[2J: no such file", "\x1b[2J", "s3cr3t-pw")
	f.Add(`invalid bucket name "u:%s@h"`, "s3://u:%s@h/key", "s3cr3t-pw")
	f.Add("line 1\nline 2: \"a\\x1b\" %s", "-in=%s", "pw")
	f.Fuzz(func(t *testing.T, format, arg, pw string) {
		if !strings.Contains(arg, "%s") {
			arg = "postgres://u:%s@h/db"
		}
		arg = strings.ReplaceAll(arg, "%s", pw)
		msg := strings.ReplaceAll(format, "%s", pw)
		got := ScrubArgs(errors.New(msg), arg).Error()
		if strings.ContainsFunc(got, func(r rune) bool { return r != '\n' && r != '\t' && (r < ' ' || r >= 0x7f && r < 0xa0) }) {
			t.Fatalf("ScrubArgs(%q, %q) = %q has a control character", msg, arg, got)
		}
		if strings.Count(got, "\n") != strings.Count(msg, "\n") && !strings.Contains(arg, "\n") {
			t.Errorf("ScrubArgs(%q, %q) = %q: lines changed", msg, arg, got)
		}
	})
}

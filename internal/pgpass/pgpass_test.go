package pgpass

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// readmeList is the example list of the original image's README.
const readmeList = `postgres-db.defsfsa.us-east-1.rds.amazonaws.com:5432:hsdp_pg:xxUserAxx:yyPasswdAyy:db1
postgres-db.defsfsb.us-east-1.rds.amazonaws.com:5432:hsdp_pg:xxUserBxx:yyPasswdByy:db2
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Entry
		errs []string // one per problem, in order
	}{
		{
			name: "readme",
			in:   readmeList,
			want: []Entry{
				{Line: 1, Host: "postgres-db.defsfsa.us-east-1.rds.amazonaws.com", Port: "5432", Database: "hsdp_pg", User: "xxUserAxx", Password: "yyPasswdAyy", Prefix: "db1"},
				{Line: 2, Host: "postgres-db.defsfsb.us-east-1.rds.amazonaws.com", Port: "5432", Database: "hsdp_pg", User: "xxUserBxx", Password: "yyPasswdByy", Prefix: "db2"},
			},
		},
		{
			name: "empty",
			in:   "",
		},
		{
			name: "no final newline",
			in:   "h:5432:d:u:pwNoNewline:db1",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwNoNewline", Prefix: "db1"}},
		},
		{
			name: "escaped colon and backslash in password",
			in:   `h:5432:d:u:p\:a\\ss\:w\\:db1` + "\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: `p:a\ss:w\`, Prefix: "db1"}},
		},
		{
			name: "escaped ordinary characters",
			in:   `h\ost:5432:\d:u:\p\w\#:db1` + "\n",
			want: []Entry{{Line: 1, Host: "host", Port: "5432", Database: "d", User: "u", Password: "pw#", Prefix: "db1"}},
		},
		{
			name: "ipv6 host",
			in:   `\:\:1:5432:d:u:pwIPv6:db1` + "\n" + `2001\:db8\:\:5:5432:d:u:pwIPv6:db2` + "\n",
			want: []Entry{
				{Line: 1, Host: "::1", Port: "5432", Database: "d", User: "u", Password: "pwIPv6", Prefix: "db1"},
				{Line: 2, Host: "2001:db8::5", Port: "5432", Database: "d", User: "u", Password: "pwIPv6", Prefix: "db2"},
			},
		},
		{
			name: "unescaped colon in ipv6 host",
			in:   "::1:5432:d:u:pwUnescaped6:db1\n",
			errs: []string{`line 1: too many fields (8, want 6, or 7 with "ignore"); write ':' inside a field as '\:'`},
		},
		{
			name: "escaped colon before prefix swallows it",
			in:   `h:5432:d:u:secretSwallow\:db1` + "\n",
			errs: []string{"line 1: no prefix: 5 fields make a libpq line, a backup target needs host:port:database:user:password:prefix"},
		},
		{
			name: "backslash at end of line stands for itself",
			in:   `h:5432:d:u:pwTrailing:db1\` + "\n" + `h:5432:d:u2:pwTrailing:db2:ignore\` + "\n",
			errs: []string{
				"line 1: prefix has a character other than A-Z a-z 0-9 . _ - at position 4 (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
				`line 2: 7th field must be "ignore" or empty`,
			},
		},
		{
			name: "comments blank lines and whitespace",
			in:   "# a comment\n\n   \n\t\n#h:5432:d:u:pwCommented:db0\nh:5432:d:u:pwKept:db1\n#\n",
			want: []Entry{{Line: 6, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwKept", Prefix: "db1"}},
		},
		{
			name: "indented comment",
			in:   "  # not a comment for libpq\n",
			errs: []string{"line 1: too few fields (1, want 6: host:port:database:user:password:prefix); '#' starts a comment only in the first column"},
		},
		{
			name: "crlf",
			in:   "# c\r\nh:5432:d:u:pwCRLF:db1\r\n\r\nh:5432:d:u2:pwCRLF2:db2:ignore\r\r\n",
			want: []Entry{
				{Line: 2, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwCRLF", Prefix: "db1"},
				{Line: 4, Host: "h", Port: "5432", Database: "d", User: "u2", Password: "pwCRLF2", Prefix: "db2", Ignore: true},
			},
		},
		{
			name: "byte order mark",
			in:   "\xef\xbb\xbfh:5432:d:u:pwBOM:db1\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwBOM", Prefix: "db1"}},
		},
		{
			name: "five fields",
			in:   "h:5432:d:u:pwFiveFields\n",
			errs: []string{"line 1: no prefix: 5 fields make a libpq line, a backup target needs host:port:database:user:password:prefix"},
		},
		{
			name: "too few fields",
			in:   "h:5432:d\nh\n",
			errs: []string{
				"line 1: too few fields (3, want 6: host:port:database:user:password:prefix)",
				"line 2: too few fields (1, want 6: host:port:database:user:password:prefix)",
			},
		},
		{
			name: "too many fields",
			in:   "h:5432:d:u:pw:Too:Many:db1\n",
			errs: []string{`line 1: too many fields (8, want 6, or 7 with "ignore"); write ':' inside a field as '\:'`},
		},
		{
			name: "seventh field",
			in:   "h:5432:d:u1:pwIgn1:db1:ignore\nh:5432:d:u2:pwIgn2:db2:IGNORE\nh:5432:d:u3:pwIgn3:db3:\nh:5432:d:u4:pwIgn4:db4:Ignore\n",
			want: []Entry{
				{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u1", Password: "pwIgn1", Prefix: "db1", Ignore: true},
				{Line: 2, Host: "h", Port: "5432", Database: "d", User: "u2", Password: "pwIgn2", Prefix: "db2", Ignore: true},
				{Line: 3, Host: "h", Port: "5432", Database: "d", User: "u3", Password: "pwIgn3", Prefix: "db3"},
				{Line: 4, Host: "h", Port: "5432", Database: "d", User: "u4", Password: "pwIgn4", Prefix: "db4", Ignore: true},
			},
		},
		{
			name: "unknown seventh field",
			in:   "h:5432:d:u:pwSkip:db1:skip\nh:5432:d:u:pwSkip:db2: ignore\n",
			errs: []string{
				`line 1: 7th field must be "ignore" or empty`,
				`line 2: 7th field must be "ignore" or empty`,
			},
		},
		{
			name: "ignored lines may use wildcards and no prefix",
			in:   "*:*:*:*:pwWild::ignore\n*:5432:*:admin:pwAdmin:db1:ignore\n::::::ignore\n",
			want: []Entry{
				{Line: 1, Host: "*", Port: "*", Database: "*", User: "*", Password: "pwWild", Ignore: true},
				{Line: 2, Host: "*", Port: "5432", Database: "*", User: "admin", Password: "pwAdmin", Prefix: "db1", Ignore: true},
				{Line: 3, Ignore: true},
			},
		},
		{
			name: "ignored lines need a valid port",
			in:   "h:abc:d:u:pwIgnPort:db1:ignore\n",
			errs: []string{`line 1: bad port "abc" (want 1 to 65535)`},
		},
		{
			name: "wildcards in a target",
			in:   "*:*:*:*:pwWildTarget:db1\n",
			errs: []string{
				"line 1: host is the wildcard '*'; a backup target needs a real host (or mark the line ignore)",
				"line 1: port is the wildcard '*'; a backup target needs a real port (or mark the line ignore)",
				"line 1: user is the wildcard '*'; a backup target needs a real user (or mark the line ignore)",
			},
		},
		{
			name: "every database of a server",
			in:   "h:5432:*:u:pw:app\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "*", User: "u", Password: "pw", Prefix: "app", Discover: true}},
		},
		{
			name: "a prefix in a '*' line's range",
			in:   "h:5432:*:u:pw:app\nh:5432:d:u:pw:app.d\nh:5433:*:u:pw:app.x\nh:5432:e:u:pw:appx\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "*", User: "u", Password: "pw", Prefix: "app", Discover: true},
				{Line: 2, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw", Prefix: "app.d"},
				{Line: 3, Host: "h", Port: "5433", Database: "*", User: "u", Password: "pw", Prefix: "app.x", Discover: true},
				{Line: 4, Host: "h", Port: "5432", Database: "e", User: "u", Password: "pw", Prefix: "appx"}},
			errs: []string{
				`line 2: prefix "app.d" is one that line 1's databases may take (its database is '*': app.<name>); choose a prefix outside app.*`,
				`line 3: prefix "app.x" is one that line 1's databases may take (its database is '*': app.<name>); choose a prefix outside app.*`,
			},
		},
		{
			name: "star inside a field is no wildcard",
			in:   "h*:5432:d*:u*:*:db1\n",
			want: []Entry{{Line: 1, Host: "h*", Port: "5432", Database: "d*", User: "u*", Password: "*", Prefix: "db1"}},
		},
		{
			name: "literal star",
			in:   `h:5432:d:\*:pwLiteral:db1` + "\n",
			errs: []string{`line 1: user is a literal '*' ('\*'), which is not supported`},
		},
		{
			name: "bad ports",
			in: "h:abc:d:u:pwPort1:db1\nh:0:d:u:pwPort2:db2\nh:65536:d:u:pwPort3:db3\nh:05432:d:u:pwPort4:db4\n" +
				"h:+5432:d:u:pwPort5:db5\nh::d:u:pwPort6:db6\nh:pwPortShifted:d:u:x:db7\nh: 5432:d:u:pwPort8:db8\nh:65535:d:u:pwPort9:db9\n",
			want: []Entry{{Line: 9, Host: "h", Port: "65535", Database: "d", User: "u", Password: "pwPort9", Prefix: "db9"}},
			errs: []string{
				`line 1: bad port "abc" (want 1 to 65535)`,
				`line 2: bad port "0" (want 1 to 65535)`,
				`line 3: bad port "65536" (want 1 to 65535)`,
				`line 4: bad port "05432" (want 1 to 65535)`,
				`line 5: bad port "+5432" (want 1 to 65535)`,
				`line 6: empty port`,
				`line 7: bad port (a 13-byte value, want 1 to 65535)`,
				`line 8: bad port " 5432" (want 1 to 65535)`,
			},
		},
		{
			name: "empty fields",
			in:   ":5432::u:pwEmpty1:db1\nh:5432:d::pwEmpty2:db2\n",
			errs: []string{
				"line 1: empty host",
				"line 1: empty database",
				"line 2: empty user",
			},
		},
		{
			name: "empty password is allowed",
			in:   "h:5432:d:u::db1\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Prefix: "db1"}},
		},
		{
			name: "duplicate prefix",
			in:   "h:5432:d:u1:pwDup1:db1\nh:5432:d:u2:pwDup2:db1\nh:bad:d:u3:pwDup3:db2\nh:5432:d:u4:pwDup4:db2\nh:5432:d:u5:pwDup5:db1:ignore\n",
			want: []Entry{
				{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u1", Password: "pwDup1", Prefix: "db1"},
				{Line: 5, Host: "h", Port: "5432", Database: "d", User: "u5", Password: "pwDup5", Prefix: "db1", Ignore: true},
			},
			errs: []string{
				`line 2: duplicate prefix "db1" (first on line 1)`,
				`line 3: bad port "bad" (want 1 to 65535)`,
				`line 4: duplicate prefix "db2" (first on line 3)`,
			},
		},
		{
			name: "bad prefixes",
			in: "h:5432:d:u:pwPrefix1:\nh:5432:d:u:pwPrefix2:.db\nh:5432:d:u:pwPrefix3:-db\nh:5432:d:u:pwPrefix4:db/1\n" +
				"h:5432:d:u:pwPrefix5:" + strings.Repeat("p", 129) + "\nh:5432:d:u:pwPrefix6:db 1\nh:5432:d:u:pwPrefix7:" + strings.Repeat("p", 128) + "\n" +
				"h:5432:d:u8:pwPrefix8:A.b_c-9\n",
			want: []Entry{
				{Line: 7, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwPrefix7", Prefix: strings.Repeat("p", 128)},
				{Line: 8, Host: "h", Port: "5432", Database: "d", User: "u8", Password: "pwPrefix8", Prefix: "A.b_c-9"},
			},
			errs: []string{
				"line 1: empty prefix",
				"line 2: prefix starts with '.' (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
				"line 3: prefix starts with '-' (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
				"line 4: prefix has a character other than A-Z a-z 0-9 . _ - at position 3 (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
				"line 5: prefix is 129 bytes long (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
				"line 6: prefix has a character other than A-Z a-z 0-9 . _ - at position 3 (want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -)",
			},
		},
		{
			name: "command words as prefixes",
			in:   "h:5432:d:u1:pwCmd1:list\nh:5432:d:u2:pwCmd2:runner\nh:5432:d:u3:pwCmd3:db3\nh:5432:d:u4:pwCmd4:verify:ignore\n",
			want: []Entry{
				{Line: 3, Host: "h", Port: "5432", Database: "d", User: "u3", Password: "pwCmd3", Prefix: "db3"},
				{Line: 4, Host: "h", Port: "5432", Database: "d", User: "u4", Password: "pwCmd4", Prefix: "verify", Ignore: true},
			},
			errs: []string{
				`line 1: prefix "list" is a command of the backup job (backup, help, list, prune, runner, verify, version); choose another name`,
				`line 2: prefix "runner" is a command of the backup job (backup, help, list, prune, runner, verify, version); choose another name`,
			},
		},
		{
			name: "same login with another password",
			in:   "h:5432:d:u:pwLogin1:db1\nh:5432:d:u:pwLogin1:db2\nh:5432:d:u:pwLogin2:db3\n",
			want: []Entry{
				{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwLogin1", Prefix: "db1"},
				{Line: 2, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pwLogin1", Prefix: "db2"},
			},
			errs: []string{"line 3: same host, port, database and user as line 1 but a different password; libpq would use line 1's"},
		},
		{
			name: "control characters",
			in:   "h:5432:d:u\tx:pwCtl1:db1\nh:5432:d:u:pw\rCtl2:db2\nh:5432:d:u:pw\x00Ctl3:db3\nh:5432:d:u:pw\tCtl4\x7f:db4\nh:5432:d:u:pwCtl5:p\r5:ignore\n",
			want: []Entry{{Line: 4, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw\tCtl4\x7f", Prefix: "db4"}},
			errs: []string{
				"line 1: control character in the user",
				"line 2: carriage return inside the password",
				"line 3: contains a NUL byte",
				"line 5: carriage return inside the prefix",
			},
		},
		{
			name: "not utf-8",
			in:   "h:5432:d:u:pw\xff\xfeLatin:db1\n",
			want: []Entry{{Line: 1, Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw\xff\xfeLatin", Prefix: "db1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.in), testCommands...)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries:\n got %#v\nwant %#v", revealAll(got), revealAll(tc.want))
			}
			var gotErrs []string
			if err != nil {
				gotErrs = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(gotErrs, tc.errs) {
				t.Errorf("errors:\n got %q\nwant %q", gotErrs, tc.errs)
			}
			if err != nil {
				var le *LineError
				if !errors.As(err, &le) || le.Line < 1 {
					t.Errorf("error %v is not a *LineError", err)
				}
			}
			for _, pw := range passwords(tc.in) {
				if len(pw) >= 2 && strings.Contains(fmt.Sprint(err), pw) {
					t.Errorf("error text holds the password %q: %v", pw, err)
				}
			}
		})
	}
}

// passwords returns the password field of every line of list.
func passwords(list string) []string {
	var pws []string
	for _, line := range strings.Split(list, "\n") {
		if fs := splitFields(strings.TrimRight(line, "\r")); len(fs) >= 5 {
			pws = append(pws, fs[4].value)
		}
	}
	return pws
}

// revealAll shows entries with their passwords, for test failures.
func revealAll(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("{%d %q %q %q %q %q %q %t}", e.Line, e.Host, e.Port, e.Database, e.User, e.Password, e.Prefix, e.Ignore))
	}
	return out
}

func TestSplitFields(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", []string{""}},
		{":", []string{"", ""}},
		{`a\:b:c`, []string{"a:b", "c"}},
		{`a\\:b`, []string{`a\`, "b"}},
		{`a\\\:b`, []string{`a\:b`}},
		{`a\`, []string{`a\`}},
		{`a:\`, []string{"a", `\`}},
		{`\`, []string{`\`}},
		{`\\`, []string{`\`}},
		{`\x\:`, []string{"x:"}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			var got []string
			for _, f := range splitFields(tc.line) {
				got = append(got, f.value)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("splitFields(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	big := strings.Repeat("# padding\n", maxSize/10+1)
	if _, err := Parse(strings.NewReader(big)); !errors.Is(err, errTooLarge) {
		t.Errorf("Parse of %d bytes: err = %v, want ErrTooLarge", len(big), err)
	}
	if _, err := Parse(strings.NewReader(big[:maxSize])); err != nil {
		t.Errorf("Parse of MaxSize bytes: %v", err)
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"db1", true},
		{"a", true},
		{"A-Z_a.z-0", true},
		{"1db", true},
		{"_db", true},
		{"db.", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{".", false},
		{"..", false},
		{".db", false},
		{"-db", false},
		{"db/1", false},
		{"db 1", false},
		{"db:1", false},
		{"db*", false},
		{"dé", false},
		{"db\n", false},
		// The job's commands: "backup.sh list" must never mean a backup.
		{"backup", false},
		{"list", false},
		{"verify", false},
		{"runner", false},
		{"prune", false},
		{"help", false},
		{"version", false},
		{"List", true},
		{"lists", true},
		{"backup1", true},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			err := CheckPrefix(tc.prefix, testCommands)
			if (err == nil) != tc.ok {
				t.Errorf("CheckPrefix(%q) = %v, want ok %t", tc.prefix, err, tc.ok)
			}
			if err != nil && len(tc.prefix) > 1 && !slices.Contains(testCommands, tc.prefix) && strings.Contains(err.Error(), tc.prefix) {
				t.Errorf("CheckPrefix(%q) repeats the prefix: %v", tc.prefix, err)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	entries, err := Parse(strings.NewReader("h:5432:d:u1:pw1:db1\nh:5432:d:u2:pw2:db2:ignore\nh:5432:d:u3:pw3:db3\n*:*:*:*:pw4::ignore\n"))
	if err != nil {
		t.Fatal(err)
	}
	prefixes := func(es []Entry) []string {
		var ps []string
		for _, e := range es {
			ps = append(ps, e.Prefix)
		}
		return ps
	}
	tests := []struct {
		name    string
		entries []Entry
		only    string
		want    []string
		err     string
	}{
		{name: "all", entries: entries, want: []string{"db1", "db3"}},
		{name: "only", entries: entries, only: "db3", want: []string{"db3"}},
		{name: "ignored", entries: entries, only: "db2", err: `prefix "db2" (line 2) is marked ignore`},
		{name: "unknown", entries: entries, only: "db9", err: `unknown prefix "db9"; known: db1, db3`},
		{name: "empty prefix is not a selection of ignored lines", entries: entries, only: "", want: []string{"db1", "db3"}},
		{name: "none", entries: entries[1:2], want: nil},
		{name: "unknown among none", entries: entries[3:], only: "db1", err: `unknown prefix "db1"; the list has no backup targets`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Targets(tc.entries, tc.only)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				if strings.Contains(tc.err, "ignore") != errors.Is(err, ErrIgnored) {
					t.Errorf("errors.Is(%v, ErrIgnored) = %t", err, errors.Is(err, ErrIgnored))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(prefixes(got), tc.want) {
				t.Errorf("got %q, want %q", prefixes(got), tc.want)
			}
		})
	}
}

// testCommands are words a job might take as commands.
var testCommands = []string{"backup", "help", "list", "prune", "runner", "verify", "version"}

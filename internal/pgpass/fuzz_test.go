package pgpass

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		readmeList,
		strings.ReplaceAll(readmeList, "\n", "\r\n"),
		"postgres-db.defsfsa.us-east-1.rds.amazonaws.com:5432:hsdp_pg:xxUserAxx:yyPasswdAyy:db1:ignore\n",
		"hostname:port:database:username:password:someprefix\n",
		"# comment\n\nh:5432:d:u:p\\:a\\\\ss:db1\n",
		"h:5432:d:u:pw:db1\\",
		"\\:\\:1:5432:d:u:pw:db1\n",
		"*:*:*:*:pw::ignore\n",
		"h:5432:d:\\*:pw:db1\n",
		"h:abc:d:u:secretpassword:db1\nh:5432:d:u:secretpassword:db1\n",
		"h:5432:d:u:pw1:db1\nh:5432:d:u:pw2:db2\n",
		"\xef\xbb\xbfh:5432:d:u:pw:db1\n",
		"h:5432:d:u:p\rw:db1\n",
		"h:5432:d:u:p\x00w:db1\n",
		"h:5432:d:u:pw\n",
		"h:5432:d:u:pw:db1:ignore:x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(bytes.NewReader(data))
		errText := fmt.Sprint(err)

		// Every entry, even from a list with bad lines, is what libpq
		// reads from the formatted file, and the full list parses back.
		var b bytes.Buffer
		if err := Format(&b, entries); err != nil {
			t.Fatalf("Format: %v", err)
		}
		for i, line := range strings.SplitAfter(b.String(), "\n") {
			if i == len(entries) {
				if line != "" {
					t.Fatalf("Format wrote more lines than entries: %q", b.String())
				}
				break
			}
			e := entries[i]
			if pw, ok := libpqPassword(line, e.Host, e.Port, e.Database, e.User); !ok || pw != e.Password {
				t.Fatalf("libpq reads %q from %q, %t; want %q", pw, line, ok, e.Password)
			}
		}
		list, err := formatList(entries)
		if err != nil {
			t.Fatalf("formatList: %v", err)
		}
		again, err := Parse(bytes.NewReader(list))
		if err != nil {
			t.Fatalf("Parse(formatList(entries)): %v\n%q", err, list)
		}
		for i := range again {
			again[i].Line = entries[i].Line
		}
		if !reflect.DeepEqual(again, entries) && len(entries) > 0 {
			t.Fatalf("round trip:\n got %q\nwant %q", revealAll(again), revealAll(entries))
		}

		// Errors do not depend on what the passwords are: replacing
		// each password with a marker (equal passwords with equal
		// markers, and keeping a CR or NUL) gives the same error text,
		// and no marker shows up in it or in any formatted entry.
		marked, markers := markPasswords(data)
		entries2, err2 := Parse(bytes.NewReader(marked))
		if got := fmt.Sprint(err2); got != errText {
			t.Fatalf("error text depends on passwords:\n%s\n%s", errText, got)
		}
		var out strings.Builder
		out.WriteString(errText)
		for _, e := range entries2 {
			fmt.Fprintf(&out, "%v %+v %#v %s %q %x", e, e, e, e, e, e)
			j, _ := json.Marshal(e)
			out.Write(j)
		}
		for _, m := range markers {
			if strings.Count(string(marked), m) == 1 && strings.Contains(out.String(), m) {
				t.Fatalf("password shown: %q in %q", m, out.String())
			}
		}

	})
}

// markPasswords replaces the password of every line of list with a marker
// that holds no ':' or '\'. Equal passwords get equal markers, and a marker
// keeps the CR or NUL of its password so that the same checks fail.
func markPasswords(list []byte) ([]byte, []string) {
	list = bytes.TrimPrefix(list, []byte("\xef\xbb\xbf"))
	var (
		out     [][]byte
		markers = map[string]string{}
		all     []string
	)
	for _, line := range strings.Split(string(list), "\n") {
		line = strings.TrimRight(line, "\r")
		fs := splitFields(line)
		if len(fs) < 5 || strings.Trim(line, " \t") == "" || line[0] == '#' {
			out = append(out, []byte(line))
			continue
		}
		pw := fs[4].value
		m, ok := markers[pw]
		if !ok {
			m = fmt.Sprintf("\x01Secret%04d", len(markers))
			if strings.Contains(fs[4].raw, "\r") {
				m += "\r"
			}
			if strings.Contains(fs[4].raw, "\x00") {
				m += "\x00"
			}
			m += "\x02"
			markers[pw] = m
			all = append(all, m)
		}
		raw := make([]string, len(fs))
		for i, f := range fs {
			raw[i] = f.raw
		}
		raw[4] = m
		out = append(out, []byte(strings.Join(raw, ":")))
	}
	return bytes.Join(out, []byte("\n")), all
}

// Package pgpass implements the list of databases to back up: a libpq
// password file whose lines carry one or two more fields,
//
//	host:port:database:user:password:prefix[:ignore]
//
// The first five fields are exactly those of libpq's ~/.pgpass and follow its
// rules: a backslash makes the next character literal (so ':' is written
// '\:' and '\' is written '\\'), a backslash at the end of a line stands for
// itself, a field that is exactly an unescaped '*' is a wildcard, lines whose
// first character is '#' are comments, and trailing carriage returns are
// dropped. libpq stops reading a line at the end of the password field, so a
// list is itself a valid pgpass file.
//
// The sixth field, prefix, names the backup (objects are stored as
// <prefix>-<UTC time>.gz.aes). A seventh field equal to "ignore" (in any
// case) keeps the line out of the backups; an empty seventh field means the
// same as none.
//
// Parse checks every line and reports the problems of all of them at once.
// No error, and no formatted Entry, contains a password.
package pgpass

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/philips-labs/iron-streaming-backup/internal/iox"
)

// maxSize is the largest list Parse, FromEnv and DecodeBase64 accept, in
// bytes (after base64 decoding). A list of databases is a few kilobytes; the
// cap keeps a wrong file or variable from being read whole into memory.
const maxSize = 1 << 20

// maxPrefixLen is the longest prefix accepted.
const maxPrefixLen = 128

// anyValue is the field value that libpq matches against anything. It is
// accepted only on lines marked ignore.
const anyValue = "*"

// Entry is one line of a list.
//
// Formatting an Entry with the fmt package (any verb, including %v, %+v and
// %#v), logging it with log/slog or encoding it as JSON never shows the
// password; read the Password field to use it.
type Entry struct {
	Line     int // 1-based line number in the list
	Host     string
	Port     string
	Database string
	User     string
	Password string
	Prefix   string // the backup's name; may be empty when Ignore is set
	Ignore   bool   // the line is not a backup target
	// Discover marks a line whose database is the wildcard '*': every
	// database of its server is a target (package discover). Database is
	// then "*".
	Discover bool
	// ListPrefix is, for a target discover found, the prefix of its line.
	ListPrefix string
}

// LineError is a problem with one line of a list. Its message names the
// field at fault but never contains the password, nor the line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// errTooLarge is returned for a list larger than maxSize.
var errTooLarge = fmt.Errorf("pgpass list is larger than %d bytes", maxSize)

// Parse reads a list and returns its entries in order, comments and blank
// lines (empty or only spaces and tabs) left out. Every line that is not
// marked ignore must be a backup target:
//
//   - six or seven fields; five is a valid libpq line but names no backup
//   - host, database and user not empty and not the wildcard '*'
//   - port a decimal number from 1 to 65535 without leading zeros
//   - prefix a safe S3 key name and not a command word of the job (see
//     CheckPrefix), unique in the list
//   - not the same host, port, database and user as an earlier target with
//     a different password, since libpq would only ever use the first
//
// A line marked ignore needs only to be a valid libpq line: its prefix may be
// empty and its host, port, database and user may be '*'.
//
// No field may contain a carriage return or a NUL byte, and only the
// password may contain other control characters. A field that is exactly
// '\*' (a literal star, which libpq does not treat as a wildcard) is
// rejected because Entry cannot tell it from the wildcard.
//
// A prefix may not be one of commands: the words the backup job takes as
// a command where a prefix selects one target (a scheduler runs
// "/app/backup.sh PREFIX"), so such a prefix would run the command instead
// of its backup. The error wraps ErrCommand.
//
// When some lines are bad, Parse returns the entries of the good ones and an
// error that joins one *LineError per problem, in line order, so that each
// problem prints as one line.
func Parse(r io.Reader, commands ...string) ([]Entry, error) {
	data, err := iox.ReadAllCapped(r, maxSize)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark

	var (
		entries  []Entry
		errs     []error
		prefixes = map[string]int{}   // prefix → line of its target
		logins   = map[string]Entry{} // host, port, database, user → first target
	)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r\n")
		if strings.Trim(line, " \t") == "" || line[0] == '#' {
			continue
		}
		e, lineErrs := parseLine(n, line, commands)
		if e.Line != 0 && !e.Ignore && CheckPrefix(e.Prefix, commands) == nil {
			if first, ok := prefixes[e.Prefix]; ok {
				lineErrs = append(lineErrs, fmt.Errorf("duplicate prefix %q (first on line %d)", e.Prefix, first))
			} else {
				prefixes[e.Prefix] = n
			}
		}
		if len(lineErrs) == 0 && !e.Ignore {
			key := strings.Join([]string{e.Host, e.Port, e.Database, e.User}, "\x00")
			if first, ok := logins[key]; !ok {
				logins[key] = e
			} else if first.Password != e.Password {
				lineErrs = append(lineErrs, fmt.Errorf("same host, port, database and user as line %d but a different password; libpq would use line %d's", first.Line, first.Line))
			}
		}
		if len(lineErrs) > 0 {
			for _, err := range lineErrs {
				errs = append(errs, &LineError{Line: n, Err: err})
			}
			continue
		}
		entries = append(entries, e)
	}
	// A '*' line's databases take the prefixes <prefix>.<name>: no other
	// line may have one of them, or be a '*' line inside that range.
	for _, d := range entries {
		if !d.Discover {
			continue
		}
		for _, e := range entries {
			if !e.Ignore && e.Line != d.Line && strings.HasPrefix(e.Prefix, d.Prefix+".") {
				errs = append(errs, &LineError{Line: e.Line, Err: fmt.Errorf("prefix %q is one that line %d's databases may take (its database is '*': %s.<name>); choose a prefix outside %s.*", e.Prefix, d.Line, d.Prefix, d.Prefix)})
			}
		}
	}
	return entries, errors.Join(errs...)
}

// field is one field of a line: its value with escapes removed, its text as
// written, and whether it was written as a bare '*' or as '\*'.
type field struct {
	value    string
	raw      string
	wildcard bool // exactly "*", unescaped
	literal  bool // exactly "\*"
}

// splitFields splits a line the way libpq reads it: a backslash makes the
// next byte literal, except at the end of the line where it stands for
// itself.
func splitFields(line string) []field {
	var (
		fields []field
		b      strings.Builder
		start  = 0
	)
	end := func(i int) {
		raw := line[start:i]
		fields = append(fields, field{value: b.String(), raw: raw, wildcard: raw == "*", literal: raw == `\*`})
		b.Reset()
		start = i + 1
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
		case c == ':':
			end(i)
		default:
			b.WriteByte(c)
		}
	}
	end(len(line))
	return fields
}

var fieldNames = [...]string{"host", "port", "database", "user"}

const layout = "host:port:database:user:password:prefix"

func parseLine(n int, line string, commands []string) (Entry, []error) {
	if strings.IndexByte(line, 0) >= 0 {
		return Entry{}, []error{errors.New("contains a NUL byte")}
	}
	fs := splitFields(line)
	switch {
	case len(fs) == 5:
		return Entry{}, []error{fmt.Errorf("no prefix: 5 fields make a libpq line, a backup target needs %s", layout)}
	case len(fs) < 5:
		msg := fmt.Sprintf("too few fields (%d, want 6: %s)", len(fs), layout)
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "#") {
			msg += "; '#' starts a comment only in the first column"
		}
		return Entry{}, []error{errors.New(msg)}
	case len(fs) > 7:
		return Entry{}, []error{fmt.Errorf(`too many fields (%d, want 6, or 7 with "ignore"); write ':' inside a field as '\:'`, len(fs))}
	}
	e := Entry{
		Line:     n,
		Host:     fs[0].value,
		Port:     fs[1].value,
		Database: fs[2].value,
		User:     fs[3].value,
		Password: fs[4].value,
		Prefix:   fs[5].value,
	}
	var errs []error
	if len(fs) == 7 {
		switch v := fs[6].value; {
		case strings.EqualFold(v, "ignore"):
			e.Ignore = true
		case v != "":
			errs = append(errs, errors.New(`7th field must be "ignore" or empty`))
		}
	}
	if strings.Contains(e.Password, "\r") {
		errs = append(errs, errors.New("carriage return inside the password"))
	}
	for i, f := range fs[:4] {
		name := fieldNames[i]
		switch {
		case f.literal:
			errs = append(errs, fmt.Errorf(`%s is a literal '*' ('\*'), which is not supported`, name))
		case hasControl(f.value):
			errs = append(errs, fmt.Errorf("control character in the %s", name))
		case e.Ignore && i == 1 && !f.wildcard && f.value != "":
			if err := checkPort(f.value); err != nil {
				errs = append(errs, err)
			}
		case e.Ignore:
			// Wildcards and empty fields are valid libpq.
		case f.wildcard && i == 2:
			e.Discover = true // every database of the server
		case f.wildcard:
			errs = append(errs, fmt.Errorf("%s is the wildcard '*'; a backup target needs a real %s (or mark the line ignore)", name, name))
		case f.value == "":
			errs = append(errs, fmt.Errorf("empty %s", name))
		case i == 1:
			if err := checkPort(f.value); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if e.Ignore && strings.Contains(e.Prefix, "\r") {
		// The prefix of an ignored line is not otherwise checked, but the
		// line must still survive being written out and read back.
		errs = append(errs, errors.New("carriage return inside the prefix"))
	}
	if !e.Ignore {
		if err := CheckPrefix(e.Prefix, commands); err != nil {
			errs = append(errs, err)
		}
	}
	return e, errs
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// checkPort accepts what libpq would match against a port given on the
// command line: the decimal number as written, so no leading zeros.
func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p {
		return nil
	}
	// A long value is more likely a misplaced field than a port; keep it
	// out of the message in case it is the password.
	if len(p) <= 6 && utf8.ValidString(p) {
		return fmt.Errorf("bad port %q (want 1 to 65535)", p)
	}
	return fmt.Errorf("bad port (a %d-byte value, want 1 to 65535)", len(p))
}

// ErrCommand is wrapped by the error of a prefix that is one of the
// commands given to Parse.
var ErrCommand = errors.New("is a command of the backup job")

// CheckPrefix reports whether p may name a backup: 1 to maxPrefixLen
// characters from A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or
// '-', and not one of commands. Such a name needs no escaping in an S3 key,
// a URL or a shell word, cannot form a path like ".." or look like a
// command-line option, and selects a backup when given as the job's
// argument. The error does not repeat p, except a command word, which is
// not a secret.
func CheckPrefix(p string, commands []string) error {
	const rule = "1 to 128 of A-Z a-z 0-9 . _ -, not starting with . or -"
	switch {
	case p == "":
		return errors.New("empty prefix")
	case slices.Contains(commands, p):
		return fmt.Errorf("prefix %q %w (%s); choose another name", p, ErrCommand, strings.Join(commands, ", "))
	case len(p) > maxPrefixLen:
		return fmt.Errorf("prefix is %d bytes long (want %s)", len(p), rule)
	case p[0] == '.' || p[0] == '-':
		return fmt.Errorf("prefix starts with %q (want %s)", p[0], rule)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("prefix has a character other than A-Z a-z 0-9 . _ - at position %d (want %s)", i+1, rule)
		}
	}
	return nil
}

// ErrIgnored is wrapped by the error Targets returns when the selected
// prefix belongs to a line marked ignore: there is nothing to back up, which
// a caller may treat as success.
var ErrIgnored = errors.New("marked ignore")

// Targets returns the entries to back up: those not marked ignore, or, when
// only is not empty, the one whose prefix is only. An unknown prefix is an
// error naming the known ones; a prefix found only on ignored lines is an
// error wrapping ErrIgnored.
//
// A prefix of a database a '*' line finds (its prefix, '.', the database's
// name: package discover) selects that line, whose targets are known only
// once its server is asked.
func Targets(entries []Entry, only string) ([]Entry, error) {
	var targets []Entry
	for _, e := range entries {
		if !e.Ignore && (only == "" || e.Prefix == only) {
			targets = append(targets, e)
		}
	}
	if only == "" || len(targets) > 0 {
		return targets, nil
	}
	for _, e := range entries {
		if !e.Ignore && e.Discover && strings.HasPrefix(only, e.Prefix+".") {
			targets = append(targets, e)
		}
	}
	if len(targets) > 0 {
		return targets, nil
	}
	var known []string
	for _, e := range entries {
		if e.Prefix == only {
			return nil, fmt.Errorf("prefix %q (line %d) is %w", only, e.Line, ErrIgnored)
		}
		if !e.Ignore {
			known = append(known, e.Prefix)
		}
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("unknown prefix %q; the list has no backup targets", only)
	}
	return nil, fmt.Errorf("unknown prefix %q; known: %s", only, strings.Join(known, ", "))
}

const redacted = "[redacted]"

// String returns the entry without its password, as
// "prefix (user@host:port/database, line N)".
func (e Entry) String() string {
	var b strings.Builder
	p := e.Prefix
	if p == "" {
		p = "(no prefix)"
	}
	fmt.Fprintf(&b, "%s (%s@%s:%s/%s, line %d", p, e.User, e.Host, e.Port, e.Database, e.Line)
	if e.Ignore {
		b.WriteString(", ignored")
	}
	b.WriteString(")")
	return b.String()
}

// GoString returns a Go expression for the entry with the password replaced
// by "[redacted]".
func (e Entry) GoString() string {
	return fmt.Sprintf("pgpass.Entry{Line:%d, Host:%q, Port:%q, Database:%q, User:%q, Password:%q, Prefix:%q, Ignore:%t}",
		e.Line, e.Host, e.Port, e.Database, e.User, redacted, e.Prefix, e.Ignore)
}

// Format implements fmt.Formatter so that no verb prints the password:
// %v and %s print String, %+v the fields by name, %#v GoString, %q the
// quoted String; any other verb prints like %v, marked as a bad verb.
func (e Entry) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, e.GoString())
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "{Line:%d Host:%s Port:%s Database:%s User:%s Password:%s Prefix:%s Ignore:%t}",
			e.Line, e.Host, e.Port, e.Database, e.User, redacted, e.Prefix, e.Ignore)
	case verb == 'v' || verb == 's':
		io.WriteString(f, e.String())
	case verb == 'q':
		io.WriteString(f, strconv.Quote(e.String()))
	default:
		fmt.Fprintf(f, "%%!%c(pgpass.Entry=%s)", verb, e.String())
	}
}

// LogValue implements slog.LogValuer, leaving the password out.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("line", e.Line),
		slog.String("host", e.Host),
		slog.String("port", e.Port),
		slog.String("database", e.Database),
		slog.String("user", e.User),
		slog.String("prefix", e.Prefix),
		slog.Bool("ignore", e.Ignore),
	)
}

// MarshalJSON encodes the entry without its password.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Line     int    `json:"line"`
		Host     string `json:"host"`
		Port     string `json:"port"`
		Database string `json:"database"`
		User     string `json:"user"`
		Prefix   string `json:"prefix"`
		Ignore   bool   `json:"ignore,omitempty"`
		Discover bool   `json:"discover,omitempty"`
		List     string `json:"list_prefix,omitempty"`
	}{e.Line, e.Host, e.Port, e.Database, e.User, e.Prefix, e.Ignore, e.Discover, e.ListPrefix})
}

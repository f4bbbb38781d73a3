package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mask stands for a password cut out of an argument.
const mask = "xxxxx"

// Arg returns s as an error message may show a command-line argument:
// quoted as %q quotes it, so that a control character (a terminal escape,
// a carriage return, a newline that would forge a line of its own) shows
// escaped, and with the passwords of anything that looks like a libpq
// connection string replaced by xxxxx:
//
//	postgres://user:secret@host/db           "postgres://user:xxxxx@host/db"
//	postgres://host/db?password=secret       "postgres://host/db?password=xxxxx"
//	host=h password = 'a secret' dbname=db   "host=h password=xxxxx dbname=db"
//
// It errs on the side of hiding too much: see redact.
func Arg(s string) string {
	r, _ := redact(s)
	return strconv.Quote(r)
}

// Args returns args the way %q shows a []string, each argument shown by
// Arg: ["a" "b"].
func Args(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Arg(a)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// ScrubArgs returns err with its message, and the hints attached to it,
// showing the command-line arguments args as Arg shows them, for errors
// made by code that quotes an argument with %q or writes it as it is (a
// file name in an *os.PathError, an object URL, a flag's value):
//
//   - each string quoted as %q quotes it is shown by Arg;
//   - an argument written as it is is replaced by Arg's form when it holds
//     a control character or a password, and left alone otherwise, so that
//     ordinary messages read as before;
//   - a password found in args is masked wherever else it appears: a part
//     of an argument, such as the bucket of an object URL, may be quoted on
//     its own;
//   - any other control character but newline (which separates the lines
//     of a joined error) and tab is escaped.
//
// The value of an argument -flag=value counts as an argument. errors.Is and
// errors.As see err through the result; err itself is returned when there
// is nothing to change.
func ScrubArgs(err error, args ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	e := &scrubbed{err: err, msg: scrub(msg, args), args: args}
	if e.msg != msg {
		return e
	}
	for _, h := range Hints(err) {
		if scrub(h, args) != h {
			return e
		}
	}
	return err
}

// WithScrubbedArgs returns run with ScrubArgs applied to its error and the
// command's arguments, for a command whose errors may repeat them.
func WithScrubbedArgs(run RunFunc) RunFunc {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return ScrubArgs(run(ctx, args, stdin, stdout, stderr), args...)
	}
}

type scrubbed struct {
	err  error
	msg  string
	args []string // for the hints, which Hints scrubs as it finds them
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub is ScrubArgs for one message.
func scrub(msg string, args []string) string {
	sc := newScrubber(args)
	var b strings.Builder
	plain := 0 // where the text not yet written starts
	for i := 0; i < len(msg); {
		if msg[i] != '"' {
			i++
			continue
		}
		end, closed := quoteEnd(msg, i)
		if !closed {
			// No quote before end starts a string either: each was
			// escaped in this one, whose scan it would repeat.
			i = end
			continue
		}
		u, err := strconv.Unquote(msg[i:end])
		if err != nil {
			i = end - 1 // the closing quote may open a string
			continue
		}
		sc.plain(&b, msg[plain:i])
		sc.quoted(&b, u)
		i, plain = end, end
	}
	sc.plain(&b, msg[plain:])
	return b.String()
}

// quoteEnd returns the end of the string quoted by %q that may start at
// msg[i], a double quote, and whether it is closed before a newline.
func quoteEnd(msg string, i int) (int, bool) {
	for k := i + 1; k < len(msg); k++ {
		switch msg[k] {
		case '\\':
			k++
		case '"':
			return k + 1, true
		case '\n':
			return k, false
		}
	}
	return len(msg), false
}

// scrubber holds what scrub looks for.
type scrubber struct {
	vals    []string          // the arguments and the values of -flag=value ones
	hide    []string          // those of vals with something to hide, longest first
	secrets *strings.Replacer // masks the passwords in vals, or nil
}

func newScrubber(args []string) *scrubber {
	sc := &scrubber{}
	for _, a := range args {
		sc.vals = append(sc.vals, a)
		if v, ok := flagValue(a); ok {
			sc.vals = append(sc.vals, v)
		}
	}
	var secrets []string
	for _, v := range sc.vals {
		r, sec := redact(v)
		if r != v || !printable(v) {
			sc.hide = append(sc.hide, v)
		}
		for _, s := range sec {
			if s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	// Longest first, so that an argument or password inside another is
	// not replaced in it first.
	longest := func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	}
	slices.SortFunc(sc.hide, longest)
	slices.SortFunc(secrets, longest)
	if secrets = slices.Compact(secrets); len(secrets) > 0 {
		// One Replacer, which never looks at what it wrote: the mask
		// may hold a password ("x").
		var pairs []string
		for _, s := range secrets {
			pairs = append(pairs, s, mask)
		}
		sc.secrets = strings.NewReplacer(pairs...)
	}
	return sc
}

// quoted writes u, a string that was quoted by %q, as Arg shows it, with
// the passwords of the arguments cut out of it when it is not one of them
// but perhaps a part of one.
func (sc *scrubber) quoted(b *strings.Builder, u string) {
	if sc.secrets != nil && !slices.Contains(sc.vals, u) {
		u = sc.secrets.Replace(u)
	}
	b.WriteString(Arg(u))
}

// plain writes text outside quotes: an argument with something to hide as
// Arg shows it, other passwords of the arguments masked, and control
// characters but newline and tab escaped.
func (sc *scrubber) plain(b *strings.Builder, text string) {
	// next[i] is where hide[i] is next found in text, -1 for nowhere;
	// it is looked for again only when a replacement went past it.
	next := make([]int, len(sc.hide))
	for i, h := range sc.hide {
		next[i] = strings.Index(text, h)
	}
	done := 0
	for {
		at, k := -1, -1 // the leftmost, and of those the longest
		for i, h := range sc.hide {
			if next[i] >= 0 && next[i] < done {
				next[i] = strings.Index(text[done:], h)
				if next[i] >= 0 {
					next[i] += done
				}
			}
			if next[i] >= 0 && (at < 0 || next[i] < at) {
				at, k = next[i], i
			}
		}
		if at < 0 {
			sc.escape(b, text[done:])
			return
		}
		sc.escape(b, text[done:at])
		b.WriteString(Arg(sc.hide[k]))
		done = at + len(sc.hide[k])
	}
}

// escape writes text with the passwords of the arguments masked and
// control characters but newline and tab escaped.
func (sc *scrubber) escape(b *strings.Builder, text string) {
	if sc.secrets != nil {
		text = sc.secrets.Replace(text)
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\x%02x`, text[i])
		case r != '\n' && r != '\t' && unicode.IsControl(r):
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteString(text[i : i+size])
		}
		i += size
	}
}

// flagValue returns the value of an argument -flag=value or --flag=value.
func flagValue(a string) (string, bool) {
	if !strings.HasPrefix(a, "-") {
		return "", false
	}
	_, v, ok := strings.Cut(a, "=")
	return v, ok
}

// printable reports whether s is valid UTF-8 that %q writes as it is.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// span is a part of a string to replace: s[start:end] becomes repl.
type span struct {
	start, end int
	repl       string
	secret     string // the password in it, as written
}

// redact returns s with the passwords of libpq connection strings in it
// replaced by mask, and the passwords it replaced, as written. It looks for
//
//   - the user info of a URI, scheme://user:PASSWORD@host;
//   - a keyword value, password=VALUE, by libpq's rules (blanks around
//     '=', single quotes with backslash escapes), the keyword in any case
//     and anywhere (PGPASSWORD=, db_password=);
//   - a URI query parameter, ?password=VALUE or &password=VALUE, its name
//     percent-decoded as libpq decodes it.
//
// Where a password may end is a guess, and every guess hides too much
// rather than too little: a password written with an unescaped '@', '/',
// '?' or "://" in a URI, in double quotes, or with escaped quotes of a
// connection string nested in a quoted value is hidden whole, at the cost
// of hiding some text after it.
func redact(s string) (string, []string) {
	var spans []span
	spans = userInfo(spans, s)
	spans = keywordValues(spans, s)
	spans = queryValues(spans, s)
	if len(spans) == 0 {
		return s, nil
	}
	slices.SortStableFunc(spans, func(a, b span) int { return a.start - b.start })
	var (
		b       strings.Builder
		secrets []string
		last    int
	)
	for i := 0; i < len(spans); {
		sp := spans[i]
		end := sp.end
		secrets = append(secrets, sp.secret)
		// Overlapping spans are replaced as one, by the first's repl.
		for i++; i < len(spans) && spans[i].start < end; i++ {
			end = max(end, spans[i].end)
			secrets = append(secrets, spans[i].secret)
		}
		b.WriteString(s[last:sp.start])
		b.WriteString(sp.repl)
		last = end
	}
	b.WriteString(s[last:])
	return b.String(), secrets
}

// userInfo finds the password of a URI: from the first ':' after "://" to
// the last '@'. libpq ends the user info at the first '@' or '/', but a
// password with an unescaped '@' or '/' is common, and one URI's password
// may hold what looks like another URI.
func userInfo(spans []span, s string) []span {
	i := strings.Index(s, "://")
	if i < 0 {
		return spans
	}
	rest := s[i+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return spans
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 {
		return spans
	}
	start, end := i+3+colon+1, i+3+at
	return append(spans, span{start, end, mask, s[start:end]})
}

// keywordValues finds the value of every "password", in any case, that is
// followed by '='. Every one counts, even inside another's value, so that
// a false one (user='password=') cannot hide a real one from the search.
// Since each value may run to the end, the rest of an argument with more
// than maxKeywords of them is hidden from the last one counted on, which
// keeps the work linear.
func keywordValues(spans []span, s string) []span {
	const maxKeywords = 64
	lower := asciiLower(s)
	for i, n := 0, 0; ; i++ {
		j := strings.Index(lower[i:], "password")
		if j < 0 {
			return spans
		}
		i += j
		k := i + len("password")
		eq := skipSpace(s, k)
		if eq == len(s) || s[eq] != '=' {
			continue
		}
		if i > 0 && (s[i-1] == '?' || s[i-1] == '&') {
			continue // a URI query parameter, for queryValues: it ends at '&'
		}
		// libpq skips blanks after '=' too: "password= x" is x.
		v := skipSpace(s, eq+1)
		if n++; n == maxKeywords {
			return append(spans, span{k, len(s), "=" + mask, s[v:]})
		}
		end := valueEnd(s, v)
		spans = append(spans, span{k, end, "=" + mask, unquote(s[v:end])})
		if end == len(s) {
			return spans // the rest is hidden already
		}
	}
}

// valueEnd returns where the keyword value that starts at s[v] ends, by
// libpq's rules: in single quotes, with backslash escapes, or else at a
// blank, a backslash escaping the character after it. A value in double
// quotes, which libpq does not know, runs to the closing double quote,
// since that is what its writer meant; one starting with a backslash is
// the escaped quote of a connection string nested in a quoted value
// (password=\'…\' inside dbname='…'), and runs to the end.
func valueEnd(s string, v int) int {
	if v == len(s) {
		return v
	}
	switch q := s[v]; q {
	case '\'', '"':
		for k := v + 1; k < len(s); k++ {
			switch s[k] {
			case '\\':
				k++
			case q:
				return k + 1
			}
		}
		return len(s)
	case '\\':
		return len(s)
	}
	for k := v; k < len(s); k++ {
		switch {
		case s[k] == '\\':
			k++
		case isSpace(s[k]):
			return k
		}
	}
	return len(s)
}

// queryValues finds the value of every URI query parameter whose name,
// percent-decoded, holds "password" in any case: up to the next '&'.
func queryValues(spans []span, s string) []span {
	for i := 0; i < len(s); i++ {
		if s[i] != '?' && s[i] != '&' {
			continue
		}
		n := i + 1
		for n < len(s) && !strings.ContainsRune("?&#=", rune(s[n])) {
			n++
		}
		if n < len(s) && s[n] == '=' {
			name, err := url.PathUnescape(s[i+1 : n])
			if err != nil {
				name = s[i+1 : n]
			}
			if strings.Contains(asciiLower(name), "password") {
				end := strings.IndexByte(s[n+1:], '&')
				if end < 0 {
					end = len(s)
				} else {
					end += n + 1
				}
				spans = append(spans, span{n + 1, end, mask, s[n+1 : end]})
				if end == len(s) {
					return spans // the rest is hidden already
				}
			}
		}
		i = n - 1
	}
	return spans
}

// unquote strips the quotes around a keyword value, for the password as
// written.
func unquote(v string) string {
	if v == "" || v[0] != '\'' && v[0] != '"' {
		return v
	}
	q := v[0]
	v = v[1:]
	if strings.HasSuffix(v, string(q)) {
		v = v[:len(v)-1]
	}
	return v
}

// isSpace is C's isspace, as libpq uses it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// asciiLower lowers A-Z only, so that the result has s's byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

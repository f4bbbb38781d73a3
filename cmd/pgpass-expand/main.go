// Command pgpass-expand checks a list of databases to back up, writes the
// libpq password file that pg_dump needs, and prints the backup targets.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

const usage = `Usage:
    pgpass-expand [-in FILE] [-pgpass-out PATH] [-json | -header]
                  [-show-passwords] [-only PREFIX | PREFIX]

pgpass-expand reads a list of databases to back up, checks every line, and
prints the backup targets, one per line: host, port, database, user and prefix
separated by tabs. With PREFIX (or -only PREFIX) it prints only that target.

The list is a libpq password file with one or two more fields per line:

    host:port:database:user:password:prefix[:ignore]

Write ':' and '\' inside a field as '\:' and '\\' (also in IPv6 addresses).
Lines starting with '#' and blank lines are skipped. prefix names the backup
(objects are stored as <prefix>-<UTC time>.gz.aes): 1 to 128 of A-Z a-z 0-9
. _ -, not starting with '.' or '-', each used once, and not a command of the
backup job (backup, help, list, prune, runner, verify, version), since the
job takes a prefix where it takes a command. A 7th field "ignore" (in
any case) keeps a line out of the backups; such a line may use '*' wildcards
and an empty prefix. Every other line needs a real host, port (1 to 65535),
database and user, except that the database may be '*': every database of
the server (as <prefix>.<name>; see the backup job's documentation). For
such a line pgpass-expand connects to the server, as the line's user with
its password, and prints one target per database found, as the job would
find them now (filtered by $DATABASES_INCLUDE and $DATABASES_EXCLUDE; with
-json each has list_prefix, the line's prefix); what it found goes to
stderr. All bad lines are reported at once; messages never show a
password.

Without -in, the list is taken from $PGPASS_FILE_BASE64 (base64, padded or
not, line breaks allowed) or, when that is empty, from the file named by
$PGPASS_FILE.

Options:
    -in FILE            Read the list from FILE; "-" reads standard input.
    -only PREFIX        Select the target PREFIX, like the PREFIX argument.
    -pgpass-out PATH    Also write the selected targets' host, port, database,
                        user and password to PATH, a new file of mode 0600, for
                        libpq (PGPASSFILE). Ignored lines are left out. An
                        existing PATH is never replaced.
    -json               Print a JSON array of objects with the fields line,
                        host, port, database, user and prefix.
    -header             Print a header line before the tab-separated lines.
    -show-passwords     Also print each target's password (a last column, or
                        a "password" field). Passwords are never printed
                        otherwise.
    -version            Print the version and exit.

Exit status:
    0   success, also when PREFIX is on a line marked ignore (nothing to do)
    1   the list could not be read, is not valid, or PREFIX is unknown; or
        PATH could not be written
    2   bad command line, or no list given

Examples:
    $ base64 -w0 pgpass          # the value for PGPASS_FILE_BASE64
    $ pgpass-expand -in pgpass   # check a list and show its targets
    $ pgpass-expand -json db1

    $ export PGPASSFILE="$(mktemp -d)/pgpass"
    $ pgpass-expand -pgpass-out "$PGPASSFILE" |
      while IFS=$'\t' read -r host port db user prefix; do
          pg_dump -w -h "$host" -p "$port" -U "$user" "$db" | gzip |
              osslenc -e -pass file:key |
              s3put "s3://bucket/$prefix-$(date -u +%Y%m%d%H%M%S).gz.aes"
      done
`

// Errors may repeat an argument (a file name, a prefix); they show it
// escaped, without a connection string's password.
func main() { cli.Main("pgpass-expand", cli.WithScrubbedArgs(run)) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := cli.NewFlagSet("pgpass-expand", usage, stderr)
	var (
		in            = flags.String("in", "", "")
		only          = flags.String("only", "", "")
		pgpassOut     = flags.String("pgpass-out", "", "")
		jsonOut       = flags.Bool("json", false, "")
		header        = flags.Bool("header", false, "")
		showPasswords = flags.Bool("show-passwords", false, "")
		version       = flags.Bool("version", false, "")
	)
	if err := cli.Parse(flags, args); err != nil {
		return err
	}
	if *version {
		fmt.Fprintf(stdout, "pgpass-expand %s\n", cli.Version())
		return nil
	}
	switch flags.NArg() {
	case 0:
	case 1:
		p := flags.Arg(0)
		if *only != "" && *only != p {
			return cli.Usagef("-only %s and argument %s name different prefixes", cli.Arg(*only), cli.Arg(p))
		}
		*only = p
	default:
		err := cli.Usagef("too many arguments: %d, want at most one PREFIX", flags.NArg())
		for _, a := range flags.Args()[1:] {
			if strings.HasPrefix(a, "-") {
				return cli.WithHint(err, "flags go before PREFIX")
			}
		}
		return err
	}
	if *jsonOut && *header {
		return cli.Usagef("-header applies to the tab-separated output, not to -json")
	}
	if *pgpassOut == "-" {
		return cli.WithHint(cli.Usagef("-pgpass-out needs a file name"), "the password file is never written to standard output")
	}

	entries, from, err := readList(*in, stdin)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return cli.WithHint(fmt.Errorf("no entries in %s", from), "each line is host:port:database:user:password:prefix")
	}
	targets, err := pgpass.Targets(entries, *only)
	if errors.Is(err, pgpass.ErrIgnored) {
		fmt.Fprintf(stderr, "pgpass-expand: %v; nothing to do\n", cli.ScrubArgs(err, args...))
		targets, err = nil, nil
	}
	if err != nil {
		return err
	}
	// The '*' lines' databases, as the job would find them now; a line
	// that fails is reported after the rest is printed.
	targets, expandErr := expand(ctx, targets, entries, *only, stderr)
	if targets == nil && expandErr != nil {
		return expandErr
	}
	if err := printable(targets, *jsonOut, *showPasswords); err != nil {
		return err
	}

	if *pgpassOut != "" {
		if err := pgpass.WriteFile(*pgpassOut, targets); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return cli.WithHint(err, "pgpass-expand never replaces a file; remove it or choose a new name")
			}
			return err
		}
	}

	w := bufio.NewWriter(stdout)
	if *jsonOut {
		err = writeJSON(w, targets, *showPasswords)
	} else {
		err = writeTSV(w, targets, *header, *showPasswords)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return expandErr
}

// readList reads and parses the list named by -in, or by the environment.
func readList(in string, stdin io.Reader) ([]pgpass.Entry, string, error) {
	var (
		r    io.Reader
		from string
	)
	switch in {
	case "":
		data, f, err := config.List(os.Getenv)
		if errors.Is(err, config.ErrNoList) {
			return nil, "", cli.WithHint(cli.Usage(err), "or name a file with -in FILE, or use -in - for standard input")
		}
		if err != nil && f == "$"+config.EnvPgpassBase64 {
			return nil, "", cli.WithHint(err, "%s holds the list encoded with base64, as printed by 'base64 -w0 pgpass'", config.EnvPgpassBase64)
		}
		if err != nil {
			return nil, "", err
		}
		r, from = strings.NewReader(string(data)), f
	case "-":
		r, from = stdin, "standard input"
	default:
		f, err := os.Open(in)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r, from = f, in
	}
	entries, err := pgpass.Parse(r, cli.JobCommands...)
	if err != nil {
		var le *pgpass.LineError
		if errors.As(err, &le) {
			return nil, from, cli.WithHint(err, "the list came from %s; each line is host:port:database:user:password:prefix[:ignore]", from)
		}
		return nil, from, fmt.Errorf("%s: %w", from, err)
	}
	return entries, from, nil
}

// printable checks that the targets can be printed in the chosen form:
// JSON holds only UTF-8 text, and a tab in a password would shift the
// columns of the TSV form. Other fields cannot hold a tab (Parse rejects
// control characters in them).
func printable(targets []pgpass.Entry, jsonOut, showPasswords bool) error {
	var errs []error
	for _, t := range targets {
		switch {
		case jsonOut && !utf8.ValidString(t.Host+t.Database+t.User):
			errs = append(errs, fmt.Errorf("line %d: host, database or user is not valid UTF-8, which JSON cannot hold; print without -json", t.Line))
		case jsonOut && showPasswords && !utf8.ValidString(t.Password):
			errs = append(errs, fmt.Errorf("line %d: the password is not valid UTF-8, which JSON cannot hold; print it without -json", t.Line))
		case !jsonOut && showPasswords && strings.Contains(t.Password, "\t"):
			errs = append(errs, fmt.Errorf("line %d: the password holds a tab; print it with -json", t.Line))
		case !jsonOut && strings.ContainsFunc(t.Database, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			// A found database's name is its owner's to choose.
			errs = append(errs, fmt.Errorf("line %d: database %q holds a control character, which the tab-separated form cannot hold; print with -json", t.Line, t.Database))
		}
	}
	return errors.Join(errs...)
}

func writeTSV(w io.Writer, targets []pgpass.Entry, header, showPasswords bool) error {
	if header {
		h := "host\tport\tdatabase\tuser\tprefix"
		if showPasswords {
			h += "\tpassword"
		}
		if _, err := fmt.Fprintln(w, h); err != nil {
			return err
		}
	}
	for _, t := range targets {
		line := strings.Join([]string{t.Host, t.Port, t.Database, t.User, t.Prefix}, "\t")
		if showPasswords {
			line += "\t" + t.Password
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

type target struct {
	Line       int     `json:"line"`
	Host       string  `json:"host"`
	Port       string  `json:"port"`
	Database   string  `json:"database"`
	User       string  `json:"user"`
	Prefix     string  `json:"prefix"`
	ListPrefix string  `json:"list_prefix,omitempty"` // the '*' line's, for a database it found
	Password   *string `json:"password,omitempty"`
}

func writeJSON(w io.Writer, targets []pgpass.Entry, showPasswords bool) error {
	out := make([]target, 0, len(targets))
	for _, t := range targets {
		o := target{Line: t.Line, Host: t.Host, Port: t.Port, Database: t.Database, User: t.User, Prefix: t.Prefix, ListPrefix: t.ListPrefix}
		if showPasswords {
			o.Password = &t.Password
		}
		out = append(out, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

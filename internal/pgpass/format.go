package pgpass

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Format writes entries as a libpq password file: one line per entry with
// its host, port, database, user and password, ':' and '\' escaped. The
// prefix and the ignore mark are left out. A host, port, database or user
// equal to Wildcard is written as libpq's wildcard.
//
// Format fails, writing nothing, if a field holds a line break or a NUL byte,
// or a password holds a carriage return: libpq could not read them back.
func Format(w io.Writer, entries []Entry) error {
	b, err := appendEntries(nil, entries, false)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// WriteFile writes entries to a new file at path in the format of Format,
// with mode 0600 as libpq requires. It never replaces an existing file: the
// error then wraps fs.ErrExist. On failure no file is left behind.
func WriteFile(path string, entries []Entry) (err error) {
	b, err := appendEntries(nil, entries, false)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// appendEntries formats entries one per line; full adds the prefix and the
// ignore mark, giving a list that Parse reads back.
func appendEntries(b []byte, entries []Entry, full bool) ([]byte, error) {
	var errs []error
	for i, e := range entries {
		if err := checkFormattable(e, full); err != nil {
			errs = append(errs, fmt.Errorf("entry %d (line %d): %w", i+1, e.Line, err))
			continue
		}
		b = appendField(b, e.Host, true, true)
		for _, f := range []string{e.Port, e.Database, e.User} {
			b = append(b, ':')
			b = appendField(b, f, true, false)
		}
		b = append(b, ':')
		b = appendField(b, e.Password, false, false)
		if full {
			b = append(b, ':')
			b = appendField(b, e.Prefix, false, false)
			if e.Ignore {
				b = append(b, ":ignore"...)
			}
		}
		b = append(b, '\n')
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

func checkFormattable(e Entry, full bool) error {
	for i, f := range []string{e.Host, e.Port, e.Database, e.User} {
		if strings.ContainsAny(f, "\r\n\x00") {
			return fmt.Errorf("line break or NUL byte in the %s", fieldNames[i])
		}
	}
	if strings.ContainsAny(e.Password, "\r\n\x00") {
		return errors.New("line break or NUL byte in the password")
	}
	if full && strings.ContainsAny(e.Prefix, "\r\n\x00") {
		return errors.New("line break or NUL byte in the prefix")
	}
	return nil
}

// appendField appends s escaped for libpq. A field that may be a wildcard
// keeps a bare '*'. A first field starting with '#' is escaped so that the
// line is not a comment, and one starting with a byte order mark so that
// Parse does not drop it from the first line.
func appendField(b []byte, s string, wildcard, first bool) []byte {
	if wildcard && s == anyValue {
		return append(b, '*')
	}
	if first && (strings.HasPrefix(s, "#") || strings.HasPrefix(s, "\xef\xbb\xbf")) {
		b = append(b, '\\')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}

// ConnValue quotes s as the value of a libpq connection string's keyword
// (keyword='value'): the value is s whatever it holds.
func ConnValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

package backup

import (
	"strings"
	"time"
)

// timeLayout is the time in a key: when the backup started, in UTC.
const timeLayout = "20060102150405"

// objectName is the name of a backup of prefix started at t, without the
// folder: <prefix>-<UTC YYYYmmddHHMMSS><format><compression><encryption>.
func objectName(prefix string, t time.Time, f format, c compression, e encryption) string {
	return prefix + "-" + t.UTC().Format(timeLayout) + f.ext + c.ext + e.ext
}

// ObjectKey is where a backup of prefix started at t is stored:
// [folder]<prefix>-<UTC YYYYmmddHHMMSS><endings>.
func (s *Settings) ObjectKey(prefix string, t time.Time) string {
	f, _ := formatNamed(s.Format)
	c, _ := compressionNamed(s.Compression)
	return s.KeyPrefix + objectName(prefix, t, f, c, encryptions[0])
}

// ParseKey reads a backup's object name (the key without the folder); ok
// is false for names that are not backups. The name is read from its end,
// ending by ending, with the tables of codec.go: the prefix is whatever
// stands before the time, dashes and dots included.
func ParseKey(name string) (b Backup, ok bool) {
	rest := name
	e, ok := cutEnding(&rest, encryptions, func(e encryption) string { return e.ext })
	if !ok {
		return b, false
	}
	c, ok := cutEnding(&rest, compressions, func(c compression) string { return c.ext })
	if !ok {
		return b, false
	}
	f, ok := cutEnding(&rest, formats, func(f format) string { return f.ext })
	if !ok {
		return b, false
	}
	const stamp = len("-") + len(timeLayout)
	if len(rest) <= stamp || rest[len(rest)-stamp] != '-' {
		return b, false
	}
	ts := rest[len(rest)-len(timeLayout):]
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return b, false
		}
	}
	t, err := time.Parse(timeLayout, ts)
	if err != nil {
		return b, false
	}
	return Backup{Prefix: rest[:len(rest)-stamp], Time: t, Compression: c.name, Format: f.name, Encryption: e.name}, true
}

// cutEnding cuts from the end of *rest the longest ending of table's
// entries that it has, and returns that entry. An entry whose ending is ""
// (the plain format) matches when no other does.
func cutEnding[T any](rest *string, table []T, ext func(T) string) (T, bool) {
	best := -1
	for i, e := range table {
		if strings.HasSuffix(*rest, ext(e)) && (best < 0 || len(ext(e)) > len(ext(table[best]))) {
			best = i
		}
	}
	if best < 0 {
		var zero T
		return zero, false
	}
	*rest = strings.TrimSuffix(*rest, ext(table[best]))
	return table[best], true
}

package backup

import (
	"strings"
	"time"
)

// timeLayout is the time in a key: when the backup started, in UTC.
const timeLayout = "20060102150405"

// objectName is the name of an object of the backup of prefix started at
// t, without the folder: <prefix>-<UTC YYYYmmddHHMMSS> and its endings (the
// format's or a companion's, the compression's, the encryption's).
func objectName(prefix string, t time.Time, endings ...string) string {
	return prefix + "-" + t.UTC().Format(timeLayout) + strings.Join(endings, "")
}

// ObjectKey is where the dump of the backup of prefix started at t is
// stored: [folder]<prefix>-<UTC YYYYmmddHHMMSS><endings>.
func (s *Settings) ObjectKey(prefix string, t time.Time) string {
	f, _ := formatNamed(s.Format)
	return s.KeyPrefix + objectName(prefix, t, f.ext, s.compression().ext, s.encryption().ext)
}

// CompanionKey is where the companion named name (codec.go) of the backup
// of prefix started at t is stored: as its dump, with the companion's
// ending in the format's place.
func (s *Settings) CompanionKey(prefix string, t time.Time, name string) string {
	k, ok := companionNamed(name)
	if !ok {
		panic("backup: no companion " + name)
	}
	return s.KeyPrefix + objectName(prefix, t, k.ext, s.compression().ext, s.encryption().ext)
}

func (s *Settings) compression() compression {
	c, _ := compressionNamed(s.Compression)
	return c
}

// encryption is the settings' encryption; the first of the table (the
// original image's) when none is set.
func (s *Settings) encryption() encryption {
	if e, ok := encryptionNamed(s.Encryption); ok {
		return e
	}
	return encryptions[0]
}

// ParseKey reads the name of a backup's object (the key without the
// folder): its dump, or a companion when b.Companion is set; ok is false
// for names that are neither. The name is read from its end, ending by
// ending, with the tables of codec.go: the prefix is whatever stands
// before the time, dashes and dots included.
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
	f, _ := formatNamed("plain") // a companion's
	k, isCompanion := cutEnding(&rest, companions, func(k companion) string { return k.ext })
	if !isCompanion {
		if f, ok = cutEnding(&rest, formats, func(f format) string { return f.ext }); !ok {
			return b, false
		}
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
	return Backup{Prefix: rest[:len(rest)-stamp], Time: t, Compression: c.name, Format: f.name, Encryption: e.name, Companion: k.name}, true
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

package catalog

import (
	"fmt"
	"strings"
	"time"
)

// TimeLayout is the time in a key: when the backup started, in UTC.
const TimeLayout = "20060102150405"

// ObjectName is the name of an object of the backup of prefix started at
// t, without the folder: <prefix>-<UTC YYYYmmddHHMMSS> and its endings (the
// format's or a companion's, the compression's, the encryption's).
func ObjectName(prefix string, t time.Time, endings ...string) string {
	return prefix + "-" + t.UTC().Format(TimeLayout) + strings.Join(endings, "")
}

// DumpKey is where the dump of the backup of prefix started at t is
// stored, in the format, compression and encryption named (the tables of
// codec.go): [folder]<prefix>-<UTC YYYYmmddHHMMSS><endings>. It panics on
// a name that is not in its table: the names are checked settings.
func DumpKey(folder, prefix string, t time.Time, format, compression, encryption string) string {
	return folder + ObjectName(prefix, t, must(FormatNamed(format)).Ext, must(CompressionNamed(compression)).Ext, must(EncryptionNamed(encryption)).Ext)
}

// CompanionKey is where the companion named companion of that backup is
// stored: as its dump, with the companion's ending in the format's place.
func CompanionKey(folder, prefix string, t time.Time, companion, compression, encryption string) string {
	return folder + ObjectName(prefix, t, must(CompanionNamed(companion)).Ext, must(CompressionNamed(compression)).Ext, must(EncryptionNamed(encryption)).Ext)
}

func must[T any](e T, ok bool) T {
	if !ok {
		panic(fmt.Sprintf("catalog: no %T of that name", e))
	}
	return e
}

// ParseKey reads the name of a backup's object (the key without the
// folder): its dump, or a companion when b.Companion is set; ok is false
// for names that are neither. The name is read from its end, ending by
// ending, with the tables of codec.go: the prefix is whatever stands
// before the time, dashes and dots included.
func ParseKey(name string) (b Backup, ok bool) {
	rest := name
	e, ok := cutEnding(&rest, Encryptions, func(e Encryption) string { return e.Ext })
	if !ok {
		return b, false
	}
	c, ok := cutEnding(&rest, Compressions, func(c Compression) string { return c.Ext })
	if !ok {
		return b, false
	}
	f, _ := FormatNamed("plain") // a companion's
	k, isCompanion := cutEnding(&rest, Companions, func(k Companion) string { return k.Ext })
	if !isCompanion {
		if f, ok = cutEnding(&rest, Formats, func(f Format) string { return f.Ext }); !ok {
			return b, false
		}
	}
	const stamp = len("-") + len(TimeLayout)
	if len(rest) <= stamp || rest[len(rest)-stamp] != '-' {
		return b, false
	}
	ts := rest[len(rest)-len(TimeLayout):]
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return b, false
		}
	}
	t, err := time.Parse(TimeLayout, ts)
	if err != nil {
		return b, false
	}
	return Backup{Prefix: rest[:len(rest)-stamp], Time: t, Compression: c.Name, Format: f.Name, Encryption: e.Name, Companion: k.Name}, true
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

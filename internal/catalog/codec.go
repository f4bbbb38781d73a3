package catalog

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// The endings of a backup's object key, one table for each part; every
// piece of the job that writes, reads, names or restores a backup looks
// them up here (keys.go puts them together):
//
//	[folder]<prefix>-<UTC YYYYmmddHHMMSS><format|companion><compression><encryption>
//
// e.g. db1-20261127060000.dump.zst.aes, or db1-20261127060000.globals.gz.aes
// for an object stored beside that backup's dump.

// A compression is one of COMPRESSION's values.
type Compression struct {
	Name         string // the setting's value, the manifest's "compression"
	Ext          string
	DefaultLevel int
	MaxLevel     int    // levels are 1 to maxLevel
	Unpack       string // the stock command that decompresses a stream
	// newWriter returns a writer whose Close flushes the compressed
	// stream into w without closing w.
	NewWriter func(w io.Writer, level int) (io.WriteCloser, error)
	// newReader returns the decompressed stream of r and what releases it.
	NewReader func(r io.Reader) (io.Reader, func(), error)
}

// A format is one of DUMP_FORMAT's values: pg_dump's output format.
type Format struct {
	Name    string // the setting's value, the manifest's "format"
	Ext     string
	Restore string // the stock command that restores a dump into NEWDB
}

// An encryption is how the stream is encrypted.
type Encryption struct {
	Name string // the manifest's "encryption"
	Ext  string
}

// A companion is an object that belongs to a backup but is not its dump:
// it is named as the dump with its own ending in the format's place, is
// always plain SQL, and has a manifest of its own.
type Companion struct {
	Name    string // what list shows, the manifest's "companion"
	Ext     string
	Restore string // the stock command that restores it
	// Alone: newer than every dump of its prefix (under a '*' line's,
	// which has none), such an object is a backup of its own rather than
	// a leftover (see Leftover).
	Alone bool
}

// Default compression levels, chosen from scripts/bench-job.sh -levels on
// pgbench data plus text: klauspost's gzip level 3 stores less than GNU
// gzip -6 (17.9% against 19.2% of the dump) at about 4 times its speed on
// one core; levels 1 and 2 are faster still but store 40% more; 4 to 8
// are slower and store no less.
const (
	DefaultGzipLevel = 3
	DefaultZstdLevel = 2 // zstd.SpeedDefault, zstd's level 3
)

// gzipBlock is the size of the blocks compressed in parallel; with
// 2 × GOMAXPROCS of them in flight the compressor holds a few MiB.
const gzipBlock = 1 << 20

var zstdLevels = []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression}

var Compressions = []Compression{
	{
		Name: "gzip", Ext: ".gz", DefaultLevel: DefaultGzipLevel, MaxLevel: 9, Unpack: "gzip -d",
		NewWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			// pgzip compresses blocks on every core and writes one gzip
			// member that any gzip -d reads.
			zw, err := pgzip.NewWriterLevel(w, level)
			if err != nil {
				return nil, err
			}
			if err := zw.SetConcurrency(gzipBlock, 2*runtime.GOMAXPROCS(0)); err != nil {
				return nil, err
			}
			return zw, nil
		},
		NewReader: func(r io.Reader) (io.Reader, func(), error) {
			gr, err := gzip.NewReader(r)
			if err != nil {
				return nil, nil, err
			}
			return gr, func() { gr.Close() }, nil
		},
	},
	{
		Name: "zstd", Ext: ".zst", DefaultLevel: DefaultZstdLevel, MaxLevel: len(zstdLevels), Unpack: "zstd -d",
		NewWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			if level < 1 || level > len(zstdLevels) {
				return nil, fmt.Errorf("zstd level %d: use 1 to %d", level, len(zstdLevels))
			}
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstdLevels[level-1]))
		},
		NewReader: func(r io.Reader) (io.Reader, func(), error) {
			zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, nil, err
			}
			return zr, zr.Close, nil
		},
	},
}

var Formats = []Format{
	{Name: "plain", Ext: "", Restore: "psql -d NEWDB"},
	{Name: "custom", Ext: ".dump", Restore: "pg_restore --no-owner -d NEWDB"},
}

var Encryptions = []Encryption{
	{Name: "openssl", Ext: ".aes"},
	{Name: "age", Ext: ".age"},
}

var Companions = []Companion{
	// pg_dumpall --globals-only: the roles and tablespaces of the server.
	// A '*' line stores them once under its own prefix, where no dump
	// ever is (the list reserves that prefix and its range).
	{Name: "globals", Ext: ".globals", Restore: "psql -d postgres", Alone: true},
}

// lookup finds the entry of table whose key is k.
func lookup[T any](table []T, key func(T) string, k string) (T, bool) {
	for _, e := range table {
		if key(e) == k {
			return e, true
		}
	}
	var zero T
	return zero, false
}

func CompressionNamed(name string) (Compression, bool) {
	return lookup(Compressions, func(c Compression) string { return c.Name }, name)
}

func FormatNamed(name string) (Format, bool) {
	return lookup(Formats, func(f Format) string { return f.Name }, name)
}

func EncryptionNamed(name string) (Encryption, bool) {
	return lookup(Encryptions, func(e Encryption) string { return e.Name }, name)
}

func CompanionNamed(name string) (Companion, bool) {
	return lookup(Companions, func(c Companion) string { return c.Name }, name)
}

// names lists the names of table's entries, for messages: "gzip or zstd".
func Names[T any](table []T, name func(T) string) string {
	var ns []string
	for _, e := range table {
		ns = append(ns, name(e))
	}
	if len(ns) < 2 {
		return strings.Join(ns, "")
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " or " + ns[len(ns)-1]
}

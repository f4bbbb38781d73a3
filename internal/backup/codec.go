package backup

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
type compression struct {
	name         string // the setting's value, the manifest's "compression"
	ext          string
	defaultLevel int
	maxLevel     int    // levels are 1 to maxLevel
	unpack       string // the stock command that decompresses a stream
	// newWriter returns a writer whose Close flushes the compressed
	// stream into w without closing w.
	newWriter func(w io.Writer, level int) (io.WriteCloser, error)
	// newReader returns the decompressed stream of r and what releases it.
	newReader func(r io.Reader) (io.Reader, func(), error)
}

// A format is one of DUMP_FORMAT's values: pg_dump's output format.
type format struct {
	name    string // the setting's value, the manifest's "format"
	ext     string
	restore string // the stock command that restores a dump into NEWDB
}

// An encryption is how the stream is encrypted.
type encryption struct {
	name string // the manifest's "encryption"
	ext  string
}

// A companion is an object that belongs to a backup but is not its dump:
// it is named as the dump with its own ending in the format's place, is
// always plain SQL, and has a manifest of its own.
type companion struct {
	name    string // what list shows, the manifest's "companion"
	ext     string
	restore string // the stock command that restores it
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

var compressions = []compression{
	{
		name: "gzip", ext: ".gz", defaultLevel: DefaultGzipLevel, maxLevel: 9, unpack: "gzip -d",
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
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
		newReader: func(r io.Reader) (io.Reader, func(), error) {
			gr, err := gzip.NewReader(r)
			if err != nil {
				return nil, nil, err
			}
			return gr, func() { gr.Close() }, nil
		},
	},
	{
		name: "zstd", ext: ".zst", defaultLevel: DefaultZstdLevel, maxLevel: len(zstdLevels), unpack: "zstd -d",
		newWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			if level < 1 || level > len(zstdLevels) {
				return nil, fmt.Errorf("zstd level %d: use 1 to %d", level, len(zstdLevels))
			}
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstdLevels[level-1]))
		},
		newReader: func(r io.Reader) (io.Reader, func(), error) {
			zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, nil, err
			}
			return zr, zr.Close, nil
		},
	},
}

var formats = []format{
	{name: "plain", ext: "", restore: "psql -d NEWDB"},
	{name: "custom", ext: ".dump", restore: "pg_restore --no-owner -d NEWDB"},
}

var encryptions = []encryption{
	{name: "openssl", ext: ".aes"},
	{name: "age", ext: ".age"},
}

var companions = []companion{
	// pg_dumpall --globals-only: the roles and tablespaces of the server.
	{name: "globals", ext: ".globals", restore: "psql -d postgres"},
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

func compressionNamed(name string) (compression, bool) {
	return lookup(compressions, func(c compression) string { return c.name }, name)
}

func formatNamed(name string) (format, bool) {
	return lookup(formats, func(f format) string { return f.name }, name)
}

func encryptionNamed(name string) (encryption, bool) {
	return lookup(encryptions, func(e encryption) string { return e.name }, name)
}

func companionNamed(name string) (companion, bool) {
	return lookup(companions, func(c companion) string { return c.name }, name)
}

// names lists the names of table's entries, for messages: "gzip or zstd".
func names[T any](table []T, name func(T) string) string {
	var ns []string
	for _, e := range table {
		ns = append(ns, name(e))
	}
	if len(ns) < 2 {
		return strings.Join(ns, "")
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " or " + ns[len(ns)-1]
}

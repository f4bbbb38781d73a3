package backup

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

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

// newCompressor returns a writer whose Close flushes the compressed stream
// into w without closing w.
func newCompressor(w io.Writer, kind string, level int) (io.WriteCloser, error) {
	switch kind {
	case "gzip":
		// pgzip compresses blocks on every core and writes one gzip member
		// that any gzip -d reads.
		zw, err := pgzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, err
		}
		if err := zw.SetConcurrency(gzipBlock, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
		return zw, nil
	case "zstd":
		levels := []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression}
		if level < 1 || level > len(levels) {
			return nil, fmt.Errorf("zstd level %d: use 1 to %d", level, len(levels))
		}
		return zstd.NewWriter(w, zstd.WithEncoderLevel(levels[level-1]))
	}
	return nil, fmt.Errorf("unknown compression %q", kind)
}

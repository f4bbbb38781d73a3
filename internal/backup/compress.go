package backup

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Default compression levels.
const (
	DefaultGzipLevel = 6 // the level of GNU gzip and of the original image
	DefaultZstdLevel = 2 // zstd.SpeedDefault, zstd's level 3
)

// newCompressor returns a writer whose Close flushes the compressed stream
// into w without closing w.
func newCompressor(w io.Writer, kind string, level int) (io.WriteCloser, error) {
	switch kind {
	case "gzip":
		return gzip.NewWriterLevel(w, level)
	case "zstd":
		levels := []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression}
		if level < 1 || level > len(levels) {
			return nil, fmt.Errorf("zstd level %d: use 1 to %d", level, len(levels))
		}
		return zstd.NewWriter(w, zstd.WithEncoderLevel(levels[level-1]))
	}
	return nil, fmt.Errorf("unknown compression %q", kind)
}

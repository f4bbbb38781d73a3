package s3stream

// S3's multipart limits.
const (
	MinPartSize   = 5 << 20 // every part but the last
	MaxPartSize   = 5 << 30 // any part
	MaxParts      = 10000   // parts in one upload
	MaxObjectSize = 5 << 40 // one object
	chunkSize     = 1 << 20 // unit in which part buffers are allocated and reused
)

// Defaults of WriterOptions and ReaderOptions.
const (
	// DefaultConcurrency is how many parts are uploaded (or ranges
	// downloaded) at the same time: enough to keep a link to S3 busy from a
	// two-core runner without crowding out the producer of the stream.
	DefaultConcurrency = 4
	// DefaultMaxMemory caps the bytes held in part buffers. It is what a
	// 5 TiB stream needs under the growing part-size schedule; smaller
	// streams never reach it (see the package documentation).
	DefaultMaxMemory = 1280 << 20
	// DefaultRangeSize is the size of one ranged GET of a Reader.
	DefaultRangeSize = 8 << 20

	// firstPartSize is the size of the first partsPerStep parts; the size
	// doubles every partsPerStep parts after that.
	firstPartSize = 8 << 20
	partsPerStep  = 256
)

// partLimit is the largest part the memory cap allows: one part uploading
// while the next one fills.
func partLimit(maxMemory int64) int64 {
	l := min(maxMemory/2, MaxPartSize)
	return max(l/chunkSize*chunkSize, MinPartSize)
}

// partSize returns the size of part n (counted from 1) in the growing
// schedule for uploads of at most maxParts parts: with S3's 10,000, 8 MiB
// for parts 1–256, 16 MiB for 257–512, doubling every 256 parts; with
// fewer, doubling as much sooner (every 25 parts of 1,000); never above
// what maxMemory allows.
func partSize(n int, maxMemory int64, maxParts int) int64 {
	step := min((n-1)/stepParts(maxParts), 20)
	return min(int64(firstPartSize)<<step, partLimit(maxMemory))
}

// stepParts is how many parts of one size the schedule for maxParts has.
func stepParts(maxParts int) int { return max(1, partsPerStep*maxParts/MaxParts) }

// parallelParts is how many parts of the given size may be uploading at
// once: the concurrency asked for, lowered so that those parts plus the one
// being filled fit in maxMemory, but at least one.
func parallelParts(size, maxMemory int64, concurrency int) int {
	return max(1, min(concurrency, int(maxMemory/size)-1))
}

// memoryLimit is the cap on bytes in part buffers while parts of the given
// size are being filled: (parallel parts + 1) × size, which never exceeds
// maxMemory and never shrinks as parts grow.
func memoryLimit(size, maxMemory int64, concurrency int) int64 {
	return int64(parallelParts(size, maxMemory, concurrency)+1) * size
}

// maxStreamSize is the largest stream that fits into maxParts parts under
// the schedule for maxMemory.
func maxStreamSize(maxMemory int64, maxParts int) int64 {
	var total int64
	for n := 1; n <= maxParts; n++ {
		total += partSize(n, maxMemory, maxParts)
	}
	return min(total, MaxObjectSize)
}

// MaxStreamSize is the largest stream a Writer with these options takes.
func (o WriterOptions) MaxStreamSize() int64 {
	o = o.withDefaults()
	return maxStreamSize(o.MaxMemory, o.MaxParts)
}

package s3stream

import (
	"fmt"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

func TestRoundTrip(t *testing.T) {
	c := newClient(t)
	const part = firstPartSize
	for _, n := range []int64{0, 1, part - 1, part, part + 1, 3*part + 12345} {
		for _, step := range []int{0, 1 << 20, 100003} {
			t.Run(fmt.Sprintf("%d/%d", n, step), func(t *testing.T) {
				key := uniqueKey(t)
				want, _ := sum(t, stream(uint64(n), n))
				res, err := upload(t, c, key, uint64(n), n, step, WriterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.SHA256 != want || res.Size != n {
					t.Errorf("result %d bytes sha256 %s, want %d bytes %s", res.Size, res.SHA256, n, want)
				}
				if limit := memoryLimit(part, DefaultMaxMemory, DefaultConcurrency); res.PeakBuffers > limit {
					t.Errorf("part buffers held %s, cap %s", units.FormatSize(res.PeakBuffers), units.FormatSize(limit))
				}
				wantParts := int(max(1, (n+part-1)/part))
				if res.Parts != wantParts {
					t.Errorf("%d parts, want %d", res.Parts, wantParts)
				}
				got, size, err := download(t, c, key, ReaderOptions{RangeSize: 3 << 20})
				if err != nil {
					t.Fatal(err)
				}
				if got != want || size != n {
					t.Errorf("read back %d bytes sha256 %s, want %d bytes %s", size, got, n, want)
				}
			})
		}
	}
}

// TestMemoryCap uploads with a cap that leaves room for one part uploading
// while the next fills.
func TestMemoryCap(t *testing.T) {
	c := newClient(t)
	const maxMemory = 2 * MinPartSize
	res, err := upload(t, c, uniqueKey(t), 15, 6*MinPartSize+1, 0, WriterOptions{MaxMemory: maxMemory, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.PeakBuffers > maxMemory || res.PartSize != MinPartSize || res.Parts != 7 {
		t.Errorf("%d parts of %s, buffers %s; want 7 of %s within %s", res.Parts, units.FormatSize(res.PartSize),
			units.FormatSize(res.PeakBuffers), units.FormatSize(MinPartSize), units.FormatSize(maxMemory))
	}
}

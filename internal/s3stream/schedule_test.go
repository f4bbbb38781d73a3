package s3stream

import (
	"fmt"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// TestSchedule follows the part-size schedule over a 5 TiB stream, part by
// part, for the default and other memory caps.
func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		maxMemory   int64
		concurrency int
		wantMax     int64 // the largest stream that must fit
	}{
		{DefaultMaxMemory, DefaultConcurrency, MaxObjectSize},
		{DefaultMaxMemory, 16, MaxObjectSize},
		{DefaultMaxMemory, 1, MaxObjectSize},
		{2 << 30, DefaultConcurrency, MaxObjectSize},
		{256 << 20, DefaultConcurrency, 1 << 40},
		{64 << 20, 2, 250 << 30},
		{2 * MinPartSize, 1, 48 << 30},
	} {
		t.Run(fmt.Sprintf("%s/%d", units.FormatSize(tc.maxMemory), tc.concurrency), func(t *testing.T) {
			var total, prev int64
			reached := 0
			for n := 1; n <= MaxParts; n++ {
				s := partSize(n, tc.maxMemory)
				if s < MinPartSize || s > MaxPartSize || s%chunkSize != 0 {
					t.Fatalf("part %d: size %d outside S3's limits or not a multiple of the chunk", n, s)
				}
				if s < prev {
					t.Fatalf("part %d: size %d shrinks from %d", n, s, prev)
				}
				prev = s
				par := parallelParts(s, tc.maxMemory, tc.concurrency)
				if par < 1 || par > tc.concurrency {
					t.Fatalf("part %d: %d parallel parts, asked for %d", n, par, tc.concurrency)
				}
				// Parts uploading plus the one filling stay within the cap.
				if mem := int64(par+1) * s; mem > tc.maxMemory || mem != memoryLimit(s, tc.maxMemory, tc.concurrency) {
					t.Fatalf("part %d: %d × %s = %s of buffers, cap %s", n, par+1, units.FormatSize(s), units.FormatSize(mem), units.FormatSize(tc.maxMemory))
				}
				total += s
				if reached == 0 && total >= tc.wantMax {
					reached = n
				}
			}
			if reached == 0 {
				t.Fatalf("10,000 parts hold %s, want %s", units.FormatSize(total), units.FormatSize(tc.wantMax))
			}
			if got := maxStreamSize(tc.maxMemory); got < tc.wantMax {
				t.Errorf("maxStreamSize = %s, want ≥ %s", units.FormatSize(got), units.FormatSize(tc.wantMax))
			}
			t.Logf("%s reached at part %d; largest part %s", units.FormatSize(tc.wantMax), reached, units.FormatSize(prev))
		})
	}
}

// TestScheduleSmallStreams pins the memory of everyday streams with the
// defaults: the figures the package comment and docs/design.md give.
func TestScheduleSmallStreams(t *testing.T) {
	for _, tc := range []struct {
		stream, buffers int64
	}{
		{2 << 30, 40 << 20},
		{6 << 30, 80 << 20},
		{30 << 30, 320 << 20},
		{126 << 30, 1280 << 20},
	} {
		var total, peak int64
		for n := 1; total < tc.stream; n++ {
			s := partSize(n, DefaultMaxMemory)
			total += s
			peak = max(peak, memoryLimit(s, DefaultMaxMemory, DefaultConcurrency))
		}
		if peak != tc.buffers {
			t.Errorf("a %s stream needs %s of buffers, want %s", units.FormatSize(tc.stream), units.FormatSize(peak), units.FormatSize(tc.buffers))
		}
	}
}

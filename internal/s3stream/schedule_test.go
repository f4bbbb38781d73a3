package s3stream

import (
	"fmt"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// TestSchedule follows the part-size schedule over a 5 TiB stream, part by
// part, for the default and other memory caps.
func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		maxMemory   int64
		concurrency int
		maxParts    int
		wantMax     int64 // the largest stream that must fit
	}{
		{DefaultMaxMemory, DefaultConcurrency, MaxParts, MaxObjectSize},
		{DefaultMaxMemory, 16, MaxParts, MaxObjectSize},
		{DefaultMaxMemory, 1, MaxParts, MaxObjectSize},
		{2 << 30, DefaultConcurrency, MaxParts, MaxObjectSize},
		{256 << 20, DefaultConcurrency, MaxParts, 1 << 40},
		{64 << 20, 2, MaxParts, 250 << 30},
		{2 * MinPartSize, 1, MaxParts, 48 << 30},
		// Stores that take 1,000 parts.
		{DefaultMaxMemory, DefaultConcurrency, 1000, 500 << 30},
		{256 << 20, DefaultConcurrency, 1000, 100 << 30},
		{2 * MinPartSize, 1, 1000, 4 << 30},
		{DefaultMaxMemory, DefaultConcurrency, 1, 8 << 20},
	} {
		t.Run(fmt.Sprintf("%s/%d/%d", units.FormatSize(tc.maxMemory), tc.concurrency, tc.maxParts), func(t *testing.T) {
			var total, prev int64
			reached := 0
			for n := 1; n <= tc.maxParts; n++ {
				s := partSize(n, tc.maxMemory, tc.maxParts)
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
				t.Fatalf("%d parts hold %s, want %s", tc.maxParts, units.FormatSize(total), units.FormatSize(tc.wantMax))
			}
			if got := maxStreamSize(tc.maxMemory, tc.maxParts); got < tc.wantMax {
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
			s := partSize(n, DefaultMaxMemory, MaxParts)
			total += s
			peak = max(peak, memoryLimit(s, DefaultMaxMemory, DefaultConcurrency))
		}
		if peak != tc.buffers {
			t.Errorf("a %s stream needs %s of buffers, want %s", units.FormatSize(tc.stream), units.FormatSize(peak), units.FormatSize(tc.buffers))
		}
	}
}

// TestMaxParts: with a store's lower part limit, a stream that fits goes
// up in that many parts, and one that does not fails with the limit in
// its message and leaves nothing.
func TestMaxParts(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	opts := WriterOptions{MaxParts: 2, MaxMemory: 2 * MinPartSize}
	if got := opts.MaxStreamSize(); got != 2*MinPartSize {
		t.Fatalf("MaxStreamSize = %d, want two parts of %d", got, MinPartSize)
	}
	key := uniqueKey(t)
	w := NewWriter(t.Context(), c, bucket, key, opts)
	if _, err := w.ReadFrom(stream(7, 2*MinPartSize-1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r := w.Result(); r.Parts != 2 || r.Size != 2*MinPartSize-1 {
		t.Errorf("uploaded in %d parts, %d bytes", r.Parts, r.Size)
	}
	key = uniqueKey(t) + "-over"
	w = NewWriter(t.Context(), c, bucket, key, opts)
	_, err := w.ReadFrom(stream(7, 2*MinPartSize+1))
	if err == nil {
		err = w.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "the stream is larger than 10.0 MiB, the most 2 parts hold") {
		t.Errorf("a stream over the limit: %v", err)
	}
	w.Abort(err)
	assertNothingLeft(t, key)
	if err := (&WriterOptions{MaxParts: MaxParts + 1}).Validate(); err == nil {
		t.Error("MaxParts over S3's limit is valid")
	}
}

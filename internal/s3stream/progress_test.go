package s3stream

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

// progressLog records progress reports.
type progressLog struct {
	mu      sync.Mutex
	reports []Progress
	done    chan struct{} // closed by the report with Done set
}

func newProgressLog() *progressLog { return &progressLog{done: make(chan struct{})} }

func (l *progressLog) report(p Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reports) > 0 && l.reports[len(l.reports)-1].Done {
		panic("a progress report after the last one")
	}
	l.reports = append(l.reports, p)
	if p.Done {
		close(l.done)
	}
}

// last returns the last report, which must be the only one with Done set.
func (l *progressLog) last(t *testing.T) Progress {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range l.reports {
		if p.Done != (i == len(l.reports)-1) {
			t.Fatalf("report %d of %d has Done %v", i+1, len(l.reports), p.Done)
		}
	}
	if len(l.reports) == 0 {
		t.Fatal("no progress reports")
	}
	return l.reports[len(l.reports)-1]
}

// TestProgress checks the last progress report of an upload and of a
// download, made before Close returns, and the Writer's Stored.
func TestProgress(t *testing.T) {
	c := newClient(t)
	for _, n := range []int64{0, 10, 2*firstPartSize + 1} {
		key := uniqueKey(t)
		up := newProgressLog()
		w := NewWriter(t.Context(), c, bucket, key, WriterOptions{Progress: up.report})
		if _, err := w.ReadFrom(stream(3, n)); err != nil {
			t.Fatal(err)
		}
		if s := w.Stored(); s != n {
			t.Errorf("%d bytes: Stored %d before Close", n, s)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		res := w.Result()
		p := up.last(t)
		if p.Bytes != n || p.Transferred != n || p.Parts != res.Parts || p.Total != -1 || p.PartSize != firstPartSize {
			t.Errorf("%d bytes: last upload report %+v, result %+v", n, p, res)
		}
		if s := w.Stored(); s != n {
			t.Errorf("%d bytes: Stored %d after Close", n, s)
		}

		down := newProgressLog()
		r, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{Progress: down.report, RangeSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}
		p = down.last(t)
		if p.Bytes != n || p.Transferred != n || p.Total != n || p.Parts != int((n+1<<20-1)/(1<<20)) || p.PartSize != 1<<20 {
			t.Errorf("%d bytes: last download report %+v", n, p)
		}
		r.Close()
	}
}

// TestProgressFailed makes the last report of a failed upload even when
// the caller never calls Close or Abort.
func TestProgressFailed(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	up := newProgressLog()
	w := NewWriter(ctx, newClient(t), bucket, uniqueKey(t), WriterOptions{Progress: up.report})
	if _, err := w.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	cancel(errors.New("producer failed"))
	<-up.done
	if p := up.last(t); p.Bytes != 100 || p.Transferred != 0 {
		t.Errorf("last report %+v", p)
	}
}

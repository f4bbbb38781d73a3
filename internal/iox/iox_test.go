package iox

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"testing/synctest"
)

func TestCopyAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 15, 16, 17, 4095, 4096, 4097, 1<<20 + 7} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		for _, chunk := range []int{1, 16, 4096} {
			for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
				var out bytes.Buffer
				n, err := CopyAhead(&out, r, chunk, 3, nil)
				if err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), data) {
					t.Fatalf("size %d chunk %d: n=%d err=%v equal=%v", size, chunk, n, err, bytes.Equal(out.Bytes(), data))
				}
			}
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestCopyAheadErrors(t *testing.T) {
	boom := errors.New("boom")
	data := bytes.Repeat([]byte("x"), 100)
	if _, err := CopyAhead(io.Discard, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), 16, 2, nil); !errors.Is(err, boom) {
		t.Errorf("read error: got %v", err)
	}
	n, err := CopyAhead(&failWriter{after: 2}, bytes.NewReader(data), 16, 2, nil)
	if err == nil || n != 32 {
		t.Errorf("write error: n=%d err=%v, want 32 and an error", n, err)
	}
}

// watchedReader counts the Reads in progress and any that start after
// CopyAhead returned.
type watchedReader struct {
	r      io.Reader
	active atomic.Int32
	late   atomic.Int32
	over   atomic.Bool
}

func (w *watchedReader) Read(p []byte) (int, error) {
	if w.over.Load() {
		w.late.Add(1)
	}
	w.active.Add(1)
	defer w.active.Add(-1)
	return w.r.Read(p)
}

// TestCopyAheadStop: a write that fails while the producer keeps writing
// stops the producer, and CopyAhead returns only when no Read runs any
// more, as os/exec needs before Cmd.Wait closes the pipe. In a synctest
// bubble, synctest.Wait lets a reading goroutine that outlived CopyAhead
// run until it blocks for good or ends, so a Read it would start after
// CopyAhead returned is counted, however slow the machine.
func TestCopyAheadStop(t *testing.T) {
	for range 50 {
		synctest.Test(t, func(t *testing.T) {
			// An io.Pipe stands for the command's pipe: synctest sees a
			// Read blocked on it, not one blocked in the kernel.
			pr, pw := io.Pipe()
			go func() {
				chunk := bytes.Repeat([]byte("y"), 4096)
				for {
					if _, err := pw.Write(chunk); err != nil {
						return
					}
				}
			}()
			r := &watchedReader{r: pr}
			stopped := false
			_, err := CopyAhead(&failWriter{after: 3}, r, 1000, 4, func() { stopped = true; pw.Close() })
			r.over.Store(true)
			if err == nil || !stopped {
				t.Fatalf("err %v, stop called %v", err, stopped)
			}
			if n := r.active.Load(); n != 0 {
				t.Fatalf("%d reads still running after CopyAhead returned", n)
			}
			pr.Close() // as Cmd.Wait does
			synctest.Wait()
			if n := r.late.Load(); n != 0 {
				t.Fatalf("%d reads started after CopyAhead returned", n)
			}
		})
	}
}

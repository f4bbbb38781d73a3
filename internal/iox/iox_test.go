package iox

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
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
				n, err := CopyAhead(&out, r, chunk, 3)
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
	if _, err := CopyAhead(io.Discard, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), 16, 2); !errors.Is(err, boom) {
		t.Errorf("read error: got %v", err)
	}
	n, err := CopyAhead(&failWriter{after: 2}, bytes.NewReader(data), 16, 2)
	if err == nil || n != 32 {
		t.Errorf("write error: n=%d err=%v, want 32 and an error", n, err)
	}
}

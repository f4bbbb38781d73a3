package s3stream

import (
	"errors"
	"io"
)

// buffer is a part (or range) held in memory as a list of fixed-size
// chunks, so that parts of every size reuse the same allocations.
type buffer struct {
	chunks [][]byte
	n      int64 // bytes held
}

// tail returns the free space in the last chunk, or nil when it is full
// (or there is no chunk yet).
func (b *buffer) tail() []byte {
	if len(b.chunks) == 0 {
		return nil
	}
	off := b.n - int64(len(b.chunks)-1)*chunkSize
	last := b.chunks[len(b.chunks)-1]
	if off >= int64(len(last)) {
		return nil
	}
	return last[off:]
}

// each calls f with every filled slice of the buffer, in order.
func (b *buffer) each(f func([]byte)) {
	rest := b.n
	for _, c := range b.chunks {
		if rest <= 0 {
			break
		}
		k := min(rest, int64(len(c)))
		f(c[:k])
		rest -= k
	}
}

// reader returns a seekable reader over the buffer's bytes, so the SDK can
// rewind and send them again on a retry.
func (b *buffer) reader() *bufferReader { return &bufferReader{b: b} }

// bufferReader reads a buffer. It is an io.ReadSeeker; the SDK uses Seek to
// measure and replay the body.
type bufferReader struct {
	b   *buffer
	off int64
}

func (r *bufferReader) Read(p []byte) (int, error) {
	if r.off >= r.b.n {
		return 0, io.EOF
	}
	c := r.b.chunks[r.off/chunkSize]
	start := r.off % chunkSize
	end := min(int64(len(c)), r.b.n-(r.off-start))
	n := copy(p, c[start:end])
	r.off += int64(n)
	return n, nil
}

// WriteTo hands whole chunks to w, saving a copy through an intermediate
// buffer.
func (r *bufferReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.off < r.b.n {
		c := r.b.chunks[r.off/chunkSize]
		start := r.off % chunkSize
		end := min(int64(len(c)), r.b.n-(r.off-start))
		n, err := w.Write(c[start:end])
		r.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *bufferReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.b.n
	default:
		return 0, errors.New("s3stream: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("s3stream: negative position")
	}
	r.off = offset
	return offset, nil
}

// Len is the number of unread bytes; the SDK uses it as the body's length.
func (r *bufferReader) Len() int { return int(max(0, r.b.n-r.off)) }

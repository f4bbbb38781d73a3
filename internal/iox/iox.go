// Package iox holds small I/O helpers shared by the commands.
package iox

import "io"

// CopyAhead copies r to w like io.Copy, but a goroutine reads up to n
// chunks of size bytes ahead while w works on the current one, so a
// producer on the other end of r is not held up by a momentarily busy w.
// It returns when r ends, r fails or w fails.
//
// When w fails while the goroutine may still be in a Read, CopyAhead calls
// stop, which must make that Read return (kill the producer, close the
// pipe's other end), and returns only after the goroutine has ended: no
// Read of r runs after CopyAhead returns. os/exec needs that order, since
// Cmd.Wait closes a StdoutPipe. With a nil stop, CopyAhead returns at once
// and the goroutine ends when its current Read returns.
func CopyAhead(w io.Writer, r io.Reader, size, n int, stop func()) (int64, error) {
	type filled struct {
		b   []byte
		err error
	}
	done := make(chan struct{})
	reading := make(chan struct{}) // closed when the goroutine has ended
	defer func() {
		close(done)
		if stop != nil {
			<-reading
		}
	}()
	free := make(chan []byte, n)
	full := make(chan filled, n)
	for range n {
		free <- make([]byte, size)
	}
	go func() {
		defer close(reading)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-done:
				return
			}
			k, err := io.ReadFull(r, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case full <- filled{b[:k], err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	for {
		f := <-full
		if len(f.b) > 0 {
			m, err := w.Write(f.b)
			written += int64(m)
			if err != nil {
				if stop != nil {
					stop()
				}
				return written, err
			}
		}
		if f.err == io.EOF {
			return written, nil
		}
		if f.err != nil {
			return written, f.err
		}
		free <- f.b[:cap(f.b)]
	}
}

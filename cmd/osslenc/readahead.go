package main

import (
	"io"
)

// copyAhead copies r to w like io.Copy, but reads the next chunk in a
// goroutine while w encrypts the current one: on two cores, reading then
// costs no time. Once w fails, the reading goroutine may stay blocked in a
// Read until the process exits; only the command uses this.
func copyAhead(w io.Writer, r io.Reader) error {
	const chunk = 256 << 10
	type filled struct {
		b   []byte
		err error
	}
	free := make(chan []byte, 2)
	full := make(chan filled, 2)
	free <- make([]byte, chunk)
	free <- make([]byte, chunk)
	go func() {
		for b := range free {
			n, err := io.ReadFull(r, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			full <- filled{b[:n], err}
			if err != nil {
				return
			}
		}
	}()
	for f := range full {
		if len(f.b) > 0 {
			if _, err := w.Write(f.b); err != nil {
				return err
			}
		}
		if f.err == io.EOF {
			return nil
		}
		if f.err != nil {
			return f.err
		}
		free <- f.b[:cap(f.b)]
	}
	return nil
}

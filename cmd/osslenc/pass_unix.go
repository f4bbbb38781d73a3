//go:build unix

package main

import (
	"io"
	"syscall"
)

// fdReader reads a file descriptor without taking ownership of it: an
// *os.File would close it when collected.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

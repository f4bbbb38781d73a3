//go:build !unix

package main

import "errors"

type fdReader int

func (fdReader) Read([]byte) (int, error) {
	return 0, errors.New("fd: password sources are not supported on this system")
}

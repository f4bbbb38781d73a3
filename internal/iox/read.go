package iox

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is wrapped by the error of a read past its cap.
var ErrTooLarge = errors.New("too large")

// ReadAllCapped reads r to its end, refusing more than max bytes: a file
// named by a setting (a key, a list, a payload) is read whole, and a wrong
// name must not fill memory.
func ReadAllCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes: %w", max, ErrTooLarge)
	}
	return data, nil
}

// ReadCapped reads the file name whole (ReadAllCapped). The error of a
// file too large names it.
func ReadCapped(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := ReadAllCapped(f, max)
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, err
}

package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
)

var errAborted = errors.New("output aborted")

// output is stdout, or a file that is created on the first write (or at
// Commit, for empty output), so that a run that fails early leaves no file,
// and that Abort removes again, so that a failed run leaves no partial file
// that looks complete.
type output struct {
	path   string
	stdout io.Writer

	mu     sync.Mutex // Abort may run while the copy still writes
	f      *os.File
	remove bool // the path named a regular file or nothing: Abort removes it
	done   bool
}

func newOutput(path string, stdout io.Writer) *output {
	if path == "-" {
		path = ""
	}
	return &output{path: path, stdout: stdout}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return 0, errAborted
	}
	if o.path == "" {
		return o.stdout.Write(p)
	}
	if err := o.open(); err != nil {
		return 0, err
	}
	return o.f.Write(p)
}

func (o *output) open() error {
	if o.f != nil {
		return nil
	}
	fi, err := os.Lstat(o.path)
	o.remove = errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode().IsRegular()
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		o.remove = false
		return err
	}
	o.f = f
	return nil
}

// Commit creates the file if nothing was written and closes it.
func (o *output) Commit() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.path == "" {
		o.done = true
		return nil
	}
	if err := o.open(); err != nil {
		return err
	}
	o.done = true
	err := o.f.Close()
	o.f = nil
	if err == nil {
		o.remove = false // committed: Abort leaves it alone
	}
	return err
}

// Abort closes the file and removes it, or empties it when the path is not a
// plain file (a symbolic link, say) but the file behind it is.
func (o *output) Abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = true
	if o.f != nil {
		if !o.remove {
			if fi, err := o.f.Stat(); err == nil && fi.Mode().IsRegular() {
				o.f.Truncate(0)
			}
		}
		o.f.Close()
		o.f = nil
	}
	if o.remove {
		os.Remove(o.path)
		o.remove = false
	}
}

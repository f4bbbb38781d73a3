package main

import (
	"io"
	"sync"

	"github.com/philips-labs/iron-streaming-backup/internal/iox"
)

// output is where the result goes: a file replaced only by a run that
// succeeds (iox.File), or stdout.
type output interface {
	io.Writer
	Commit() error
	Abort()
}

func newOutput(path string, stdout io.Writer) output {
	if path == "" || path == "-" {
		return &stdoutOutput{w: stdout}
	}
	return iox.NewFile(path)
}

// stdoutOutput is stdout, which stops taking writes once the run was
// aborted (an interrupt while the copy still runs).
type stdoutOutput struct {
	mu      sync.Mutex
	w       io.Writer
	aborted bool
}

func (o *stdoutOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.aborted {
		return 0, iox.ErrAborted
	}
	return o.w.Write(p)
}

func (o *stdoutOutput) Commit() error { return nil }

func (o *stdoutOutput) Abort() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.aborted = true
}

package iox

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// ErrAborted is returned by a File's Write after Abort.
var ErrAborted = errors.New("output aborted")

// File writes the file at a path by way of a temporary file in the same
// folder, created on the first write (or at Commit, for empty output) and
// renamed into place by Commit. A run that fails never creates, truncates
// or removes the file itself: what was there stays, byte for byte. A path
// that names something other than a regular file, such as /dev/null or a
// named pipe, is written in place. A symbolic link stays a link: the file
// it points to is replaced.
//
// Abort may be called while another goroutine still writes: that write
// and every later one fail with ErrAborted.
type File struct {
	path string

	mu     sync.Mutex
	f      *os.File
	tmp    string // the temporary file; "" when writing in place
	target string // the file Commit replaces
	mode   os.FileMode
	done   bool // committed or aborted
}

// NewFile returns a File that will write path.
func NewFile(path string) *File { return &File{path: path} }

func (l *File) open() error {
	if l.f != nil {
		return nil
	}
	target, err := filepath.EvalSymlinks(l.path)
	if errors.Is(err, os.ErrNotExist) {
		target, err = l.path, nil
	}
	if err != nil {
		return err
	}
	l.mode = 0o644
	if st, err := os.Stat(target); err == nil {
		if !st.Mode().IsRegular() {
			f, err := os.OpenFile(target, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			l.f = f
			return nil
		}
		l.mode = st.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = &os.PathError{Op: "open", Path: l.path, Err: pe.Err}
		}
		return err
	}
	l.f, l.tmp, l.target = f, f.Name(), target
	return nil
}

// Write writes p to the temporary file, creating it on the first call.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return 0, ErrAborted
	}
	if err := l.open(); err != nil {
		return 0, err
	}
	return l.f.Write(p)
}

// Commit creates the file if nothing was written, flushes it to disk and
// renames it into place. After a failed Commit, Abort removes what it left.
func (l *File) Commit() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return ErrAborted
	}
	if err := l.open(); err != nil {
		return err
	}
	if l.tmp == "" {
		err := l.f.Close()
		l.done, l.f = true, nil
		return err
	}
	err := l.f.Chmod(l.mode)
	if err == nil {
		err = l.f.Sync()
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(l.tmp, l.target)
	}
	if err != nil {
		return err
	}
	l.done, l.f = true, nil
	return nil
}

// Abort removes the temporary file, unless Commit renamed it into place.
func (l *File) Abort() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if l.f == nil {
		return
	}
	l.f.Close()
	l.f = nil
	if l.tmp != "" {
		os.Remove(l.tmp)
	}
}

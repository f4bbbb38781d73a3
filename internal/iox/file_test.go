package iox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	entries := func() int {
		es, _ := os.ReadDir(dir)
		return len(es)
	}

	// Aborted before any write: nothing is created.
	f := NewFile(path)
	f.Abort()
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrAborted) {
		t.Errorf("write after abort: %v", err)
	}
	if n := entries(); n != 0 {
		t.Fatalf("%d files after an abort", n)
	}

	// Committed: the file holds what was written, with a new file's mode.
	f = NewFile(path)
	f.Write([]byte("first"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // a deferred abort after the commit leaves the file
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("file holds %q", b)
	}

	// Aborted after writes: the existing file stays byte for byte, and no
	// temporary file is left.
	os.Chmod(path, 0o600)
	f = NewFile(path)
	f.Write([]byte("second, longer than the first"))
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "first" || entries() != 1 {
		t.Fatalf("after an abort: file holds %q, %d files", b, entries())
	}
	if err := f.Commit(); !errors.Is(err, ErrAborted) {
		t.Errorf("commit after abort: %v", err)
	}

	// Replaced through a symbolic link, keeping the link and the mode.
	link := filepath.Join(dir, "link")
	os.Symlink("out", link)
	f = NewFile(link)
	f.Write([]byte("third"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "third" {
		t.Errorf("file holds %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", st.Mode().Perm())
	}

	// An empty commit creates an empty file; a folder that is not there
	// is named in the error as the path asked for.
	empty := filepath.Join(dir, "empty")
	if err := NewFile(empty).Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Errorf("empty file: %v %v", st, err)
	}
	missing := filepath.Join(dir, "nodir", "x")
	if _, err := NewFile(missing).Write([]byte("x")); err == nil || err.Error() != "open "+missing+": no such file or directory" {
		t.Errorf("missing folder: %v", err)
	}
}

func TestReadCapped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("12345"), 0o600)
	for _, tc := range []struct {
		max      int64
		tooLarge bool
	}{{5, false}, {6, false}, {4, true}, {0, true}} {
		data, err := ReadCapped(p, tc.max)
		switch {
		case tc.tooLarge && (!errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), p) || data != nil):
			t.Errorf("cap %d: %q, %v", tc.max, data, err)
		case !tc.tooLarge && (err != nil || string(data) != "12345"):
			t.Errorf("cap %d: %q, %v", tc.max, data, err)
		}
	}
	if _, err := ReadCapped(filepath.Join(t.TempDir(), "missing"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

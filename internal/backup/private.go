package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// The database passwords reach pg_dump and psql only through libpq password
// files in a private folder (0700) of the job's own, never through argv or
// the environment.
//
// The folder is os.TempDir()/iron-streaming-backup-pid<pid>-<random>.
// While its run lives, the run holds an exclusive flock on the folder,
// taken before the folder got that name (it is made under a hidden name,
// locked, then renamed), so a folder of that name without a lock belongs to
// a run that ended without removing it: killed with SIGKILL, by the
// kernel's out-of-memory killer or a hard timeout. Every run removes such
// folders of its user when it starts. The lock, unlike a PID, also holds
// across PID namespaces (containers sharing one /tmp), and it goes away
// with the process, however it ends. Folders of earlier versions
// (iron-streaming-backup-<random>) were never locked, so a live one cannot
// be told from a dead one: they are left alone.
//
// Each target's password file holds that target's line only, is written
// just before its psql and pg_dump run, and is removed as soon as pg_dump
// has read it (libpq reads PGPASSFILE once, while it connects), or else
// when pg_dump writes its first byte or exits, whichever comes first. So a
// run killed in the middle of a dump leaves no password behind even before
// the next run cleans up, and one killed while connecting leaves one.

// privatePrefix starts the name of every private folder that is locked
// while its run lives.
const privatePrefix = "iron-streaming-backup-pid"

// privateDir is a run's private folder; Close removes it and drops the lock.
type privateDir struct {
	path string
	lock *os.File // open on the folder, flock held; nil where there is no flock
}

func (d *privateDir) Close() error {
	err := os.RemoveAll(d.path)
	if d.lock != nil {
		d.lock.Close()
	}
	return err
}

// passFile is one target's libpq password file. It is written, read by
// psql and then pg_dump, and removed; remove may be called any number of
// times from any goroutine.
type passFile struct {
	path string
	once sync.Once
}

func writePassFile(dir string, t pgpass.Entry) (*passFile, error) {
	p := &passFile{path: filepath.Join(dir, "pgpass-"+t.Prefix)}
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("writing the private password file: %w", err)
	}
	// No fsync: the file lives for as long as a connection takes, and on a
	// tmpfs /tmp it never reaches a disk.
	err = pgpass.Format(f, []pgpass.Entry{t})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.path)
		return nil, fmt.Errorf("writing the private password file: %w", err)
	}
	return p, nil
}

func (p *passFile) remove() { p.once.Do(func() { os.Remove(p.path) }) }

// firstByte calls f once, when the first byte has been read through it.
type firstByte struct {
	r    interface{ Read([]byte) (int, error) }
	f    func()
	done bool
}

func (b *firstByte) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 && !b.done {
		b.done = true
		b.f()
	}
	return n, err
}

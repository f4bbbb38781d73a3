package backup

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// makePrivateDir makes a locked private folder in tmp; see private.go.
func makePrivateDir(tmp string) (*privateDir, error) {
	stage, err := os.MkdirTemp(tmp, "."+privatePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	lock, err := os.Open(stage)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	final := filepath.Join(tmp, strings.TrimPrefix(filepath.Base(stage), "."))
	if err == nil {
		err = os.Rename(stage, final)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.Remove(stage)
		return nil, err
	}
	return &privateDir{path: final, lock: lock}, nil
}

// removeDeadDirs removes the private folders in tmp of runs of this user
// that ended without removing them (no lock held), and returns their names.
// A folder of a live run, in this PID namespace or another, is locked and
// left alone.
func removeDeadDirs(tmp string) (removed []string, err error) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), privatePrefix) {
			continue
		}
		p := filepath.Join(tmp, e.Name())
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile, or not ours to open
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || int(st.Uid) != os.Geteuid() ||
			unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
			unix.Close(fd)
			continue // another user's, or a live run's
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, p)
		}
		unix.Close(fd)
	}
	return removed, errors.Join(errs...)
}

// removeAfterRead removes the file as soon as a process that opened it for
// reading closes it, which libpq does right after it found the password
// while connecting. It watches with inotify until stop is called; where
// inotify is not available it does nothing, and the file goes at pg_dump's
// first byte or exit.
func (p *passFile) removeAfterRead() (stop func()) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return func() {}
	}
	if _, err := unix.InotifyAddWatch(fd, p.path, unix.IN_CLOSE_NOWRITE); err != nil {
		unix.Close(fd)
		return func() {}
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		// The first event is the one that counts: a close after reading,
		// or the end of the watch because the file went another way.
		n, _ := f.Read(buf)
		if n >= unix.SizeofInotifyEvent && binary.NativeEndian.Uint32(buf[4:8])&unix.IN_CLOSE_NOWRITE != 0 {
			p.remove()
		}
	}()
	return func() { f.Close(); wg.Wait() }
}

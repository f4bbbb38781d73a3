package backup

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// makePrivateDir makes a locked private folder in tmp; see private.go.
func makePrivateDir(tmp string) (*privateDir, error) {
	stage, err := os.MkdirTemp(tmp, "."+privatePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	lock, err := os.Open(stage)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
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
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile, or not ours to open
		}
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil || int(st.Uid) != os.Geteuid() ||
			syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			syscall.Close(fd)
			continue // another user's, or a live run's
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, p)
		}
		syscall.Close(fd)
	}
	return removed, errors.Join(errs...)
}

// removeAfterRead removes the file as soon as a process that opened it for
// reading closes it, which libpq does right after it found the password
// while connecting. It watches with inotify until stop is called; where
// inotify is not available it does nothing, and the file goes at pg_dump's
// first byte or exit.
func (p *passFile) removeAfterRead() (stop func()) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return func() {}
	}
	if _, err := syscall.InotifyAddWatch(fd, p.path, syscall.IN_CLOSE_NOWRITE); err != nil {
		syscall.Close(fd)
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
		if n >= syscall.SizeofInotifyEvent && binary.NativeEndian.Uint32(buf[4:8])&syscall.IN_CLOSE_NOWRITE != 0 {
			p.remove()
		}
	}()
	return func() { f.Close(); wg.Wait() }
}

// Package testenv starts the real servers that the project's tests and demo
// run against: a throwaway PostgreSQL cluster and a Versity S3 gateway, each
// on its own loopback port with its own temporary folder.
//
// Servers are child processes that the kernel kills when the process that
// started them dies (Linux parent-death signal), and every server started
// here is stopped and its folder removed on Stop, on SIGINT/SIGTERM, and at
// the next start after a crash (folders of dead processes are reaped). A
// server that cannot start is an error, never a reason to skip a test.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// dirPrefix starts the name of every temporary folder made here; the pid
// after it lets a later run reap the folders of a run that was killed.
const dirPrefix = "isb-test-"

var (
	mu       sync.Mutex
	stoppers = map[int]func(){}
	nextID   int
	once     sync.Once
)

// register adds a stop function run on SIGINT/SIGTERM; the returned function
// removes it again.
func register(stop func()) (unregister func()) {
	once.Do(func() {
		reapStale()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		go func() {
			sig := <-ch
			StopAll()
			fmt.Fprintf(os.Stderr, "testenv: %v: servers stopped\n", sig)
			os.Exit(2)
		}()
	})
	mu.Lock()
	defer mu.Unlock()
	id := nextID
	nextID++
	stoppers[id] = stop
	return func() {
		mu.Lock()
		defer mu.Unlock()
		delete(stoppers, id)
	}
}

// StopAll stops every server this process started and removes their
// folders. TestMain functions call it after m.Run.
func StopAll() {
	mu.Lock()
	fs := make([]func(), 0, len(stoppers))
	for _, f := range stoppers {
		fs = append(fs, f)
	}
	mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// tempDir makes a private folder named so that reapStale can find it.
func tempDir(kind string) (string, error) {
	return os.MkdirTemp("", fmt.Sprintf("%s%s-%d-", dirPrefix, kind, os.Getpid()))
}

// reapStale removes the folders of earlier runs whose process is gone (a
// test binary killed by a timeout cannot clean up after itself; its servers
// died with it, but their folders stay).
func reapStale() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, m := range matches {
		parts := strings.Split(strings.TrimPrefix(filepath.Base(m), dirPrefix), "-")
		if len(parts) < 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot returns the folder holding the project's go.mod, found upwards
// from the working directory (tests run in their package's folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/philips-labs/iron-streaming-backup\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("project root (go.mod) not found above the working directory")
		}
		dir = parent
	}
}

// ToolsBin is the git-ignored folder where scripts/setup.sh installs the
// tools the tests need (the S3 gateway).
func ToolsBin() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".tools", "bin"), nil
}

// tail returns the last n bytes of a log file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(-n, 2)
	}
	b := make([]byte, n)
	k, _ := f.Read(b)
	return strings.TrimSpace(string(b[:k]))
}

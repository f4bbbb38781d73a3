package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a program a test runs in the background, listening on a free
// port of 127.0.0.1, its output in a log file. Stop ends it, and so does
// the end of the test process (register, Pdeathsig).
type server struct {
	Dir string // its files; removed by Stop

	cmd        *exec.Cmd
	done       chan struct{}
	stopOnce   sync.Once
	unregister func()
}

// start runs command(addr) until it listens on addr, and returns addr. A
// port taken by another program between FreePort and the start is tried
// again with another. name is for errors, which end with the log's tail.
func (s *server) start(ctx context.Context, name, logPath string, command func(addr string) *exec.Cmd) (string, error) {
	for attempt := 0; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return "", err
		}
		cmd := command(addr)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return "", fmt.Errorf("start %s: %w", cmd.Path, err)
		}
		logf.Close()
		s.cmd = cmd
		s.done = make(chan struct{})
		go func(done chan struct{}) { cmd.Wait(); close(done) }(s.done)
		err = waitListening(ctx, addr, s.done, 20*time.Second)
		if err == nil {
			return addr, nil
		}
		if attempt < 2 && strings.Contains(tail(logPath, 2000), "address already in use") {
			continue
		}
		return "", fmt.Errorf("%s: %w\nlog: %s", name, err, tail(logPath, 1500))
	}
}

// Stop ends the program and removes its folder. Safe to call more than
// once.
func (s *server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.done
			}
		}
		if s.Dir != "" {
			err = os.RemoveAll(s.Dir)
		}
		if s.unregister != nil {
			s.unregister()
		}
	})
	return err
}

package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Pushgateway is a Prometheus Pushgateway (Debian's prometheus-pushgateway)
// listening on 127.0.0.1, with its metrics in memory only.
type Pushgateway struct {
	URL string // http://127.0.0.1:PORT
	Dir string // its log; removed by Stop

	cmd        *exec.Cmd
	done       chan struct{}
	stopOnce   sync.Once
	unregister func()
}

// PushgatewayPath returns the Pushgateway binary: $PUSHGATEWAY if set, else
// prometheus-pushgateway or pushgateway on PATH, else Debian's.
func PushgatewayPath() (string, error) {
	if p := os.Getenv("PUSHGATEWAY"); p != "" {
		return p, nil
	}
	for _, name := range []string{"prometheus-pushgateway", "pushgateway"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if p := "/usr/bin/prometheus-pushgateway"; fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("the Prometheus Pushgateway is not installed; run 'make setup' (apt-get install prometheus-pushgateway)")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// StartPushgateway starts a Pushgateway on a free port of 127.0.0.1.
func StartPushgateway(ctx context.Context) (*Pushgateway, error) {
	bin, err := PushgatewayPath()
	if err != nil {
		return nil, err
	}
	g := &Pushgateway{}
	if g.Dir, err = tempDir("pushgateway"); err != nil {
		return nil, err
	}
	g.unregister = register(func() { g.Stop() })
	fail := func(err error) (*Pushgateway, error) {
		g.Stop()
		return nil, err
	}
	logPath := filepath.Join(g.Dir, "pushgateway.log")
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		g.URL = "http://" + addr
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fail(err)
		}
		// No persistence file: Debian's default is a system path.
		cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=", "--log.level=warn")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fail(fmt.Errorf("start %s: %w", bin, err))
		}
		logf.Close()
		g.cmd = cmd
		g.done = make(chan struct{})
		go func(done chan struct{}) { cmd.Wait(); close(done) }(g.done)
		err = waitListening(ctx, addr, g.done, 20*time.Second)
		if err == nil {
			return g, nil
		}
		if attempt < 2 && strings.Contains(tail(logPath, 2000), "address already in use") {
			continue
		}
		return fail(fmt.Errorf("pushgateway: %w\nlog: %s", err, tail(logPath, 1500)))
	}
}

// Metrics returns what a Prometheus scraping the gateway reads, in the
// text format.
func (g *Pushgateway) Metrics(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET /metrics: %s: %s", resp.Status, body)
	}
	return body, err
}

// Stop kills the gateway and removes its folder. Safe to call more than once.
func (g *Pushgateway) Stop() error {
	var err error
	g.stopOnce.Do(func() {
		if g.cmd != nil && g.cmd.Process != nil {
			g.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-g.done:
			case <-time.After(5 * time.Second):
				syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
				<-g.done
			}
		}
		if g.Dir != "" {
			err = os.RemoveAll(g.Dir)
		}
		if g.unregister != nil {
			g.unregister()
		}
	})
	return err
}

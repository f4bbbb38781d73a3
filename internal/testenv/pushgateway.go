package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
)

// Pushgateway is a Prometheus Pushgateway (Debian's prometheus-pushgateway)
// listening on 127.0.0.1, with its metrics in memory only.
type Pushgateway struct {
	URL string // http://127.0.0.1:PORT
	server
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
	addr, err := g.start(ctx, "pushgateway", filepath.Join(g.Dir, "pushgateway.log"), func(addr string) *exec.Cmd {
		// No persistence file: Debian's default is a system path.
		return exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=", "--log.level=warn")
	})
	if err != nil {
		return fail(err)
	}
	g.URL = "http://" + addr
	return g, nil
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

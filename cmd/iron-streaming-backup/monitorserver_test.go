package main

// The loopback HTTP server that plays every monitor in the end-to-end
// tests of monitoring, and what the tests check of what it received.

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Secrets of the monitors' settings: the ping URL's and webhook's keys
// may be sent to their own server but never shown in the log; the header
// value goes to the webhook alone.
const (
	pingKey    = "ping-key-5e7a"
	hookToken  = "hook-token-91c2"
	hookHeader = "Bearer hook-header-secret-4d0b"
)

// monitorServer records every request and every raw byte it receives.
type monitorServer struct {
	*httptest.Server
	mu   sync.Mutex
	raw  bytes.Buffer
	reqs []monitorRequest
}

type monitorRequest struct {
	method, path, query string
	header              http.Header
	body                []byte
}

type recordingListener struct {
	net.Listener
	s *monitorServer
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{c, l.s}, nil
}

type recordingConn struct {
	net.Conn
	s *monitorServer
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.s.mu.Lock()
	c.s.raw.Write(p[:n])
	c.s.mu.Unlock()
	return n, err
}

func newMonitorServer(t *testing.T) *monitorServer {
	s := &monitorServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, monitorRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		s.mu.Unlock()
	}))
	s.Listener = recordingListener{s.Listener, s}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *monitorServer) take() ([]monitorRequest, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs, raw := s.reqs, bytes.Clone(s.raw.Bytes())
	s.reqs = nil
	s.raw.Reset()
	return reqs, raw
}

func under(reqs []monitorRequest, prefix string) []monitorRequest {
	var out []monitorRequest
	for _, r := range reqs {
		if strings.HasPrefix(r.path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func requestLines(reqs []monitorRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

func monitorEnv(s *monitorServer, metricsFile string) []string {
	return []string{
		"HEALTHCHECK_URL=" + s.URL + "/hc/4f1e?key=" + pingKey,
		"WEBHOOK_URL=" + s.URL + "/hook/T1?token=" + hookToken,
		"WEBHOOK_HEADERS=Authorization: " + hookHeader + "\nX-Source: backups",
		"PUSHGATEWAY_URL=" + s.URL + "/gw",
		"METRICS_FILE=" + metricsFile,
	}
}

func metricValues(t *testing.T, text []byte) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	out := map[string]float64{}
	for name, f := range fams {
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %v, want a gauge", name, f.GetType())
		}
		for _, m := range f.Metric {
			k := name
			for _, l := range m.Label {
				k += "{" + l.GetValue() + "}"
			}
			out[k] = m.GetGauge().GetValue()
		}
	}
	return out
}

// checkNoSecrets fails when a secret of the job's settings is in what the
// monitors received or in the log, or a monitor's key is in the log.
func checkNoSecrets(t *testing.T, pgpassList string, raw []byte, reqs []monitorRequest, log string) {
	t.Helper()
	secrets := []string{pw1, pw2, encPass, srv.SecretKey, "wrong-pw-3b9f",
		base64.StdEncoding.EncodeToString([]byte(pgpassList))[:40],
		base64.StdEncoding.EncodeToString([]byte(encPass))[:20]}
	secrets = append(secrets, strings.Split(strings.TrimSpace(pgpassList), "\n")...)
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("a monitor received the secret %q", s)
		}
		if strings.Contains(log, s) {
			t.Errorf("the log shows the secret %q", s)
		}
	}
	for _, s := range []string{pingKey, hookToken, hookHeader} {
		if strings.Contains(log, s) {
			t.Errorf("the log shows the monitor secret %q", s)
		}
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.path, "/hook/") && bytes.Contains([]byte(r.path+r.query+r.header.Get("Authorization")+string(r.body)), []byte("hook-header-secret")) {
			t.Errorf("%s %s received the webhook's header", r.method, r.path)
		}
	}
	if n := bytes.Count(raw, []byte(hookHeader)); n != len(under(reqs, "/hook/")) {
		t.Errorf("the webhook header was sent %d times, want once per webhook request", n)
	}
}

package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// request is what a test server received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// recorder is an HTTP server on loopback that records every request and
// answers with answer (200 when nil).
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(w http.ResponseWriter, r *http.Request)
}

func newRecorder(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{answer: answer}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		rec.mu.Unlock()
		if rec.answer != nil {
			rec.answer(w, r)
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests(pathPrefix string) []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []request
	for _, r := range rec.reqs {
		if strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fast shortens the waits, as only tests may.
func fast(m *Monitor) *Monitor {
	m.timeout, m.backoff, m.budget = 200*time.Millisecond, []time.Duration{time.Millisecond, 2 * time.Millisecond}, 5*time.Second
	return m
}

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warn(s string) { w.mu.Lock(); w.lines = append(w.lines, s); w.mu.Unlock() }
func (w *warnings) all() []string { w.mu.Lock(); defer w.mu.Unlock(); return slices.Clone(w.lines) }

var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func okDB(prefix string, plain, stored int64) Database {
	return Database{Prefix: prefix, Key: prefix + "-20261127030000.gz.aes", PlainSize: plain, StoredSize: stored,
		Started: t0, Finished: t0.Add(90 * time.Second)}
}

func failedDB(prefix, err string) Database { return Database{Prefix: prefix, Error: err} }

func report(dbs ...Database) *Report {
	return &Report{Action: Backup, Started: t0, Finished: t0.Add(2 * time.Minute), Version: "v1.2.3", Host: "runner-7", Databases: dbs}
}

// allMonitors is settings that send everything to rec, under /hc, /hook
// and /gw.
func allMonitors(t *testing.T, rec *recorder) Settings {
	return Settings{
		Healthcheck:    mustURL(t, rec.URL+"/hc/uuid-1?key=ping-key-1"),
		Webhook:        mustURL(t, rec.URL+"/hook/T0?token=hook-token-2"),
		WebhookHeaders: http.Header{"Authorization": {"Bearer header-secret-3"}},
		Pushgateway:    mustURL(t, rec.URL+"/gw"),
	}
}

func run(t *testing.T, s Settings, r *Report) *warnings {
	t.Helper()
	w := &warnings{}
	m := fast(New(s, "v1.2.3", w.warn))
	m.Start(t.Context())
	for _, d := range r.Databases {
		if d.Error == "" {
			fmt.Fprintf(m.Log(), "tool: %s: done: 1 MiB dumped\n", d.Prefix)
		} else {
			fmt.Fprintf(m.Log(), "tool: error: %s: %s\n", d.Prefix, d.Error)
		}
	}
	fmt.Fprintf(m.Log(), "tool: summary\n")
	m.Finish(t.Context(), r)
	return w
}

func paths(reqs []request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func parseMetrics(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the metrics: %v\n%s", err, body)
	}
	return fams
}

// gauges maps "name" (or "name{prefix}" when labelled) to its value.
func gauges(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			k := name
			if p := prefixOf(m); p != "" {
				k += "{" + p + "}"
			}
			out[k] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dbs     []Database
		hc      []string
		gateway []string
	}{
		{"success", []Database{okDB("db1", 1000, 300), okDB("db2", 2000, 500)},
			[]string{"POST /hc/uuid-1/start", "POST /hc/uuid-1"},
			[]string{"PUT /gw/metrics/job/iron_streaming_backup/prefix/db1", "PUT /gw/metrics/job/iron_streaming_backup/prefix/db2"}},
		{"failure", []Database{failedDB("db1", "pg_dump failed"), failedDB("db2", "cannot connect")},
			[]string{"POST /hc/uuid-1/start", "POST /hc/uuid-1/fail"},
			[]string{"POST /gw/metrics/job/iron_streaming_backup/prefix/db1", "POST /gw/metrics/job/iron_streaming_backup/prefix/db2"}},
		{"partial failure", []Database{okDB("db1", 1000, 300), failedDB("db2", "cannot connect")},
			[]string{"POST /hc/uuid-1/start", "POST /hc/uuid-1/fail"},
			[]string{"PUT /gw/metrics/job/iron_streaming_backup/prefix/db1", "POST /gw/metrics/job/iron_streaming_backup/prefix/db2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			w := run(t, allMonitors(t, rec), report(tc.dbs...))
			if len(w.all()) > 0 {
				t.Errorf("warnings: %q", w.all())
			}
			hc := rec.requests("/hc/")
			if got := paths(hc); !slices.Equal(got, tc.hc) {
				t.Errorf("healthcheck requests %q, want %q", got, tc.hc)
			}
			for _, r := range hc {
				if r.Query != "key=ping-key-1" {
					t.Errorf("%s: query %q, want the URL's", r.Path, r.Query)
				}
			}
			if body := string(hc[len(hc)-1].Body); !strings.HasSuffix(body, "tool: summary\n") || strings.Count(body, "\n") != len(tc.dbs)+1 {
				t.Errorf("last ping's body:\n%s", body)
			}
			hooks := rec.requests("/hook/")
			if len(hooks) != 1 || hooks[0].Method != "POST" || hooks[0].Header.Get("Authorization") != "Bearer header-secret-3" ||
				hooks[0].Header.Get("Content-Type") != "application/json" || hooks[0].Query != "token=hook-token-2" {
				t.Errorf("webhook requests: %+v", hooks)
			}
			gw := rec.requests("/gw/")
			if got := paths(gw); !slices.Equal(got, tc.gateway) {
				t.Errorf("pushgateway requests %q, want %q", got, tc.gateway)
			}
			for i, r := range gw {
				d := tc.dbs[i]
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
					t.Errorf("content type %q", ct)
				}
				g := gauges(parseMetrics(t, r.Body))
				want := map[string]float64{
					"iron_streaming_backup_last_run_timestamp_seconds": float64(t0.Unix() + 120),
					"iron_streaming_backup_last_run_success":           0,
				}
				if d.Error == "" {
					want = map[string]float64{
						"iron_streaming_backup_last_run_timestamp_seconds":     float64(t0.Unix() + 90),
						"iron_streaming_backup_last_run_success":               1,
						"iron_streaming_backup_last_success_timestamp_seconds": float64(t0.Unix() + 90),
						"iron_streaming_backup_dump_bytes":                     float64(d.PlainSize),
						"iron_streaming_backup_stored_bytes":                   float64(d.StoredSize),
						"iron_streaming_backup_duration_seconds":               90,
					}
				}
				if fmt.Sprint(g) != fmt.Sprint(want) {
					t.Errorf("%s pushed %v, want %v", d.Prefix, g, want)
				}
			}
		})
	}
}

func TestWebhookJSON(t *testing.T) {
	rec := newRecorder(t, nil)
	locked := okDB("db1", 3<<20, 1<<20)
	locked.LockedUntil = t0.Add(30 * 24 * time.Hour)
	run(t, Settings{Webhook: mustURL(t, rec.URL+"/hook")}, report(locked, failedDB("db2", "cannot connect to h:5432/app as u: FATAL: password authentication failed")))
	hooks := rec.requests("/hook")
	if len(hooks) != 1 {
		t.Fatalf("%d webhook requests", len(hooks))
	}
	var doc map[string]any
	if err := json.Unmarshal(hooks[0].Body, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"status": "failure", "action": "backup", "version": "v1.2.3", "host": "runner-7",
		"started": "2026-11-27T03:00:00Z", "finished": "2026-11-27T03:02:00Z", "duration_seconds": 120.0,
		"databases": []any{
			map[string]any{"prefix": "db1", "status": "success", "key": "db1-20261127030000.gz.aes", "plain_bytes": float64(3 << 20), "stored_bytes": float64(1 << 20), "duration_seconds": 90.0,
				"locked_until": "2026-12-27T03:00:00Z"},
			map[string]any{"prefix": "db2", "status": "failure", "plain_bytes": 0.0, "stored_bytes": 0.0, "duration_seconds": 0.0, "error": "cannot connect to h:5432/app as u: FATAL: password authentication failed"},
		},
	}
	text, _ := doc["text"].(string)
	delete(doc, "text")
	if fmt.Sprint(doc) != fmt.Sprint(want) {
		t.Errorf("webhook document\n%v\nwant\n%v", doc, want)
	}
	for _, s := range []string{"runner-7", "FAILED", "1 of 2", "db2: cannot connect", "Backed up: db1", "3.00 MiB dumped", "1.00 MiB stored", "2m0s"} {
		if !strings.Contains(text, s) || strings.Contains(text, "\n") {
			t.Errorf("text %q lacks %q", text, s)
		}
	}
}

func TestVerifyReport(t *testing.T) {
	rec := newRecorder(t, nil)
	r := report(Database{Prefix: "db1", Key: "db1-20261127030000.gz.aes"}, failedDB("db2", "no backup found"))
	r.Action = Verify
	s := Settings{Healthcheck: mustURL(t, rec.URL+"/hc"), Pushgateway: mustURL(t, rec.URL+"/gw")}
	run(t, s, r)
	if got, want := paths(rec.requests("/hc")), []string{"POST /hc/start", "POST /hc/fail"}; !slices.Equal(got, want) {
		t.Errorf("healthcheck %q, want %q", got, want)
	}
	gw := rec.requests("/gw")
	if got, want := paths(gw), []string{"PUT /gw/metrics/job/iron_streaming_backup_verify/prefix/db1", "POST /gw/metrics/job/iron_streaming_backup_verify/prefix/db2"}; !slices.Equal(got, want) {
		t.Fatalf("pushgateway %q, want %q", got, want)
	}
	if g := gauges(parseMetrics(t, gw[0].Body)); len(g) != 3 || g["iron_streaming_backup_verify_last_run_success"] != 1 || g["iron_streaming_backup_verify_last_success_timestamp_seconds"] != float64(t0.Unix()+120) {
		t.Errorf("verify metrics %v", g)
	}
}

// Monitors that are down: each delivery is tried three times, then one
// warning without the URL's secrets; Finish returns.
func TestUnreachable(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	hanging := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	failing := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
	missing := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	moved := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	})

	for _, tc := range []struct {
		name     string
		base     func(t *testing.T) string
		rec      *recorder
		attempts int
		warning  string
	}{
		{"refused", refused, nil, 3, "connection refused (3 attempts)"},
		{"hangs", func(*testing.T) string { return hanging.URL }, hanging, 3, "no answer in time (3 attempts)"},
		{"500", func(*testing.T) string { return failing.URL }, failing, 3, "answered 500 Internal Server Error (3 attempts)"},
		{"404", func(*testing.T) string { return missing.URL }, missing, 1, "answered 404 Not Found (1 attempt)"},
		{"redirect", func(*testing.T) string { return moved.URL }, moved, 1, "answered 302 Found, a redirect: set the URL it redirects to (1 attempt)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base(t)
			s := Settings{
				Healthcheck: mustURL(t, base+"/hc/"+tc.name+"?key=ping-key-1"),
				Webhook:     mustURL(t, "http://user:userinfo-pw@"+strings.TrimPrefix(base, "http://")+"/hook/"+tc.name+"?token=hook-token-2"),
				Pushgateway: mustURL(t, base+"/gw/"+tc.name),
			}
			w := run(t, s, report(okDB("db1", 1, 1), failedDB("db2", "x")))
			got := w.all()
			if len(got) != 5 { // start, end, webhook, and one push per database
				t.Fatalf("want 5 warnings, got %q", got)
			}
			for _, line := range got {
				if !strings.Contains(line, tc.warning) || !strings.HasSuffix(line, "; the outcome of the run is unchanged") {
					t.Errorf("warning %q lacks %q", line, tc.warning)
				}
				for _, secret := range []string{"ping-key-1", "hook-token-2", "userinfo-pw", "user@"} {
					if strings.Contains(line, secret) {
						t.Errorf("warning %q shows %q", line, secret)
					}
				}
			}
			if tc.rec != nil {
				for _, p := range []string{"/hc/" + tc.name + "/start", "/hook/" + tc.name, "/gw/" + tc.name + "/metrics/job/iron_streaming_backup/prefix/db1"} {
					n := 0
					for _, r := range tc.rec.requests(p) {
						if r.Path == p {
							n++
						}
					}
					if n != tc.attempts {
						t.Errorf("%s: %d requests, want %d", p, n, tc.attempts)
					}
				}
			}
		})
	}
}

// A Pushgateway that stops answering makes the remaining pushes give up
// at once: the budget is for all of them.
func TestPushBudget(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	w := &warnings{}
	m := fast(New(Settings{Pushgateway: mustURL(t, rec.URL)}, "v", w.warn))
	m.budget = 300 * time.Millisecond
	m.Finish(t.Context(), report(okDB("db1", 1, 1), okDB("db2", 1, 1), okDB("db3", 1, 1)))
	got := w.all()
	if len(got) != 3 || !strings.Contains(got[0], "db1: no answer in time") && !strings.Contains(got[0], "no answer in time") ||
		!strings.Contains(got[2], "db3: not pushed") {
		t.Errorf("warnings %q", got)
	}
	if n := len(rec.requests("/metrics/job/iron_streaming_backup/prefix/db3")); n != 0 {
		t.Errorf("db3 pushed %d times after the budget was spent", n)
	}
}

func TestBodyCap(t *testing.T) {
	var l lines
	for i := range 1000 {
		fmt.Fprintf(&l, "tool: db%d: done: 1.0 MiB dumped, 300 KiB stored (29.3%%) in 1.2s\n", i)
	}
	fmt.Fprintln(&l, "tool: 1000 of 1000 databases backed up")
	b := l.body()
	if len(b) > maxBody || !bytes.HasSuffix(b, []byte("tool: 1000 of 1000 databases backed up\n")) || !bytes.HasPrefix(b, []byte("(")) {
		t.Errorf("%d bytes, starting %q", len(b), b[:40])
	}
	var one lines
	one.Write(bytes.Repeat([]byte("x"), 3*maxBody))
	if b := one.body(); len(b) > maxBody {
		t.Errorf("one long line: %d bytes", len(b))
	}
}

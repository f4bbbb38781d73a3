package monitor

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func TestMetricsFile(t *testing.T) {
	path := t.TempDir() + "/backup.prom"
	write := func(r *Report) map[string]float64 {
		t.Helper()
		w := &warnings{}
		fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: path}, "v", w.warn)).Finish(t.Context(), r)
		if len(w.all()) > 0 {
			t.Fatalf("warnings %q", w.all())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return gauges(parseMetrics(t, data))
	}
	first := report(okDB("db1", 1000, 300), okDB("db2", 2000, 500))
	g := write(first)
	if len(g) != 12 || g["iron_streaming_backup_last_success_timestamp_seconds{db1}"] != float64(t0.Unix()+90) || g["iron_streaming_backup_stored_bytes{db2}"] != 500 {
		t.Fatalf("first run: %v", g)
	}

	// A failure of db1 a day later keeps its last success and sizes.
	second := report(failedDB("db1", "pg_dump failed"))
	second.Started, second.Finished = t0.Add(24*time.Hour), t0.Add(24*time.Hour+time.Minute)
	g = write(second)
	want := map[string]float64{
		"iron_streaming_backup_last_run_success{db1}":               0,
		"iron_streaming_backup_last_run_timestamp_seconds{db1}":     float64(second.Finished.Unix()),
		"iron_streaming_backup_last_success_timestamp_seconds{db1}": float64(t0.Unix() + 90),
		"iron_streaming_backup_dump_bytes{db1}":                     1000,
		"iron_streaming_backup_last_run_success{db2}":               1, // not in this run: as it was
	}
	for k, v := range want {
		if g[k] != v {
			t.Errorf("%s = %v, want %v", k, g[k], v)
		}
	}
	if len(g) != 12 {
		t.Errorf("second run: %d samples: %v", len(g), g)
	}

	// A verify adds its own metrics and keeps the backup's.
	v := report(Database{Prefix: "db2"})
	v.Action = Verify
	g = write(v)
	if len(g) != 15 || g["iron_streaming_backup_verify_last_run_success{db2}"] != 1 || g["iron_streaming_backup_last_success_timestamp_seconds{db1}"] != float64(t0.Unix()+90) {
		t.Errorf("after verify: %v", g)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode: %v %v", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// A file that is not in the text format is someone else's: it stays.
func TestMetricsFileNotOurs(t *testing.T) {
	path := t.TempDir() + "/notes.txt"
	orig := []byte("dear diary {\n")
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: path}, "v", w.warn)).Finish(t.Context(), report(okDB("db1", 1, 1)))
	if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
		t.Errorf("file changed to %q", got)
	}
	if ws := w.all(); len(ws) != 1 || !strings.HasPrefix(ws[0], "METRICS_FILE: the file there is not in Prometheus's text format") {
		t.Errorf("warnings %q", ws)
	}
	w = &warnings{}
	fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: "/nonexistent/dir/backup.prom"}, "v", w.warn)).Finish(t.Context(), report(okDB("db1", 1, 1)))
	if ws := w.all(); len(ws) != 1 || !strings.Contains(ws[0], "no such file") {
		t.Errorf("warnings %q", ws)
	}
}

// TestPushgateway pushes to a real Pushgateway and reads what Prometheus
// would scrape from it: a failure keeps the last success's time and
// sizes, a verify keeps the backup's metrics, and the other database's
// group is left alone.
func TestPushgateway(t *testing.T) {
	gw, err := testenv.StartPushgateway(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Stop() })
	push := func(r *Report) map[string]float64 {
		t.Helper()
		w := &warnings{}
		fast(New(Settings{Pushgateway: mustURL(t, gw.URL)}, "v", w.warn)).Finish(t.Context(), r)
		if len(w.all()) > 0 {
			t.Fatalf("warnings %q", w.all())
		}
		body, err := gw.Metrics(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fams := parseMetrics(t, body)
		for name, f := range fams {
			if !strings.HasPrefix(name, "iron_streaming_backup_") {
				delete(fams, name)
				continue
			}
			for _, m := range f.Metric {
				job := ""
				for _, l := range m.Label {
					if l.GetName() == "job" {
						job = l.GetValue()
					}
				}
				if !strings.HasPrefix(name, job+"_") || job == "" {
					t.Errorf("%s in the group of job %q", name, job)
				}
			}
		}
		return gauges(fams)
	}

	g := push(report(okDB("db1", 1000, 300), okDB("db2", 2000, 500)))
	if len(g) != 12 || g["iron_streaming_backup_last_success_timestamp_seconds{db1}"] != float64(t0.Unix()+90) || g["iron_streaming_backup_dump_bytes{db2}"] != 2000 {
		t.Fatalf("after a success: %v", g)
	}
	first := g

	failed := report(failedDB("db1", "pg_dump failed"))
	failed.Started, failed.Finished = t0.Add(24*time.Hour), t0.Add(24*time.Hour+time.Minute)
	g = push(failed)
	for k, v := range first {
		want := v
		switch k {
		case "iron_streaming_backup_last_run_success{db1}":
			want = 0
		case "iron_streaming_backup_last_run_timestamp_seconds{db1}":
			want = float64(failed.Finished.Unix())
		}
		if g[k] != want {
			t.Errorf("after a failure of db1: %s = %v, want %v", k, g[k], want)
		}
	}
	if len(g) != 12 {
		t.Errorf("after a failure of db1: %v", g)
	}

	v := report(Database{Prefix: "db2"})
	v.Action = Verify
	g = push(v)
	if len(g) != 15 || g["iron_streaming_backup_verify_last_run_success{db2}"] != 1 || g["iron_streaming_backup_last_run_success{db1}"] != 0 || g["iron_streaming_backup_dump_bytes{db1}"] != 1000 {
		t.Errorf("after a verify: %v", g)
	}

	again := report(okDB("db1", 4000, 900))
	again.Databases[0].Finished = t0.Add(48 * time.Hour)
	g = push(again)
	if g["iron_streaming_backup_last_success_timestamp_seconds{db1}"] != float64(t0.Add(48*time.Hour).Unix()) || g["iron_streaming_backup_stored_bytes{db1}"] != 900 || g["iron_streaming_backup_last_run_success{db1}"] != 1 || len(g) != 15 {
		t.Errorf("after a new success of db1: %v", g)
	}
}

// A METRICS_FILE that never takes the metrics (a named pipe nobody reads,
// a hung network mount) costs the run the budget and a warning, as a
// monitor that hangs does: Finish returns.
func TestMetricsFileBlocks(t *testing.T) {
	path := t.TempDir() + "/backup.prom"
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Let the writer that gave up go: O_RDWR opens without waiting.
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	})
	w := &warnings{}
	m := fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: path}, "v", w.warn))
	m.budget = 100 * time.Millisecond
	m.Finish(t.Context(), report(okDB("db1", 1, 1)))
	if ws := w.all(); len(ws) != 1 || !strings.HasPrefix(ws[0], "METRICS_FILE: not written") || !strings.HasSuffix(ws[0], "; the outcome of the run is unchanged") {
		t.Errorf("warnings %q", ws)
	}
}

// A METRICS_FILE that is not a regular file (a named pipe a collector
// reads, /dev/stdout) gets the metrics written into it; there is nothing
// to carry over from it.
func TestMetricsFilePipe(t *testing.T) {
	path := t.TempDir() + "/backup.prom"
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	})
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	w := &warnings{}
	m := fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: path}, "v", w.warn))
	m.budget = time.Second
	m.Finish(t.Context(), report(okDB("db1", 1000, 300)))
	if ws := w.all(); len(ws) > 0 {
		t.Fatalf("warnings %q", ws)
	}
	if g := gauges(parseMetrics(t, <-got)); len(g) != 6 || g["iron_streaming_backup_stored_bytes{db1}"] != 300 {
		t.Errorf("metrics read from the pipe: %v", g)
	}
}

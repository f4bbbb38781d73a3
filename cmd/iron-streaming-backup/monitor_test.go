package main

// End-to-end tests of monitoring: the job, run against the test PostgreSQL
// and S3 servers, reports to an HTTP server on loopback that records every
// byte it receives.

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// TestMonitoring: a success, then a partial failure, then a verify, each
// reported to the healthcheck, the webhook, the Pushgateway and the
// metrics file, with no secret in any of it.
func TestMonitoring(t *testing.T) {
	emptyBucket(t, "other")
	mon := newMonitorServer(t)
	metricsFile := filepath.Join(t.TempDir(), "backup.prom")
	list := twoDatabases()
	env := append(jobEnv(list, "other", ""), monitorEnv(mon, metricsFile)...)

	// A success.
	r := runJob(t, env)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	reqs, raw := mon.take()
	checkNoSecrets(t, list, raw, reqs, r.stderr)
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("warnings:\n%s", r.stderr)
	}
	hc := under(reqs, "/hc/")
	if got, want := requestLines(hc), []string{"POST /hc/4f1e/start", "POST /hc/4f1e"}; !slices.Equal(got, want) {
		t.Fatalf("healthcheck requests %q, want %q", got, want)
	}
	body := string(hc[1].body)
	for _, want := range []string{"iron-streaming-backup: db1: done: ", "iron-streaming-backup: db2: done: ", "iron-streaming-backup: 2 of 2 databases backed up"} {
		if !strings.Contains(body, want) {
			t.Errorf("last ping's body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "backing up") || hc[0].query != "key="+pingKey {
		t.Errorf("start line in the body, or the query lost:\n%s", body)
	}

	type dbDoc struct {
		Prefix      string  `json:"prefix"`
		Status      string  `json:"status"`
		Key         string  `json:"key"`
		PlainBytes  int64   `json:"plain_bytes"`
		StoredBytes int64   `json:"stored_bytes"`
		Duration    float64 `json:"duration_seconds"`
		Error       string  `json:"error"`
	}
	var doc struct {
		Text, Status, Action, Version, Host string
		Databases                           []dbDoc
	}
	hooks := under(reqs, "/hook/")
	if len(hooks) != 1 || hooks[0].header.Get("Authorization") != hookHeader || hooks[0].header.Get("X-Source") != "backups" || hooks[0].query != "token="+hookToken {
		t.Fatalf("webhook requests: %d", len(hooks))
	}
	if err := json.Unmarshal(hooks[0].body, &doc); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if doc.Status != "success" || doc.Action != "backup" || doc.Host != host || doc.Version == "" || len(doc.Databases) != 2 || !strings.Contains(doc.Text, "succeeded: 2 of 2") {
		t.Errorf("webhook document: %s", hooks[0].body)
	}
	sizes := map[string]int64{}
	for _, d := range doc.Databases {
		head, err := s3client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("other"), Key: aws.String(d.Key)})
		if err != nil {
			t.Fatalf("%s: the reported key %q: %v", d.Prefix, d.Key, err)
		}
		if d.Status != "success" || d.StoredBytes != aws.ToInt64(head.ContentLength) || d.PlainBytes <= d.StoredBytes || d.Duration <= 0 || d.Error != "" {
			t.Errorf("database %+v; the object has %d bytes", d, aws.ToInt64(head.ContentLength))
		}
		sizes[d.Prefix] = d.StoredBytes
	}

	gw := under(reqs, "/gw/")
	if got, want := requestLines(gw), []string{"PUT /gw/metrics/job/iron_streaming_backup/prefix/db1", "PUT /gw/metrics/job/iron_streaming_backup/prefix/db2"}; !slices.Equal(got, want) {
		t.Fatalf("pushgateway requests %q, want %q", got, want)
	}
	for i, p := range []string{"db1", "db2"} {
		m := metricValues(t, gw[i].body)
		if len(m) != 6 || m["iron_streaming_backup_last_run_success"] != 1 || m["iron_streaming_backup_stored_bytes"] != float64(sizes[p]) ||
			m["iron_streaming_backup_last_success_timestamp_seconds"] != m["iron_streaming_backup_last_run_timestamp_seconds"] {
			t.Errorf("%s pushed %v", p, m)
		}
	}
	data, err := os.ReadFile(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	first := metricValues(t, data)
	if len(first) != 12 || first["iron_streaming_backup_stored_bytes{db2}"] != float64(sizes["db2"]) {
		t.Errorf("metrics file: %v", first)
	}

	// A partial failure: db2's login is refused. (In the next second: two
	// backups of a prefix in one second name the same object.)
	nextSecond()
	partial := pgpassLine("app1", "backup1", pw1, "db1") + "\n" + pgpassLine("app2", "backup2", "wrong-pw-3b9f", "db2") + "\n"
	r = runJob(t, append(jobEnv(partial, "other", ""), monitorEnv(mon, metricsFile)...))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", r.code, r.stderr)
	}
	reqs, raw = mon.take()
	checkNoSecrets(t, partial, raw, reqs, r.stderr)
	hc = under(reqs, "/hc/")
	if got, want := requestLines(hc), []string{"POST /hc/4f1e/start", "POST /hc/4f1e/fail"}; !slices.Equal(got, want) {
		t.Fatalf("healthcheck requests %q, want %q", got, want)
	}
	if body := string(hc[1].body); !strings.Contains(body, "iron-streaming-backup: error: db2: cannot connect to") || !strings.Contains(body, "iron-streaming-backup: db1: done: ") {
		t.Errorf("last ping's body:\n%s", body)
	}
	hooks = under(reqs, "/hook/")
	doc.Databases = nil
	if err := json.Unmarshal(hooks[0].body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Status != "failure" || len(doc.Databases) != 2 || doc.Databases[0].Status != "success" || doc.Databases[1].Status != "failure" ||
		!strings.HasPrefix(doc.Databases[1].Error, "cannot connect to") || doc.Databases[1].Key != "" {
		t.Errorf("webhook document: %s", hooks[0].body)
	}
	gw = under(reqs, "/gw/")
	if got, want := requestLines(gw), []string{"PUT /gw/metrics/job/iron_streaming_backup/prefix/db1", "POST /gw/metrics/job/iron_streaming_backup/prefix/db2"}; !slices.Equal(got, want) {
		t.Fatalf("pushgateway requests %q, want %q", got, want)
	}
	if m := metricValues(t, gw[1].body); len(m) != 2 || m["iron_streaming_backup_last_run_success"] != 0 {
		t.Errorf("db2's failure pushed %v", m)
	}
	data, _ = os.ReadFile(metricsFile)
	second := metricValues(t, data)
	if second["iron_streaming_backup_last_run_success{db2}"] != 0 ||
		second["iron_streaming_backup_last_success_timestamp_seconds{db2}"] != first["iron_streaming_backup_last_success_timestamp_seconds{db2}"] ||
		second["iron_streaming_backup_last_run_timestamp_seconds{db2}"] <= first["iron_streaming_backup_last_run_timestamp_seconds{db2}"] ||
		second["iron_streaming_backup_last_success_timestamp_seconds{db1}"] <= first["iron_streaming_backup_last_success_timestamp_seconds{db1}"] {
		t.Errorf("metrics file after a partial failure: %v\nbefore: %v", second, first)
	}

	// verify reports to the same monitors.
	r = runJob(t, env, "verify")
	if r.code != 0 {
		t.Fatalf("verify: exit %d:\n%s", r.code, r.stderr)
	}
	reqs, raw = mon.take()
	checkNoSecrets(t, list, raw, reqs, r.stderr)
	hc = under(reqs, "/hc/")
	if got, want := requestLines(hc), []string{"POST /hc/4f1e/start", "POST /hc/4f1e"}; !slices.Equal(got, want) {
		t.Fatalf("verify's healthcheck requests %q, want %q", got, want)
	}
	if body := string(hc[1].body); !strings.Contains(body, "iron-streaming-backup: db1: ok: ") || !strings.Contains(body, "2 of 2 backups verified") {
		t.Errorf("verify's last ping:\n%s", body)
	}
	gw = under(reqs, "/gw/")
	if got, want := requestLines(gw), []string{"PUT /gw/metrics/job/iron_streaming_backup_verify/prefix/db1", "PUT /gw/metrics/job/iron_streaming_backup_verify/prefix/db2"}; !slices.Equal(got, want) {
		t.Fatalf("verify's pushgateway requests %q, want %q", got, want)
	}
	data, _ = os.ReadFile(metricsFile)
	third := metricValues(t, data)
	if len(third) != 18 || third["iron_streaming_backup_verify_last_run_success{db2}"] != 1 || third["iron_streaming_backup_last_run_success{db2}"] != 0 {
		t.Errorf("metrics file after verify: %v", third)
	}

	// A failed verify pings /fail.
	r = runJob(t, env, "verify", "-max-age", "1ns")
	if r.code != 1 {
		t.Fatalf("verify -max-age 1ns: exit %d:\n%s", r.code, r.stderr)
	}
	reqs, _ = mon.take()
	if got, want := requestLines(under(reqs, "/hc/")), []string{"POST /hc/4f1e/start", "POST /hc/4f1e/fail"}; !slices.Equal(got, want) {
		t.Errorf("failed verify's healthcheck requests %q, want %q", got, want)
	}
}

// TestMonitorsDown: monitors that refuse connections or answer 500 cost
// warnings, not the backup: exit 0, the objects are there.
func TestMonitorsDown(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer failing.Close()
	r := runJob(t, append(jobEnv(twoDatabases(), bucket, ""),
		"HEALTHCHECK_URL="+refused+"/hc?key="+pingKey,
		"WEBHOOK_URL="+failing.URL+"/hook?token="+hookToken,
		"PUSHGATEWAY_URL="+refused,
		"METRICS_FILE=/nonexistent/dir/backup.prom",
	), "db1")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"warning: healthcheck: POST " + refused + "/hc/start: dial tcp " + strings.TrimPrefix(refused, "http://") + ": connect: connection refused (3 attempts); the outcome of the run is unchanged",
		"warning: healthcheck: POST " + refused + "/hc: dial tcp",
		"warning: webhook: POST " + failing.URL + "/hook: answered 500 Internal Server Error (3 attempts)",
		"warning: pushgateway: PUT " + refused + "/metrics/job/iron_streaming_backup/prefix/db1: dial tcp",
		"warning: METRICS_FILE: open /nonexistent/dir/backup.prom: no such file or directory",
		"1 of 1 databases backed up",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, s := range []string{pingKey, hookToken} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("the log shows %q", s)
		}
	}
	if keys := objects(t, bucket); len(keys) != 2 {
		t.Errorf("bucket holds %q, want the backup and its manifest", keys)
	}
	t.Logf("log:\n%s", r.stderr)
}

// TestMonitorSettings: a bad monitor setting is one line among the other
// settings errors, exit 2, and nothing is sent or backed up.
func TestMonitorSettings(t *testing.T) {
	emptyBucket(t, "other")
	mon := newMonitorServer(t)
	r := runJob(t, append(jobEnv(twoDatabases(), "other", ""),
		"COMPRESSION=lz4",
		"HEALTHCHECK_URL="+mon.URL+"/hc?key="+pingKey,
		"WEBHOOK_URL=hooks.example.com/x?token="+hookToken,
		"WEBHOOK_HEADERS=Authorization "+hookHeader,
		"PUSHGATEWAY_URL=http://[::1"))
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	for _, want := range []string{
		`error: COMPRESSION="lz4"`,
		"error: WEBHOOK_URL=hooks.example.com/x: want an http:// or https:// URL",
		"error: WEBHOOK_HEADERS line 1: want Name: value",
		"error: PUSHGATEWAY_URL: not a URL (missing ']' in host)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	for _, s := range []string{pingKey, hookToken, hookHeader, "backing up"} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("stderr shows %q", s)
		}
	}
	if reqs, _ := mon.take(); len(reqs) > 0 {
		t.Errorf("the healthcheck got %q", requestLines(reqs))
	}
	if keys := objects(t, "other"); len(keys) != 0 {
		t.Errorf("bucket holds %q", keys)
	}
	t.Logf("stderr:\n%s", r.stderr)
}

// TestMonitorSettingsDocumented: docs/monitoring.md names every
// monitoring setting (-h and docs/configuration.md list them from
// config.Table).
func TestMonitorSettingsDocumented(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Table {
		if s.Group == config.Monitoring && !strings.Contains(string(page), "`"+s.Name+"`") {
			t.Errorf("docs/monitoring.md does not name %s", s.Name)
		}
	}
}

// TestRunnerMonitoring: in runner mode the payload's env carries the
// monitoring settings to the backup its cmd runs.
func TestRunnerMonitoring(t *testing.T) {
	emptyBucket(t, "other")
	mon := newMonitorServer(t)
	env := map[string]string{}
	for _, kv := range append(jobEnv(twoDatabases(), "other", ""), "HEALTHCHECK_URL="+mon.URL+"/hc/runner?key="+pingKey) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	payload, err := json.Marshal(map[string]any{"version": "1", "env": env, "cmd": []string{"iron-streaming-backup", "db2"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(path, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runJob(t, []string{"PATH=" + env["PATH"], "PAYLOAD_FILE=" + path}, "runner")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	reqs, raw := mon.take()
	checkNoSecrets(t, twoDatabases(), raw, reqs, r.stderr)
	if got, want := requestLines(reqs), []string{"POST /hc/runner/start", "POST /hc/runner"}; !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	if body := string(reqs[1].body); !strings.Contains(body, "iron-streaming-backup: db2: done: ") || !strings.Contains(body, "1 of 1 databases backed up") {
		t.Errorf("last ping's body:\n%s", body)
	}
}

// TestMonitorRunFails: a run that fails before any database (here the
// bucket does not exist) pings /fail with the reason, and every database
// is reported failed.
func TestMonitorRunFails(t *testing.T) {
	mon := newMonitorServer(t)
	r := runJob(t, append(jobEnv(twoDatabases(), "no-such-bucket", ""), monitorEnv(mon, filepath.Join(t.TempDir(), "backup.prom"))...))
	if r.code != 2 || !strings.Contains(r.stderr, `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("exit %d, want 2:\n%s", r.code, r.stderr)
	}
	reqs, raw := mon.take()
	checkNoSecrets(t, twoDatabases(), raw, reqs, r.stderr)
	hc := under(reqs, "/hc/")
	if got, want := requestLines(hc), []string{"POST /hc/4f1e/start", "POST /hc/4f1e/fail"}; !slices.Equal(got, want) {
		t.Fatalf("healthcheck requests %q, want %q", got, want)
	}
	if body := string(hc[1].body); !strings.HasPrefix(body, "iron-streaming-backup: error: checking s3://no-such-bucket: ") || strings.Count(body, "\n") != 1 {
		t.Errorf("last ping's body:\n%s", body)
	}
	var doc struct {
		Status    string
		Databases []struct{ Prefix, Status, Error string }
	}
	if hooks := under(reqs, "/hook/"); len(hooks) != 1 || json.Unmarshal(hooks[0].body, &doc) != nil {
		t.Fatalf("webhook requests: %d", len(hooks))
	}
	if doc.Status != "failure" || len(doc.Databases) != 2 || doc.Databases[1].Prefix != "db2" || doc.Databases[1].Status != "failure" || !strings.Contains(doc.Databases[1].Error, `bucket "no-such-bucket" does not exist`) {
		t.Errorf("webhook document: %+v", doc)
	}
	if got, want := requestLines(under(reqs, "/gw/")), []string{"POST /gw/metrics/job/iron_streaming_backup/prefix/db1", "POST /gw/metrics/job/iron_streaming_backup/prefix/db2"}; !slices.Equal(got, want) {
		t.Errorf("pushgateway requests %q, want %q", got, want)
	}
}

// nextSecond waits for the clock's next second, the resolution of object
// keys.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

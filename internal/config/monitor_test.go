package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/monitor"
)

// loadMonitorFrom reads the monitoring settings of m.
func loadMonitorFrom(m map[string]string) (monitor.Settings, []error) {
	e := &env{getenv: func(k string) string { return m[k] }}
	s := loadMonitor(e)
	return s, e.errs
}

func TestLoadMonitorNothingSet(t *testing.T) {
	s, errs := loadMonitorFrom(nil)
	if len(errs) > 0 || s.Enabled() {
		t.Fatalf("nothing set: %+v %v", s, errs)
	}
}

func TestLoadMonitorGood(t *testing.T) {
	s, errs := loadMonitorFrom(map[string]string{
		EnvHealthcheck:    "https://hc-ping.com/0b1d6c2e-aaaa-bbbb-cccc-0123456789ab",
		EnvWebhook:        " https://hooks.example.com/services/T0/B0/xyz ",
		EnvWebhookHeaders: "Authorization: Bearer tok-3141\r\n\nx-team:  backups \n",
		EnvPushgateway:    "http://pushgateway:9091/base",
		EnvMetricsFile:    "/var/lib/node_exporter/backup.prom",
	})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if s.Healthcheck.Host != "hc-ping.com" || s.Webhook.Path != "/services/T0/B0/xyz" || s.Pushgateway.Path != "/base" || s.MetricsFile != "/var/lib/node_exporter/backup.prom" {
		t.Errorf("settings: %+v", s)
	}
	if s.WebhookHeaders.Get("Authorization") != "Bearer tok-3141" || s.WebhookHeaders.Get("X-Team") != "backups" || len(s.WebhookHeaders) != 2 {
		t.Errorf("headers: %d of them", len(s.WebhookHeaders))
	}
}

func TestLoadMonitorErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unparsable", map[string]string{EnvHealthcheck: "http://[::1:" + secret}, "HEALTHCHECK_URL: not a URL"},
		{"no scheme", map[string]string{EnvHealthcheck: "hc-ping.com/" + secret}, "HEALTHCHECK_URL=hc-ping.com/" + secret + ": want an http:// or https:// URL"},
		{"no slashes, user info", map[string]string{EnvHealthcheck: "https:ops:" + secret + "@hc-ping.com/x"}, "HEALTHCHECK_URL=https:hc-ping.com/x: want an http:// or https:// URL"},
		{"one slash, user info", map[string]string{EnvHealthcheck: "https:/ops:" + secret + "@hc-ping.com/x"}, "HEALTHCHECK_URL=https:/hc-ping.com/x: want an http:// or https:// URL"},
		{"no scheme, user info", map[string]string{EnvHealthcheck: "ops:" + secret + "@hc-ping.com/x"}, "HEALTHCHECK_URL=ops:hc-ping.com/x: want an http:// or https:// URL"},
		{"no scheme, user name", map[string]string{EnvHealthcheck: secret + "@hc-ping.com/x"}, "HEALTHCHECK_URL=hc-ping.com/x: want an http:// or https:// URL"},
		{"ftp", map[string]string{EnvWebhook: "ftp://u:" + secret + "@host/x?k=" + secret}, "WEBHOOK_URL=ftp://host/x: want an http:// or https:// URL"},
		{"no host", map[string]string{EnvPushgateway: "http:///metrics"}, "PUSHGATEWAY_URL=http:///metrics: want"},
		{"bad port", map[string]string{EnvWebhook: "https://host:12ab/x?token=" + secret}, "WEBHOOK_URL: not a URL"},
		{"gateway query", map[string]string{EnvPushgateway: "http://gw:9091/?x=" + secret}, "PUSHGATEWAY_URL=http://gw:9091/: give the Pushgateway's address without a query"},
		{"header without colon", map[string]string{EnvWebhook: "https://h/", EnvWebhookHeaders: "X-Ok: 1\nBearer " + secret}, "WEBHOOK_HEADERS line 2: want Name: value"},
		{"header bad name", map[string]string{EnvWebhook: "https://h/", EnvWebhookHeaders: "Auth orization: " + secret}, "WEBHOOK_HEADERS line 1: the header name"},
		{"header control", map[string]string{EnvWebhook: "https://h/", EnvWebhookHeaders: "Authorization: a\x00" + secret}, "WEBHOOK_HEADERS line 1 (Authorization): the value has a control character"},
		{"header reserved", map[string]string{EnvWebhook: "https://h/", EnvWebhookHeaders: "host: " + secret}, "WEBHOOK_HEADERS line 1: Host is set by the job itself"},
		{"headers without webhook", map[string]string{EnvWebhookHeaders: "Authorization: " + secret}, "WEBHOOK_HEADERS is set but WEBHOOK_URL is not"},
		{"metrics folder", map[string]string{EnvMetricsFile: "/var/lib/"}, `METRICS_FILE="/var/lib/": name a file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := loadMonitorFrom(tc.env)
			if len(errs) != 1 {
				t.Fatalf("want one error, got %q", errs)
			}
			msg := errs[0].Error()
			if !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q", msg, tc.want)
			}
			if strings.Contains(msg, secret) && !strings.Contains(tc.want, secret) {
				t.Errorf("error shows the secret: %q", msg)
			}
		})
	}
}

func TestLoadMonitorReportsEveryProblem(t *testing.T) {
	_, errs := loadMonitorFrom(map[string]string{
		EnvHealthcheck: "nope", EnvWebhook: "nope", EnvPushgateway: "nope", EnvMetricsFile: "/tmp/",
	})
	if len(errs) != 4 {
		t.Fatalf("want 4 errors, got %q", errs)
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("Authorization: Bearer x\nX-A: b")
	f.Add(":\n\r\n a : b")
	f.Fuzz(func(t *testing.T, v string) {
		h, err := parseHeaders(v)
		if err != nil {
			return
		}
		for k, vs := range h {
			if !isToken(k) {
				t.Fatalf("bad name %q", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("bad value %q", v)
				}
			}
		}
	})
}

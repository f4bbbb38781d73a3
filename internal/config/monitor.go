package config

import (
	"errors"
	"fmt"
	"github.com/philips-labs/iron-streaming-backup/internal/monitor"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
)

// maxHeaders caps WEBHOOK_HEADERS.
const maxHeaders = 64 << 10

// loadMonitor reads the monitoring settings. Every problem is one error,
// and no error contains a header value, a URL's query or its user info:
// ping URLs and webhook headers often carry keys.
func loadMonitor(e *env) monitor.Settings {
	getenv := e.get
	var s monitor.Settings
	var errs []error
	var err error
	if s.Healthcheck, err = parseURL(getenv, EnvHealthcheck, "https://hc-ping.com/<uuid>"); err != nil {
		errs = append(errs, err)
	}
	if s.Healthcheck != nil {
		// URL/ would ping URL//start.
		s.Healthcheck.Path, s.Healthcheck.RawPath = strings.TrimRight(s.Healthcheck.Path, "/"), strings.TrimRight(s.Healthcheck.RawPath, "/")
	}
	if s.Webhook, err = parseURL(getenv, EnvWebhook, "https://hooks.slack.com/services/…"); err != nil {
		errs = append(errs, err)
	}
	if s.Pushgateway, err = parseURL(getenv, EnvPushgateway, "http://pushgateway:9091"); err != nil {
		errs = append(errs, err)
	}
	if s.Pushgateway != nil && (s.Pushgateway.RawQuery != "" || s.Pushgateway.Fragment != "") {
		errs = append(errs, fmt.Errorf("%s=%s: give the Pushgateway's address without a query (the job adds /metrics/job/…)", EnvPushgateway, monitor.Redact(s.Pushgateway)))
	}
	if h := getenv(EnvWebhookHeaders); strings.TrimSpace(h) != "" {
		if s.WebhookHeaders, err = parseHeaders(h); err != nil {
			errs = append(errs, err)
		} else if strings.TrimSpace(getenv(EnvWebhook)) == "" {
			errs = append(errs, fmt.Errorf("%s is set but %s is not", EnvWebhookHeaders, EnvWebhook))
		}
	}
	if f := strings.TrimSpace(getenv(EnvMetricsFile)); f != "" {
		if strings.HasSuffix(f, "/") {
			errs = append(errs, fmt.Errorf("%s=%q: name a file, e.g. /var/lib/node_exporter/textfile/backup.prom", EnvMetricsFile, f))
		} else {
			s.MetricsFile = filepath.Clean(f)
		}
	}
	s.MetricsFileSetting = EnvMetricsFile
	e.add(errs...)
	return s
}

// parseURL reads an http(s) URL from the variable name; nil when unset.
func parseURL(getenv func(string) string, name, example string) (*url.URL, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil, nil
	}
	u, err := url.Parse(v)
	if err != nil {
		// url.Error repeats the URL, which may hold a key: say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: not a URL (%v): want one such as %s", name, err, example)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s=%s: want an http:// or https:// URL such as %s", name, monitor.Redact(u), example)
	}
	if u.Port() != "" && strings.Trim(u.Port(), "0123456789") != "" {
		return nil, fmt.Errorf("%s=%s: bad port", name, monitor.Redact(u))
	}
	return u, nil
}

// parseHeaders reads "Name: value" lines. The values are secrets: no error
// quotes a line, only its number and, once it is known, its name.
func parseHeaders(v string) (http.Header, error) {
	if len(v) > maxHeaders {
		return nil, fmt.Errorf("%s: longer than %d bytes", EnvWebhookHeaders, maxHeaders)
	}
	h := http.Header{}
	var errs []error
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s line %d: want Name: value (no ':' found)", EnvWebhookHeaders, i+1))
		case !isToken(name):
			errs = append(errs, fmt.Errorf("%s line %d: the header name before ':' is not a valid header name", EnvWebhookHeaders, i+1))
		case strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
			errs = append(errs, fmt.Errorf("%s line %d (%s): the value has a control character", EnvWebhookHeaders, i+1, name))
		default:
			switch k := textproto.CanonicalMIMEHeaderKey(name); k {
			case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Content-Type":
				errs = append(errs, fmt.Errorf("%s line %d: %s is set by the job itself", EnvWebhookHeaders, i+1, k))
			default:
				h.Add(k, value)
			}
		}
	}
	return h, errors.Join(errs...)
}

// isToken reports whether s is an HTTP token (RFC 9110), as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

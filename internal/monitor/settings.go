// Package monitor implements the job's reports to monitoring: a
// healthchecks.io-style ping when a run starts and ends, a JSON webhook at
// the end, and Prometheus metrics pushed to a Pushgateway or written for
// node_exporter's textfile collector. Monitoring reports outcomes and never
// changes them: a monitor that fails costs a warning line and a bounded
// wait, nothing else.
//
// The package reads no environment: it takes Settings (package config
// reads them).
package monitor

import (
	"net/http"
	"net/url"
	"strings"
)

// Settings say where a run reports to; the zero value reports nowhere.
type Settings struct {
	Healthcheck    *url.URL
	Webhook        *url.URL
	WebhookHeaders http.Header // values are secrets: never logged
	Pushgateway    *url.URL
	MetricsFile    string
	// MetricsFileSetting is the setting that named MetricsFile, by which
	// warnings about the file name it.
	MetricsFileSetting string
}

// Enabled reports whether any monitor is set.
func (s Settings) Enabled() bool {
	return s.Healthcheck != nil || s.Webhook != nil || s.Pushgateway != nil || s.MetricsFile != ""
}

// Redact returns u as it may be shown: without user info, query and
// fragment, where keys of ping URLs and webhooks tend to be.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	// "https:user:key@host" or "https:/user:key@host" (slashes forgotten)
	// parse with the user info in Opaque or Path.
	if i := strings.LastIndexByte(c.Opaque, '@'); i >= 0 {
		c.Opaque = c.Opaque[i+1:]
	}
	if i := strings.LastIndexByte(c.Path, '@'); i >= 0 && c.Host == "" {
		lead := c.Path[:len(c.Path)-len(strings.TrimLeft(c.Path, "/"))]
		c.Path, c.RawPath = lead+c.Path[i+1:], ""
	}
	return c.String()
}

package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Monitor reports one run to the monitors of its settings. Its states:
// new → started (Start, optional) → finished (Finish); each method is
// called once, in that order.
type Monitor struct {
	s       Settings
	version string
	warn    func(string)
	lines   lines
	client  *http.Client
	started chan struct{} // closed when the start ping is done; nil: not sent

	// Test hooks; the defaults are the user's.
	timeout time.Duration   // of one request
	backoff []time.Duration // waits before the second, third, … attempt
	budget  time.Duration   // of one delivery, all attempts together
}

// The defaults: a monitor that is down or hangs costs a run at most budget
// at its start (in the background, while the backups run) and budget at
// its end (all monitors at once), so a run whose monitors are all
// unreachable ends within a minute of its backups.
const (
	defaultTimeout = 10 * time.Second
	defaultBudget  = 25 * time.Second
)

var defaultBackoff = []time.Duration{time.Second, 3 * time.Second}

// New returns a Monitor for s. warn receives one line, without secrets,
// for every report that could not be delivered; version is this program's.
func New(s Settings, version string, warn func(string)) *Monitor {
	return &Monitor{
		s: s, version: version, warn: warn,
		client: &http.Client{
			Transport: http.DefaultTransport,
			// A redirect would carry the body, and the webhook's
			// headers, somewhere not configured: report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: defaultTimeout, backoff: defaultBackoff, budget: defaultBudget,
	}
}

// Log receives the run's result and summary lines, the body of the
// healthcheck's last ping (at most 10 kB: the last lines).
func (m *Monitor) Log() io.Writer { return &m.lines }

// Start pings the healthcheck's /start in the background: the backups do
// not wait for it. Finish waits for it, so the monitor sees the start first.
func (m *Monitor) Start(ctx context.Context) {
	if m.s.Healthcheck == nil {
		return
	}
	m.started = make(chan struct{})
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(m.started)
		m.deliver(ctx, "healthcheck", http.MethodPost, m.s.Healthcheck.JoinPath("start"), nil, nil)
	}()
}

// Finish reports r to every monitor at once and returns when each has
// answered or given up. It does not fail: an undelivered report is a
// warning. ctx being cancelled (the run was interrupted) does not stop the
// reports, which are bounded by their own deadlines.
func (m *Monitor) Finish(ctx context.Context, r *Report) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	if m.s.Healthcheck != nil {
		wg.Go(func() {
			if m.started != nil {
				<-m.started
			}
			u := m.s.Healthcheck
			if !r.OK() {
				u = u.JoinPath("fail")
			}
			m.deliver(ctx, "healthcheck", http.MethodPost, u, m.lines.body(), http.Header{"Content-Type": {"text/plain; charset=utf-8"}})
		})
	}
	if m.s.Webhook != nil {
		wg.Go(func() {
			body, err := r.webhookJSON()
			if err != nil {
				m.warn(fmt.Sprintf("webhook: %v", err))
				return
			}
			h := m.s.WebhookHeaders.Clone()
			if h == nil {
				h = http.Header{}
			}
			h.Set("Content-Type", "application/json")
			m.deliver(ctx, "webhook", http.MethodPost, m.s.Webhook, body, h)
		})
	}
	if m.s.Pushgateway != nil {
		wg.Go(func() { m.push(ctx, r) })
	}
	if m.s.MetricsFile != "" {
		wg.Go(func() {
			// A file can block as a server can hang (a named pipe nobody
			// reads, a hung mount): the write gets the same budget, and a
			// write still blocked after it is left to the process's exit.
			done := make(chan error, 1)
			go func() { done <- writeMetricsFile(m.s.MetricsFile, r) }()
			t := time.NewTimer(m.budget)
			defer t.Stop()
			select {
			case err := <-done:
				if err != nil {
					m.warn(fmt.Sprintf("%s: %v", m.s.MetricsFileSetting, err))
				}
			case <-t.C:
				m.warn(fmt.Sprintf("%s: not written: %s did not take it within %s (a named pipe nobody reads, a hung mount?); the outcome of the run is unchanged", m.s.MetricsFileSetting, m.s.MetricsFile, m.budget))
			}
		})
	}
	wg.Wait()
}

// deliver sends one request, retrying with backoff within the budget, and
// warns when it was not accepted. what names the monitor in the warning.
func (m *Monitor) deliver(ctx context.Context, what, method string, u *url.URL, body []byte, h http.Header) bool {
	ctx, cancel := context.WithTimeout(ctx, m.budget)
	defer cancel()
	return m.deliverWithin(ctx, what, method, u, body, h)
}

func (m *Monitor) deliverWithin(ctx context.Context, what, method string, u *url.URL, body []byte, h http.Header) bool {
	var err error
	attempts := 0
	for i := 0; i <= len(m.backoff); i++ {
		if i > 0 {
			t := time.NewTimer(m.backoff[i-1])
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			if ctx.Err() != nil {
				break
			}
		}
		attempts++
		var retry bool
		if retry, err = m.send(ctx, method, u, body, h); err == nil {
			return true
		} else if !retry {
			break
		}
	}
	m.warn(fmt.Sprintf("%s: %s %s: %v (%s); the outcome of the run is unchanged", what, method, Redact(u), err, plural(attempts, "attempt")))
	return false
}

// send makes one request. retry says whether another attempt may succeed.
func (m *Monitor) send(ctx context.Context, method string, u *url.URL, body []byte, h http.Header) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot make the request")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "iron-streaming-backup/"+m.version)
	resp, err := m.client.Do(req)
	if err != nil {
		return true, requestErr(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c >= 300 && c < 400:
		return false, fmt.Errorf("answered %s, a redirect: set the URL it redirects to", resp.Status)
	case c >= 500, c == http.StatusTooManyRequests, c == http.StatusRequestTimeout:
		return true, fmt.Errorf("answered %s", resp.Status)
	default:
		return false, fmt.Errorf("answered %s", resp.Status)
	}
}

// requestErr says why a request failed without repeating its URL, whose
// query (a key, often) url.Error would show.
func requestErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return errors.New("no answer in time")
	case errors.Is(err, context.Canceled):
		return errors.New("cancelled")
	}
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

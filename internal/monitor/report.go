package monitor

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// The actions a run reports.
const (
	Backup = "backup"
	Verify = "verify"
)

// Report is the outcome of a run, as monitors are told of it.
type Report struct {
	Action    string // Backup or Verify
	Started   time.Time
	Finished  time.Time
	Version   string // this program's
	Host      string // the machine that ran it
	Databases []Database
}

// Database is the outcome of one database of a run.
type Database struct {
	Prefix     string
	Key        string // the object written or verified; "" when none
	PlainSize  int64  // of a successful backup
	StoredSize int64  // of a successful backup
	Started    time.Time
	Finished   time.Time // zero: when the run finished
	// LockedUntil is the retain-until date of the S3 Object Lock of the
	// backup's objects; zero: none.
	LockedUntil time.Time
	// Error is the failure as the log shows it (one line, no secret);
	// "" means success.
	Error string
}

// OK reports whether every database of the run succeeded.
func (r *Report) OK() bool {
	for _, d := range r.Databases {
		if d.Error != "" {
			return false
		}
	}
	return len(r.Databases) > 0
}

func (r *Report) status() string { return status(r.OK()) }

func status(ok bool) string {
	if ok {
		return "success"
	}
	return "failure"
}

func (d *Database) finished(r *Report) time.Time {
	if d.Finished.IsZero() {
		return r.Finished
	}
	return d.Finished
}

func (d *Database) duration() time.Duration {
	if d.Started.IsZero() || d.Finished.IsZero() {
		return 0
	}
	return d.Finished.Sub(d.Started)
}

// webhookDoc is the webhook's JSON document. Text comes first so that chat
// services' incoming webhooks (Slack, Mattermost, Teams-compatible ones),
// which show "text" and ignore the rest, say something readable.
type webhookDoc struct {
	Text            string        `json:"text"`
	Status          string        `json:"status"`
	Action          string        `json:"action"`
	Started         time.Time     `json:"started"`
	Finished        time.Time     `json:"finished"`
	DurationSeconds float64       `json:"duration_seconds"`
	Version         string        `json:"version"`
	Host            string        `json:"host"`
	Databases       []databaseDoc `json:"databases"`
}

type databaseDoc struct {
	Prefix          string     `json:"prefix"`
	Status          string     `json:"status"`
	Key             string     `json:"key,omitempty"`
	PlainBytes      int64      `json:"plain_bytes"`
	StoredBytes     int64      `json:"stored_bytes"`
	DurationSeconds float64    `json:"duration_seconds"`
	LockedUntil     *time.Time `json:"locked_until,omitempty"`
	Error           string     `json:"error,omitempty"`
}

func (r *Report) webhookJSON() ([]byte, error) {
	doc := webhookDoc{
		Text: r.Text(), Status: r.status(), Action: r.Action,
		Started: r.Started.UTC(), Finished: r.Finished.UTC(), DurationSeconds: r.Finished.Sub(r.Started).Seconds(),
		Version: r.Version, Host: r.Host, Databases: []databaseDoc{},
	}
	for _, d := range r.Databases {
		doc.Databases = append(doc.Databases, databaseDoc{
			Prefix: d.Prefix, Status: status(d.Error == ""), Key: d.Key,
			PlainBytes: d.PlainSize, StoredBytes: d.StoredSize, DurationSeconds: d.duration().Seconds(),
			Error: d.Error,
		})
		if !d.LockedUntil.IsZero() {
			u := d.LockedUntil.UTC()
			doc.Databases[len(doc.Databases)-1].LockedUntil = &u
		}
	}
	return json.Marshal(doc)
}

// Text is a one-paragraph summary of the run for people.
func (r *Report) Text() string {
	var b strings.Builder
	what := map[string][2]string{
		Backup: {"backup", "backed up"},
		Verify: {"verify", "verified"},
	}[r.Action]
	if what[0] == "" {
		what = [2]string{r.Action, "done"}
	}
	fmt.Fprintf(&b, "iron-streaming-backup %s on %s ", what[0], cmp.Or(r.Host, "unknown host"))
	var ok, failed []string
	var plain, stored int64
	for _, d := range r.Databases {
		if d.Error == "" {
			ok = append(ok, d.Prefix)
			plain += d.PlainSize
			stored += d.StoredSize
		} else {
			failed = append(failed, d.Prefix+": "+d.Error)
		}
	}
	n := len(r.Databases)
	if r.OK() {
		fmt.Fprintf(&b, "succeeded: %d of %d databases %s (%s)", n, n, what[1], strings.Join(ok, ", "))
	} else {
		fmt.Fprintf(&b, "FAILED: %d of %d databases failed. %s", len(failed), n, strings.Join(failed, ". "))
		if !strings.HasSuffix(b.String(), ".") {
			b.WriteString(".")
		}
		if len(ok) > 0 {
			fmt.Fprintf(&b, " %s: %s", strings.ToUpper(what[1][:1])+what[1][1:], strings.Join(ok, ", "))
		}
	}
	if r.Action == Backup && len(ok) > 0 {
		fmt.Fprintf(&b, "; %s dumped, %s stored", units.FormatSize(plain), units.FormatSize(stored))
	}
	fmt.Fprintf(&b, "; %s in all.", r.Finished.Sub(r.Started).Round(time.Millisecond))
	return b.String()
}

// maxBody caps a healthcheck ping's body.
const maxBody = 10 << 10

// lines keeps the lines written to it for a ping's body: the last ones
// when there are more than maxBody bytes, where the summary is.
type lines struct {
	mu      sync.Mutex
	buf     []byte
	dropped int // lines cut from the front
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for len(l.buf) > maxBody-100 {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 || i == len(l.buf)-1 {
			// One huge line: keep its end.
			l.buf = append(l.buf[:0], l.buf[len(l.buf)-(maxBody-100):]...)
			l.dropped++
			break
		}
		l.buf = l.buf[i+1:]
		l.dropped++
	}
	return len(p), nil
}

// body is what was written, at most maxBody bytes.
func (l *lines) body() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == 0 {
		return bytes.Clone(l.buf)
	}
	return append([]byte(fmt.Sprintf("(%d earlier lines left out)\n", l.dropped)), l.buf...)
}

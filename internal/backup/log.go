package backup

import (
	"fmt"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Logger writes the job's log: a line when a database starts, a line when it
// ends (sizes, ratio, duration, rate) or fails, and a summary. Text lines
// are "tool: …" like every message of the project's commands; JSON lines
// are slog's. No line contains a password.
type Logger struct {
	tool string
	mu   sync.Mutex
	w    io.Writer
	json *slog.Logger
	// results also gets the result and summary lines, as text; nil: none.
	results *Logger
}

// NewLogger returns a logger writing to w, as JSON lines when asJSON.
func NewLogger(w io.Writer, tool string, asJSON bool) *Logger {
	l := &Logger{tool: tool, w: w}
	if asJSON {
		l.json = slog.New(slog.NewJSONHandler(w, nil))
	}
	return l
}

// TeeResults makes l also write its result and summary lines (a line per
// database and the run's last) to w, as text whatever l's format: the
// report a monitor gets. Call it before the run starts.
func (l *Logger) TeeResults(w io.Writer) { l.results = NewLogger(w, l.tool, false) }

// result logs a result or summary line, and tees it as text; "error: "
// starts a failure's.
func (l *Logger) result(format string, args ...any) {
	if l.results != nil {
		l.results.text(format, args...)
	}
	if l.json == nil {
		l.text(format, args...)
		return
	}
	msg := fmt.Sprintf(format, args...)
	if rest, ok := strings.CutPrefix(msg, "error: "); ok {
		l.json.Error(rest)
		return
	}
	l.json.Info(msg)
}

// PrefixWarn logs something about one prefix worth a look that does not
// fail it.
func (l *Logger) PrefixWarn(prefix, msg string) {
	if l.json != nil {
		l.json.Warn(msg, "prefix", prefix)
		return
	}
	l.text("%s: warning: %s", prefix, msg)
}

func (l *Logger) text(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, l.tool+": "+format+"\n", args...)
}

// Start logs the start of a database's backup.
func (l *Logger) Start(t pgpass.Entry, bucket, key string) {
	if l.json != nil {
		l.json.Info("backup started", "prefix", t.Prefix, "host", t.Host, "port", t.Port, "database", t.Database,
			"object", "s3://"+bucket+"/"+key)
		return
	}
	l.text("%s: backing up %s:%s/%s to s3://%s/%s", t.Prefix, t.Host, t.Port, t.Database, bucket, key)
}

// Client logs the server's version and the pg_dump chosen for it.
func (l *Logger) Client(t pgpass.Entry, server pgclient.Version, c pgclient.Client) {
	if l.json != nil {
		l.json.Info("pg_dump chosen", "prefix", t.Prefix, "server_version", server.Text, "pg_dump_version", c.Version.Text, "pg_dump", c.PgDump)
		return
	}
	l.text("%s: server PostgreSQL %s, pg_dump %s (%s)", t.Prefix, server, c.Version, c.PgDump)
}

// Done logs a completed backup.
func (l *Logger) Done(t pgpass.Entry, i *catalog.Info) {
	if l.results != nil {
		l.results.Done(t, i)
	}
	d := i.Finished.Sub(i.Started)
	if l.json != nil {
		l.json.Info("backup done", "prefix", t.Prefix, "database", t.Database, "object", "s3://"+i.Bucket+"/"+i.Key,
			"plain_bytes", i.PlainSize, "stored_bytes", i.StoredSize, "ratio", ratio(i.StoredSize, i.PlainSize),
			"seconds", d.Seconds(), "plain_bytes_per_second", rate(i.PlainSize, d), "sha256", i.SHA256)
		return
	}
	l.text("%s: done: %s dumped, %s stored (%.1f%%) in %s, %s/s", t.Prefix,
		units.FormatSize(i.PlainSize), units.FormatSize(i.StoredSize), 100*ratio(i.StoredSize, i.PlainSize), d.Round(time.Millisecond), units.FormatSize(int64(rate(i.PlainSize, d))))
}

// Progress logs how far a running backup got.
func (l *Logger) Progress(t pgpass.Entry, plain, stored int64, d time.Duration) {
	if l.json != nil {
		l.json.Info("backup progress", "prefix", t.Prefix, "plain_bytes", plain, "stored_bytes", stored,
			"seconds", d.Seconds(), "plain_bytes_per_second", rate(plain, d))
		return
	}
	l.text("%s: %s dumped, %s stored so far, %s, %s/s", t.Prefix, units.FormatSize(plain), units.FormatSize(stored),
		d.Round(time.Second), units.FormatSize(int64(rate(plain, d))))
}

// Failed logs a failed backup (or verification): one line, and a hint
// line where the kind of failure names a likely mistake in the settings.
func (l *Logger) Failed(t pgpass.Entry, err error) {
	if l.results != nil {
		l.results.Failed(t, err)
	}
	msg := Printable(strings.ReplaceAll(err.Error(), "\n", "; "))
	hint := Hint(err)
	if l.json != nil {
		args := []any{"prefix", t.Prefix, "database", t.Database, "error", msg}
		if hint != "" {
			args = append(args, "hint", hint)
		}
		l.json.Error("backup failed", args...)
		return
	}
	l.text("error: %s: %s", t.Prefix, msg)
	if hint != "" {
		l.text("hint: %s: %s", t.Prefix, hint)
	}
}

// Summary logs the end of the job; pruned is nil when no retention rules
// are set.
func (l *Logger) Summary(total, ok int, failed []string, plain, stored int64, d time.Duration, pruned *PruneTotals) {
	if l.results != nil {
		l.results.Summary(total, ok, failed, plain, stored, d, pruned)
	}
	if l.json != nil {
		if failed == nil {
			failed = []string{} // [] in JSON, as a list of none
		}
		args := []any{"databases", total, "succeeded", ok, "failed", failed,
			"plain_bytes", plain, "stored_bytes", stored, "seconds", d.Seconds()}
		if pruned != nil {
			args = append(args, "retention_kept", pruned.Kept, "retention_deleted", pruned.Deleted, "retention_refused", pruned.Refused)
		}
		l.json.Info("job done", args...)
		return
	}
	ret := ""
	if pruned != nil {
		ret = fmt.Sprintf("; retention: %d backups kept, %d deleted", pruned.Kept, pruned.Deleted)
		if pruned.Refused > 0 {
			ret += fmt.Sprintf(", %d deletes refused", pruned.Refused)
		}
	}
	if len(failed) == 0 {
		l.text("%d of %d databases backed up: %s dumped, %s stored, in %s%s", ok, total, units.FormatSize(plain), units.FormatSize(stored), d.Round(time.Millisecond), ret)
		return
	}
	l.text("error: %d of %d databases failed (%s); %d backed up%s", len(failed), total, strings.Join(failed, ", "), ok, ret)
}

// Printable writes the control characters of s as Go escapes (\r,
// \x1b): an error may quote a name from the database, and a key in the
// bucket may be anyone's, whose carriage return or terminal escape could
// hide or rewrite the line shown.
func Printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < ' ' && r != '\t' || r >= 0x7f && r < 0xa0 }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Warn logs something worth a look that does not fail the run.
func (l *Logger) Warn(msg string) {
	if l.json != nil {
		l.json.Warn(msg)
		return
	}
	l.text("warning: %s", msg)
}

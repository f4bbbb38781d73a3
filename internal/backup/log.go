package backup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Logger writes the job's log: a line when a database starts, a line when it
// ends (sizes, ratio, duration, rate) or fails, and a summary. No line
// contains a password.
//
// Each method makes one event, a slog.Record whose message names it
// ("backup done") and whose attributes are its facts, and hands it to one
// handler: textHandler (log_text.go) prints it as a "tool: …" line like
// every message of the project's commands, slog's JSON handler as one JSON
// object per line (LOG_FORMAT=json).
type Logger struct {
	tool string
	h    slog.Handler
	// results also gets the result and summary events, as text; nil: none.
	results slog.Handler
	now     func() time.Time // the events' time; a test's hook
}

// NewLogger returns a logger writing to w, as JSON lines when asJSON.
func NewLogger(w io.Writer, tool string, asJSON bool) *Logger {
	l := &Logger{tool: tool, h: newTextHandler(w, tool), now: time.Now}
	if asJSON {
		l.h = slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: durationInSeconds})
	}
	return l
}

// durationInSeconds writes a duration in JSON as seconds, a float
// ("seconds":9.88), as the JSON lines always had it; the text line rounds it
// (9.877s).
func durationInSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.Float64Value(a.Value.Duration().Seconds())
	}
	return a
}

// TeeResults makes l also write its result and summary lines (a line per
// database and the run's last) to w, as text whatever l's format: the
// report a monitor gets. Call it before the run starts.
func (l *Logger) TeeResults(w io.Writer) { l.results = newTextHandler(w, l.tool) }

// Whether an event is a result, which TeeResults' writer also gets.
const (
	logOnly  = false
	isResult = true
)

// log writes one event. A handler's error (a write to stderr that failed)
// has nowhere to go.
func (l *Logger) log(result bool, level slog.Level, msg string, attrs ...slog.Attr) {
	r := slog.NewRecord(l.now(), level, msg, 0)
	r.AddAttrs(attrs...)
	if result && l.results != nil {
		_ = l.results.Handle(context.Background(), r.Clone())
	}
	_ = l.h.Handle(context.Background(), r)
}

// result logs a result or summary line of a verification, and tees it;
// "error: " starts a failure's.
func (l *Logger) result(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if rest, ok := strings.CutPrefix(msg, "error: "); ok {
		l.log(isResult, slog.LevelError, rest)
		return
	}
	l.log(isResult, slog.LevelInfo, msg)
}

// Warn logs something worth a look that does not fail the run.
func (l *Logger) Warn(msg string) { l.log(logOnly, slog.LevelWarn, msg) }

// PrefixWarn logs something about one prefix worth a look that does not
// fail it.
func (l *Logger) PrefixWarn(prefix, msg string) {
	l.log(logOnly, slog.LevelWarn, msg, slog.String("prefix", prefix))
}

// Start logs the start of a database's backup.
func (l *Logger) Start(t pgpass.Entry, bucket, key string) {
	l.log(logOnly, slog.LevelInfo, "backup started", slog.String("prefix", t.Prefix), slog.String("host", t.Host),
		slog.String("port", t.Port), slog.String("database", t.Database), slog.String("object", "s3://"+bucket+"/"+key))
}

// Client logs the server's version and the pg_dump chosen for it.
func (l *Logger) Client(t pgpass.Entry, server pgclient.Version, c pgclient.Client) {
	l.log(logOnly, slog.LevelInfo, "pg_dump chosen", slog.String("prefix", t.Prefix), slog.String("server_version", server.Text),
		slog.String("pg_dump_version", c.Version.Text), slog.String("pg_dump", c.PgDump))
}

// Done logs a completed backup.
func (l *Logger) Done(t pgpass.Entry, i *catalog.Info) {
	d := i.Finished.Sub(i.Started)
	l.log(isResult, slog.LevelInfo, "backup done", slog.String("prefix", t.Prefix), slog.String("database", t.Database),
		slog.String("object", "s3://"+i.Bucket+"/"+i.Key), slog.Int64("plain_bytes", i.PlainSize), slog.Int64("stored_bytes", i.StoredSize),
		slog.Float64("ratio", ratio(i.StoredSize, i.PlainSize)), slog.Duration("seconds", d),
		slog.Float64("plain_bytes_per_second", rate(i.PlainSize, d)), slog.String("sha256", i.SHA256))
}

// Progress logs how far a running backup got.
func (l *Logger) Progress(t pgpass.Entry, plain, stored int64, d time.Duration) {
	l.log(logOnly, slog.LevelInfo, "backup progress", slog.String("prefix", t.Prefix), slog.Int64("plain_bytes", plain),
		slog.Int64("stored_bytes", stored), slog.Duration("seconds", d), slog.Float64("plain_bytes_per_second", rate(plain, d)))
}

// Failed logs a failed backup (or verification): one line, and a hint
// line where the kind of failure names a likely mistake in the settings.
func (l *Logger) Failed(t pgpass.Entry, err error) {
	attrs := []slog.Attr{slog.String("prefix", t.Prefix), slog.String("database", t.Database),
		slog.String("error", Printable(strings.ReplaceAll(err.Error(), "\n", "; ")))}
	if hint := s3stream.Hint(err, config.S3Words); hint != "" {
		attrs = append(attrs, slog.String("hint", hint))
	}
	l.log(isResult, slog.LevelError, "backup failed", attrs...)
}

// Summary logs the end of the job; pruned is nil when no retention rules
// are set.
func (l *Logger) Summary(total, ok int, failed []string, plain, stored int64, d time.Duration, pruned *PruneTotals) {
	if failed == nil {
		failed = []string{} // [] in JSON, as a list of none
	}
	attrs := []slog.Attr{slog.Int("databases", total), slog.Int("succeeded", ok), slog.Any("failed", failed),
		slog.Int64("plain_bytes", plain), slog.Int64("stored_bytes", stored), slog.Duration("seconds", d)}
	if pruned != nil {
		attrs = append(attrs, slog.Int("retention_kept", pruned.Kept), slog.Int("retention_deleted", pruned.Deleted),
			slog.Int("retention_refused", pruned.Refused))
	}
	l.log(isResult, slog.LevelInfo, "job done", attrs...)
}

// GlobalsWithoutPasswords logs that pg_dumpall runs again without the
// roles' passwords.
func (l *Logger) GlobalsWithoutPasswords(t pgpass.Entry) {
	const reason = "the login may not read role passwords (pg_dumpall: permission denied for table pg_authid; not a superuser, as on managed services): saving the roles without their passwords (--no-role-passwords)"
	l.log(logOnly, slog.LevelWarn, "globals without role passwords", slog.String("prefix", t.Prefix), slog.String("reason", reason))
}

// GlobalsStarted logs the start of a '*' line's globals (LineGlobals):
// the server's, once for the line's databases.
func (l *Logger) GlobalsStarted(t pgpass.Entry, bucket, key string) {
	l.log(logOnly, slog.LevelInfo, "globals started", slog.String("prefix", t.Prefix), slog.String("host", t.Host),
		slog.String("port", t.Port), slog.String("object", "s3://"+bucket+"/"+key))
}

// GlobalsDone logs stored globals, and whether they hold the passwords.
func (l *Logger) GlobalsDone(t pgpass.Entry, i *catalog.Info) {
	passwords := i.RolePasswords == nil || *i.RolePasswords
	l.log(isResult, slog.LevelInfo, "globals done", slog.String("prefix", t.Prefix), slog.String("object", "s3://"+i.Bucket+"/"+i.Key),
		slog.Int64("plain_bytes", i.PlainSize), slog.Int64("stored_bytes", i.StoredSize), slog.Bool("role_passwords", passwords),
		slog.String("sha256", i.SHA256))
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

package backup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// textHandler prints the events of the job's log (log.go) as its text
// lines, "tool: " and what textLines makes of an event's facts. An event
// not in textLines is a sentence of its own (Warn, a verification's
// result): its prefix, if any, its level ("warning: ", "error: ") and its
// message.
type textHandler struct {
	tool  string
	mu    *sync.Mutex // shared by the handlers WithAttrs and WithGroup make
	w     io.Writer
	with  facts  // WithAttrs'
	group string // WithGroup's names, each followed by "."
}

func newTextHandler(w io.Writer, tool string) *textHandler {
	return &textHandler{tool: tool, mu: new(sync.Mutex), w: w}
}

func (h *textHandler) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs and WithGroup make the handler slog.Handler says; a fact in a
// group is named "group.key", as slog's TextHandler names it, and no
// event of the job's log is in one.
func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.with = facts{}
	maps.Copy(h2.with, h.with)
	for _, a := range as {
		h2.with.add(h.group, a)
	}
	return &h2
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group += name + "."
	return &h2
}

// Handle writes the lines of one event in one Write, so that the lines of
// events logged at once do not mix.
func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	f := facts{}
	maps.Copy(f, h.with)
	r.Attrs(func(a slog.Attr) bool {
		f.add(h.group, a)
		return true
	})
	out := textOut{tool: h.tool}
	if line, ok := textLines[r.Message]; ok {
		line(&out, f)
	} else {
		prefix := ""
		if f.has("prefix") {
			prefix = f.str("prefix") + ": "
		}
		switch {
		case r.Level >= slog.LevelError:
			prefix += "error: "
		case r.Level >= slog.LevelWarn:
			prefix += "warning: "
		}
		out.printf("%s%s", prefix, r.Message)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(out.buf)
	return err
}

// textOut collects the lines of one event.
type textOut struct {
	tool string
	buf  []byte
}

func (o *textOut) printf(format string, args ...any) {
	o.buf = append(o.buf, o.tool+": "...)
	o.buf = fmt.Appendf(o.buf, format, args...)
	o.buf = append(o.buf, '\n')
}

// textLines print the events of the job's log that are facts rather than
// a sentence, by message. The messages are the events' names in the JSON
// log too, which log queries match.
var textLines = map[string]func(o *textOut, f facts){
	"backup started": func(o *textOut, f facts) {
		// A database's name is its owner's to choose ('*' lines).
		o.printf("%s: backing up %s:%s/%s to %s", f.str("prefix"), f.str("host"), f.str("port"), Printable(f.str("database")), f.str("object"))
	},
	"globals started": func(o *textOut, f facts) {
		o.printf("%s: backing up the globals of %s:%s, once for the line's databases, to %s", f.str("prefix"), f.str("host"), f.str("port"), f.str("object"))
	},
	"pg_dump chosen": func(o *textOut, f facts) {
		o.printf("%s: server PostgreSQL %s, pg_dump %s (%s)", f.str("prefix"), f.str("server_version"), f.str("pg_dump_version"), f.str("pg_dump"))
	},
	"backup progress": func(o *textOut, f facts) {
		o.printf("%s: %s dumped, %s stored so far, %s, %s/s", f.str("prefix"), f.size("plain_bytes"), f.size("stored_bytes"),
			f.duration("seconds").Round(time.Second), units.FormatSize(int64(f.float("plain_bytes_per_second"))))
	},
	"backup done": func(o *textOut, f facts) {
		o.printf("%s: done: %s dumped, %s stored (%.1f%%) in %s, %s/s", f.str("prefix"), f.size("plain_bytes"), f.size("stored_bytes"),
			100*f.float("ratio"), f.duration("seconds").Round(time.Millisecond), units.FormatSize(int64(f.float("plain_bytes_per_second"))))
	},
	"backup failed": func(o *textOut, f facts) {
		o.printf("error: %s: %s", f.str("prefix"), f.str("error"))
		if f.has("hint") {
			o.printf("hint: %s: %s", f.str("prefix"), f.str("hint"))
		}
	},
	"job done": func(o *textOut, f facts) {
		ret := ""
		if f.has("retention_kept") {
			ret = fmt.Sprintf("; retention: %d backups kept, %d deleted", f.int("retention_kept"), f.int("retention_deleted"))
			if n := f.int("retention_refused"); n > 0 {
				ret += fmt.Sprintf(", %d deletes refused", n)
			}
		}
		failed := f.list("failed")
		if len(failed) == 0 {
			o.printf("%d of %d databases backed up: %s dumped, %s stored, in %s%s", f.int("succeeded"), f.int("databases"),
				f.size("plain_bytes"), f.size("stored_bytes"), f.duration("seconds").Round(time.Millisecond), ret)
			return
		}
		o.printf("error: %d of %d databases failed (%s); %d backed up%s", len(failed), f.int("databases"), strings.Join(failed, ", "), f.int("succeeded"), ret)
	},
	"globals without role passwords": func(o *textOut, f facts) {
		o.printf("%s: warning: %s", f.str("prefix"), f.str("reason"))
	},
	"globals done": func(o *textOut, f facts) {
		note := ""
		if !f.bool("role_passwords") {
			note = "; role passwords not included: set them after a restore"
		}
		o.printf("%s: globals done: %s, %s dumped, %s stored%s", f.str("prefix"), f.str("object"), f.size("plain_bytes"), f.size("stored_bytes"), note)
	},
	"retention deleted":      pruneDeleteLine,
	"retention would delete": pruneDeleteLine,
	"retention keeps": func(o *textOut, f facts) {
		if !f.has("mismatch") {
			o.printf("warning: %s: retention: keeps %s (%s), which no rule keeps: newer keys fill the rules", f.str("prefix"), f.str("object"), f.str("why"))
			return
		}
		// The manifest's key is anyone's who may write to the bucket.
		o.printf("warning: %s: retention: leaves %s alone (%s: %s)", f.str("prefix"), f.str("object"), f.str("why"), Printable(f.str("mismatch")))
	},
	"retention delete refused": func(o *textOut, f facts) {
		o.printf("warning: %s: retention: the store refused to delete %s (%s); it stays", f.str("prefix"), f.str("object"), f.str("reason"))
	},
	"retention keeps leftover": func(o *textOut, f facts) {
		o.printf("warning: %s: retention: keeps %s, which looks like a leftover: %s", f.str("prefix"), f.str("object"), f.str("reason"))
	},
	"retention one by one": func(o *textOut, f facts) {
		o.printf("%s: retention: %s; deleting one key at a time", f.str("prefix"), f.str("reason"))
	},
	"retention locked": func(o *textOut, f facts) {
		var lock []string
		if f.has("lock_mode") {
			lock = append(lock, f.str("lock_mode")+" lock until "+f.time("locked_until").UTC().Format("2006-01-02 15:04:05")+" UTC")
		}
		if f.bool("legal_hold") {
			lock = append(lock, "a legal hold")
		}
		verb := "keeps"
		if f.bool("dry_run") {
			verb = "would keep"
		}
		o.printf("%s: retention: %s %s, which no rule keeps: locked (%s)", f.str("prefix"), verb, f.str("object"), strings.Join(lock, ", "))
	},
	"retention applied": func(o *textOut, f facts) {
		deleted := "deleted"
		if f.bool("dry_run") {
			deleted = "to delete"
		}
		line := f.str("prefix") + ": retention (" + f.str("rules") + "): " + strconv.FormatInt(f.int("kept"), 10) + " backups kept, " + strconv.FormatInt(f.int("deleted"), 10) + " " + deleted
		if n := f.int("leftovers_deleted"); n > 0 {
			line += ", and " + strconv.FormatInt(n, 10) + " leftover objects"
		}
		if n := f.int("locked"); n > 0 {
			line += "; " + strconv.FormatInt(n, 10) + " locked, kept"
		}
		if n := f.int("refused"); n > 0 {
			line += "; " + strconv.FormatInt(n, 10) + " deletes refused"
		}
		o.printf("%s", line)
	},
	"retention done": func(o *textOut, f facts) {
		what := "deleted"
		if f.bool("dry_run") {
			what = "to delete"
		}
		failed := f.list("failed")
		switch {
		case len(failed) > 0:
			o.printf("error: retention failed for %d of %d prefixes (%s); %d backups kept, %d %s", len(failed), f.int("prefixes"), strings.Join(failed, ", "), f.int("kept"), f.int("deleted"), what)
		case f.int("refused") > 0:
			o.printf("error: retention: the store refused %d deletes (see the warnings); %d backups kept, %d deleted", f.int("refused"), f.int("kept"), f.int("deleted"))
		default:
			o.printf("retention of %d prefixes: %d backups kept, %d %s", f.int("prefixes"), f.int("kept"), f.int("deleted"), what)
		}
	},
}

func pruneDeleteLine(o *textOut, f facts) {
	what := "deleted"
	if f.bool("dry_run") {
		what = "would delete"
	}
	extra := ""
	if names := f.list("companions"); len(names) > 0 {
		extra = " with " + strings.Join(names, ", ")
	}
	o.printf("%s: retention: %s %s%s (%s)", f.str("prefix"), what, f.str("object"), extra, f.str("why"))
}

// facts are an event's attributes by name. A fact missing or of another
// kind reads as its kind's zero.
type facts map[string]slog.Value

func (f facts) add(group string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		f[group+a.Key] = v
		return
	}
	if a.Key != "" {
		group += a.Key + "."
	}
	for _, a := range v.Group() {
		f.add(group, a)
	}
}

func (f facts) has(k string) bool { _, ok := f[k]; return ok }

func (f facts) str(k string) string {
	if v, ok := f[k]; ok {
		return v.String()
	}
	return ""
}

func (f facts) int(k string) int64 {
	if v := f[k]; v.Kind() == slog.KindInt64 {
		return v.Int64()
	}
	return 0
}

func (f facts) size(k string) string { return units.FormatSize(f.int(k)) }

func (f facts) float(k string) float64 {
	if v := f[k]; v.Kind() == slog.KindFloat64 {
		return v.Float64()
	}
	return 0
}

func (f facts) duration(k string) time.Duration {
	if v := f[k]; v.Kind() == slog.KindDuration {
		return v.Duration()
	}
	return 0
}

func (f facts) time(k string) time.Time {
	if v := f[k]; v.Kind() == slog.KindTime {
		return v.Time()
	}
	return time.Time{}
}

func (f facts) bool(k string) bool {
	if v := f[k]; v.Kind() == slog.KindBool {
		return v.Bool()
	}
	return false
}

// list reads a list of names: a []string or companionNames.
func (f facts) list(k string) []string {
	if v := f[k]; v.Kind() == slog.KindAny {
		switch l := v.Any().(type) {
		case []string:
			return l
		case companionNames:
			return l
		}
	}
	return nil
}

package backup

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// RestoreChosen logs the backup a restore chose, with its manifest's facts
// (info, nil without one), before anything is written.
func (l *Logger) RestoreChosen(t pgpass.Entry, bucket string, b catalog.Backup, info *catalog.Info, database string, newer int, now time.Time) {
	attrs := []slog.Attr{slog.String("prefix", t.Prefix), slog.String("object", "s3://"+bucket+"/"+b.Key),
		slog.Time("started", b.Time), slog.String("age", catalog.Age(now, b.Time)), slog.Int64("stored_bytes", b.Size),
		slog.String("database", database), slog.Int("newer", newer), slog.Bool("manifest", info != nil)}
	if info != nil {
		var rows int64
		for _, n := range info.Rows {
			rows += n
		}
		attrs = append(attrs, slog.Int64("plain_bytes", info.PlainSize), slog.String("pg_dump_version", info.PgDumpVersion),
			slog.String("server_version", info.ServerVersion), slog.Int("tables", len(info.Rows)), slog.Int64("rows", rows))
	}
	l.log(logOnly, slog.LevelInfo, "restore chosen", attrs...)
}

// RestoreProgress logs how far a running restore got.
func (l *Logger) RestoreProgress(t pgpass.Entry, plain int64, d time.Duration) {
	l.log(logOnly, slog.LevelInfo, "restore progress", slog.String("prefix", t.Prefix), slog.Int64("plain_bytes", plain),
		slog.Duration("seconds", d), slog.Float64("plain_bytes_per_second", rate(plain, d)))
}

// RestoreDone logs a committed restore.
func (l *Logger) RestoreDone(t pgpass.Entry, bucket, key, database string, plain, tables, rows int64, d time.Duration) {
	l.log(isResult, slog.LevelInfo, "restore done", slog.String("prefix", t.Prefix), slog.String("object", "s3://"+bucket+"/"+key),
		slog.String("database", database), slog.Int64("plain_bytes", plain), slog.Int64("tables", tables), slog.Int64("rows", rows),
		slog.Duration("seconds", d), slog.Float64("plain_bytes_per_second", rate(plain, d)))
}

// RestoreRoles logs the globals a restore committed: the roles they
// created, and how many statements were left out (each logged as a
// warning before).
func (l *Logger) RestoreRoles(t pgpass.Entry, bucket, key string, created []string, skipped int) {
	if created == nil {
		created = []string{}
	}
	l.log(logOnly, slog.LevelInfo, "restore roles", slog.String("prefix", t.Prefix), slog.String("object", "s3://"+bucket+"/"+key),
		slog.Any("created", created), slog.Int("skipped", skipped))
}

func init() {
	textLines["restore roles"] = func(o *textOut, f facts) {
		created := "none"
		if names := f.list("created"); len(names) > 0 {
			created = Printable(strings.Join(names, ", "))
		}
		o.printf("%s: restored the roles of %s: created %s; %d statements left out", f.str("prefix"), f.str("object"), created, f.int("skipped"))
	}
	textLines["restore chosen"] = func(o *textOut, f facts) {
		what := fmt.Sprintf("%s old, %s stored", f.str("age"), f.size("stored_bytes"))
		if f.bool("manifest") {
			what += fmt.Sprintf(", %s dump by pg_dump %s of PostgreSQL %s", f.size("plain_bytes"), f.str("pg_dump_version"), f.str("server_version"))
			if f.int("tables") > 0 {
				what += fmt.Sprintf(", %d tables, %d rows", f.int("tables"), f.int("rows"))
			}
		} else {
			what += ", no manifest"
		}
		newer := ""
		if n := f.int("newer"); n > 0 {
			newer = fmt.Sprintf(" (%d newer backups are after the time asked for)", n)
		}
		o.printf("%s: restoring %s (%s) into %s%s", f.str("prefix"), f.str("object"), what, Printable(f.str("database")), newer)
	}
	textLines["restore progress"] = func(o *textOut, f facts) {
		o.printf("%s: %s restored so far, %s, %s/s", f.str("prefix"), f.size("plain_bytes"),
			f.duration("seconds").Round(time.Second), units.FormatSize(int64(f.float("plain_bytes_per_second"))))
	}
	textLines["restore done"] = func(o *textOut, f facts) {
		o.printf("%s: restored %s into %s: %s, %d tables, %d rows, row counts match the dump's, in %s, %s/s", f.str("prefix"), f.str("object"),
			Printable(f.str("database")), f.size("plain_bytes"), f.int("tables"), f.int("rows"), f.duration("seconds").Round(time.Millisecond),
			units.FormatSize(int64(f.float("plain_bytes_per_second"))))
	}
}

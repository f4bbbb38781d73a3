package backup

import (
	"cmp"
	"log/slog"
	"strconv"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// PruneDelete logs a backup that retention deletes (or, dry, would).
func (l *Logger) PruneDelete(prefix, bucket string, d catalog.Decision, dry bool) {
	b := d.Backup
	msg := "retention deleted"
	if dry {
		msg = "retention would delete"
	}
	names := make(companionNames, len(b.Companions))
	for i, c := range b.Companions {
		names[i] = c.Companion
	}
	l.log(logOnly, slog.LevelInfo, msg, slog.String("prefix", prefix), slog.String("object", "s3://"+bucket+"/"+b.Key),
		slog.Time("started", b.Time), slog.Bool("manifest", b.HasManifest), slog.Any("companions", names),
		slog.String("why", cmp.Or(strings.Join(d.Why, ", "), "kept by no rule")), slog.Bool("dry_run", dry))
}

// companionNames are a deleted backup's companions: the text line names
// them, the JSON line has always counted them.
type companionNames []string

func (c companionNames) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(len(c)), 10), nil
}

// PruneKept logs, as a warning, a backup that retention keeps for a reason
// other than its rules that calls for a look: its manifest describes
// another object (ReasonMismatch: left alone), or it is this run's own and
// newer keys fill the rules (catalog.ReasonThisRun).
func (l *Logger) PruneKept(prefix, bucket string, d catalog.Decision, dry bool) {
	b := d.Backup
	attrs := []slog.Attr{slog.String("prefix", prefix), slog.String("object", "s3://"+bucket+"/"+b.Key),
		slog.Time("started", b.Time), slog.String("why", strings.Join(d.Why, ", "))}
	if detail := b.Mismatched(); detail != "" {
		attrs = append(attrs, slog.String("mismatch", detail))
	}
	l.log(logOnly, slog.LevelWarn, "retention keeps", append(attrs, slog.Bool("dry_run", dry))...)
}

// PruneRefused logs a delete the store refused: a warning, not a failure.
func (l *Logger) PruneRefused(prefix, bucket, key, reason string) {
	l.log(logOnly, slog.LevelWarn, "retention delete refused", slog.String("prefix", prefix),
		slog.String("object", "s3://"+bucket+"/"+key), slog.String("reason", reason))
}

// PruneKeptLeftover logs an object that looks like a leftover and is kept
// (catalog.Pruner.keepLeftover): a warning, not a failure.
func (l *Logger) PruneKeptLeftover(prefix, bucket, key, why string) {
	l.log(logOnly, slog.LevelWarn, "retention keeps leftover", slog.String("prefix", prefix),
		slog.String("object", "s3://"+bucket+"/"+key), slog.String("reason", why))
}

// PruneOneByOne logs that the store did not take DeleteObjects, and
// that the keys are deleted one by one: no failure, a slower prune.
func (l *Logger) PruneOneByOne(prefix, bucket, why string) {
	l.log(logOnly, slog.LevelInfo, "retention one by one", slog.String("prefix", prefix), slog.String("bucket", bucket), slog.String("reason", why))
}

// PruneLocked logs a backup (or leftover) the rules do not keep and its
// object lock does: it stays, and that is no failure.
func (l *Logger) PruneLocked(prefix, bucket, key string, lock s3stream.Lock, dry bool) {
	attrs := []slog.Attr{slog.String("prefix", prefix), slog.String("object", "s3://"+bucket+"/"+key)}
	if lock.Mode != "" {
		attrs = append(attrs, slog.String("lock_mode", lock.Mode), slog.Time("locked_until", lock.Until))
	}
	l.log(logOnly, slog.LevelInfo, "retention locked", append(attrs, slog.Bool("legal_hold", lock.LegalHold), slog.Bool("dry_run", dry))...)
}

// Pruned logs what retention did for one prefix.
func (l *Logger) Pruned(r catalog.PruneResult, rules catalog.Rules, dry bool) {
	attrs := []slog.Attr{slog.String("prefix", r.Prefix), slog.String("rules", rules.String()),
		slog.Int("kept", r.Kept), slog.Int("deleted", r.Deleted), slog.Int("leftovers_deleted", r.Leftovers),
		slog.Int("refused", len(r.Refused))}
	if len(r.Locked) > 0 {
		attrs = append(attrs, slog.Int("locked", len(r.Locked)))
	}
	l.log(logOnly, slog.LevelInfo, "retention applied", append(attrs, slog.Bool("dry_run", dry))...)
}

// PruneSummary logs the end of a prune without a backup: totals over the
// prefixes, as an error line when a prefix failed or a delete was refused.
func (l *Logger) PruneSummary(prefixes, kept, deleted, refused int, failed []string, dry bool) {
	level := slog.LevelInfo
	if len(failed) > 0 || refused > 0 {
		level = slog.LevelError
	}
	l.log(logOnly, level, "retention done", slog.Int("prefixes", prefixes), slog.Int("kept", kept), slog.Int("deleted", deleted),
		slog.Int("refused", refused), slog.Any("failed", failed), slog.Bool("dry_run", dry))
}

package backup

import (
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"strconv"
	"strings"
)

// PruneDelete logs a backup that retention deletes (or, dry, would).
func (l *Logger) PruneDelete(prefix, bucket string, d catalog.Decision, dry bool) {
	b := d.Backup
	what := "deleted"
	if dry {
		what = "would delete"
	}
	why := "kept by no rule"
	if len(d.Why) > 0 {
		why = strings.Join(d.Why, ", ")
	}
	if l.json != nil {
		l.json.Info("retention "+what, "prefix", prefix, "object", "s3://"+bucket+"/"+b.Key,
			"started", b.Time, "manifest", b.HasManifest, "companions", len(b.Companions), "why", why, "dry_run", dry)
		return
	}
	extra := ""
	if n := len(b.Companions); n > 0 {
		names := make([]string, n)
		for i, c := range b.Companions {
			names[i] = c.Companion
		}
		extra = " with " + strings.Join(names, ", ")
	}
	l.text("%s: retention: %s s3://%s/%s%s (%s)", prefix, what, bucket, b.Key, extra, why)
}

// PruneKept logs, as a warning, a backup that retention keeps for a reason
// other than its rules that calls for a look: its manifest describes
// another object (ReasonMismatch: left alone), or it is this run's own and
// newer keys fill the rules (catalog.ReasonThisRun).
func (l *Logger) PruneKept(prefix, bucket string, d catalog.Decision, dry bool) {
	b := d.Backup
	why := strings.Join(d.Why, ", ")
	detail := b.Mismatched()
	if l.json != nil {
		args := []any{"prefix", prefix, "object", "s3://" + bucket + "/" + b.Key, "started", b.Time, "why", why}
		if detail != "" {
			args = append(args, "mismatch", detail)
		}
		l.json.Warn("retention keeps", append(args, "dry_run", dry)...)
		return
	}
	if detail == "" {
		l.text("warning: %s: retention: keeps s3://%s/%s (%s), which no rule keeps: newer keys fill the rules", prefix, bucket, b.Key, why)
		return
	}
	// The manifest's key is anyone's who may write to the bucket.
	l.text("warning: %s: retention: leaves s3://%s/%s alone (%s: %s)", prefix, bucket, b.Key, why, Printable(detail))
}

// PruneRefused logs a delete the store refused: a warning, not a failure.
func (l *Logger) PruneRefused(prefix, bucket, key, reason string) {
	if l.json != nil {
		l.json.Warn("retention delete refused", "prefix", prefix, "object", "s3://"+bucket+"/"+key, "reason", reason)
		return
	}
	l.text("warning: %s: retention: the store refused to delete s3://%s/%s (%s); it stays", prefix, bucket, key, reason)
}

// Pruned logs what retention did for one prefix.
func (l *Logger) Pruned(r catalog.PruneResult, rules catalog.Rules, dry bool) {
	deleted := "deleted"
	if dry {
		deleted = "to delete"
	}
	if l.json != nil {
		l.json.Info("retention applied", "prefix", r.Prefix, "rules", rules.String(), "kept", r.Kept, "deleted", r.Deleted,
			"leftovers_deleted", r.Leftovers, "refused", len(r.Refused), "dry_run", dry)
		return
	}
	line := strings.Builder{}
	line.WriteString(r.Prefix + ": retention (" + rules.String() + "): " + strconv.Itoa(r.Kept) + " backups kept, " + strconv.Itoa(r.Deleted) + " " + deleted)
	if r.Leftovers > 0 {
		line.WriteString(", and " + strconv.Itoa(r.Leftovers) + " leftover objects")
	}
	if n := len(r.Refused); n > 0 {
		line.WriteString("; " + strconv.Itoa(n) + " deletes refused")
	}
	l.text("%s", line.String())
}

// PruneSummary logs the end of a prune without a backup: totals over the
// prefixes, as an error line when a prefix failed or a delete was refused.
func (l *Logger) PruneSummary(prefixes, kept, deleted, refused int, failed []string, dry bool) {
	if l.json != nil {
		args := []any{"prefixes", prefixes, "kept", kept, "deleted", deleted, "refused", refused, "failed", failed, "dry_run", dry}
		if len(failed) > 0 || refused > 0 {
			l.json.Error("retention done", args...)
		} else {
			l.json.Info("retention done", args...)
		}
		return
	}
	what := "deleted"
	if dry {
		what = "to delete"
	}
	switch {
	case len(failed) > 0:
		l.text("error: retention failed for %d of %d prefixes (%s); %d backups kept, %d %s", len(failed), prefixes, strings.Join(failed, ", "), kept, deleted, what)
	case refused > 0:
		l.text("error: retention: the store refused %d deletes (see the warnings); %d backups kept, %d deleted", refused, kept, deleted)
	default:
		l.text("retention of %d prefixes: %d backups kept, %d %s", prefixes, kept, deleted, what)
	}
}

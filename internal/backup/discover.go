package backup

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/discover"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// resolve makes the targets of this run: the list's, with each '*' line
// replaced by the databases its server has now (package discover) and,
// with DUMP_GLOBALS, the line's globals (LineGlobals) before them, of
// this run's shard and prefix. Each line's find is logged. A line whose
// server cannot be listed, or that finds nothing, is a failed result of
// its own; the others go on. Found prefixes never collide with others:
// the list refuses prefixes in a '*' line's range (pgpass.Parse).
func (j *Job) resolve(ctx context.Context) (targets []pgpass.Entry, failed []Result, err error) {
	s := j.Settings
	connect := j.connect
	if connect == nil {
		connect = discover.DefaultConnect
	}
	var all []pgpass.Entry
	for _, t := range s.Targets {
		if !t.Discover {
			all = append(all, t)
		}
	}
	for _, line := range s.Targets {
		if !line.Discover {
			continue
		}
		mine := s.Shard == nil || s.Shard.Has(line.Prefix) // who reports the line's failure
		found := discover.Expand(ctx, line, s.Discovery, connect)
		found.Without(s.Listed)
		j.Log.Discovered(line, found)
		if found.Err != nil {
			if mine {
				failed = append(failed, Result{Target: line, Err: found.Err})
			}
			continue
		}
		for _, f := range found.Failed {
			if s.Shard == nil || s.Shard.Has(discover.Prefix(line.Prefix, f.Target.Database)) {
				failed = append(failed, Result{Target: f.Target, Err: f.Err})
				j.Log.Failed(f.Target, f.Err)
			}
		}
		if s.DumpGlobals && len(found.Targets) > 0 {
			// Once for the line, before its databases (globals.go).
			all = append(all, lineGlobalsTarget(line, found.Targets[0].Database))
		}
		all = append(all, found.Targets...)
	}
	for _, t := range all {
		switch {
		case !t.Discover && t.ListPrefix == "":
			targets = append(targets, t) // chosen by the settings already
		case s.Only != "" && t.Prefix != s.Only && t.ListPrefix != s.Only:
		case s.Shard != nil && !s.Shard.Has(t.Prefix):
		default:
			targets = append(targets, t)
		}
	}
	if s.Only != "" && len(targets) == 0 && len(failed) == 0 {
		return nil, nil, fmt.Errorf("unknown prefix %q: no database of its line's server has it", s.Only)
	}
	return targets, failed, nil
}

// Discovered logs what a '*' line found: "app: found 7 databases on
// db.example.com:5432, 2 excluded: test_a, test_b".
func (l *Logger) Discovered(line pgpass.Entry, f discover.Found) {
	names := make([]string, len(f.Targets))
	for i, t := range f.Targets {
		names[i] = t.Database
	}
	attrs := []slog.Attr{slog.String("prefix", line.Prefix), slog.String("host", line.Host), slog.String("port", line.Port),
		slog.Any("databases", names), slog.Any("excluded", append([]string{}, f.Excluded...)),
		slog.Any("not_connectable", append([]string{}, f.Closed...)), slog.Any("listed", append([]string{}, f.Listed...))}
	if f.Err != nil {
		l.log(logOnly, slog.LevelError, "databases not found", append(attrs, slog.String("error", f.Err.Error()))...)
		return
	}
	l.log(logOnly, slog.LevelInfo, "databases found", attrs...)
}

func init() {
	textLines["databases found"] = func(o *textOut, f facts) {
		line := fmt.Sprintf("%s: found %d databases on %s:%s", f.str("prefix"), len(f.list("databases")), f.str("host"), f.str("port"))
		if ex := f.list("excluded"); len(ex) > 0 {
			line += fmt.Sprintf(", %d excluded: %s", len(ex), Printable(strings.Join(ex, ", ")))
		}
		if l := f.list("listed"); len(l) > 0 {
			line += fmt.Sprintf(", %d backed up on lines of their own: %s", len(l), Printable(strings.Join(l, ", ")))
		}
		if cl := f.list("not_connectable"); len(cl) > 0 {
			line += fmt.Sprintf(", %d the user may not connect to: %s", len(cl), Printable(strings.Join(cl, ", ")))
		}
		if n := f.list("databases"); len(n) > 0 {
			line += ": " + Printable(strings.Join(n, ", "))
		}
		o.printf("%s", line)
	}
	textLines["databases not found"] = func(o *textOut, f facts) {
		o.printf("error: %s: finding the databases of %s:%s: %s", f.str("prefix"), f.str("host"), f.str("port"), Printable(f.str("error")))
	}
}

// BucketTargets makes the targets of a run that reads the bucket (verify,
// prune): the list's, with each '*' line replaced by the databases it has
// backups of, by their prefixes (those DATABASES_INCLUDE and
// DATABASES_EXCLUDE keep), of this run's shard and prefix. A database
// that is gone from its server keeps its backups, and so its target:
// verify -max-age tells that they stopped. A '*' line with no backups
// stays as it is, and fails as a prefix without backups does. The line's
// globals (LineGlobals) are a target of the line's shard before its
// databases, with DUMP_GLOBALS or while the bucket has some.
func BucketTargets(ctx context.Context, client *s3.Client, s *Settings) ([]pgpass.Entry, error) {
	if !slices.ContainsFunc(s.Targets, func(t pgpass.Entry) bool { return t.Discover }) {
		return s.Targets, nil
	}
	cat, err := catalog.Catalog(ctx, client, s.Bucket, s.KeyPrefix, "")
	if err != nil {
		return nil, err
	}
	prefixes := slices.Sorted(maps.Keys(cat))
	var out []pgpass.Entry
	for _, line := range s.Targets {
		if !line.Discover {
			out = append(out, line)
			continue
		}
		mine := s.Shard == nil || s.Shard.Has(line.Prefix)
		if mine && (s.Only == "" || s.Only == line.Prefix) && (s.DumpGlobals || slices.ContainsFunc(cat[line.Prefix], catalog.Backup.Alone)) {
			out = append(out, lineGlobalsTarget(line, "*"))
		}
		n := len(out)
		for _, p := range prefixes {
			name, ok := discover.Of(line.Prefix, p)
			if !ok || !s.Discovery.Keeps(name) || s.Only != "" && p != s.Only && line.Prefix != s.Only || s.Shard != nil && !s.Shard.Has(p) {
				continue
			}
			t := line
			t.Database, t.Prefix, t.ListPrefix, t.Discover = name, p, line.Prefix, false
			out = append(out, t)
		}
		if len(out) == n && mine {
			// No backups: the line (or the prefix asked for) fails as a
			// prefix without backups does.
			if s.Only != "" {
				line.Prefix = s.Only
			}
			out = append(out, line)
		}
	}
	return out, nil
}

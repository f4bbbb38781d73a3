package main

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// runList prints the backups in the bucket, as a table or as JSON.
func runList(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" list", usage, stderr)
	asJSON := fs.Bool("json", false, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return cli.Usagef("list: too many arguments: %s", cli.Args(fs.Args()))
	}
	// Listing needs no database list, but a scheduled "backup.sh list"
	// may be meant as the backup of a database whose prefix is "list".
	if err := config.CheckCommandPrefixes(os.Getenv, cli.JobCommands...); err != nil {
		return cli.Usage(err)
	}
	s, err := config.LoadStorage(os.Getenv)
	rules, rerr := config.LoadRules(os.Getenv)
	if err != nil || rerr != nil {
		return cli.Usage(errors.Join(err, rerr))
	}
	client, err := s3stream.NewClient(ctx, s3stream.Config{PathStyle: s.PathStyle, Bucket: s.Bucket})
	if err != nil {
		return cli.Usage(err)
	}
	cat, err := catalog.Catalog(ctx, client, s.Bucket, s.KeyPrefix, fs.Arg(0))
	if err != nil {
		return err
	}
	prefixes := slices.Sorted(maps.Keys(cat))
	// A key's name proves nothing: its manifest tells a copy of an older
	// backup under a newer name.
	all := make([][]catalog.Backup, len(prefixes))
	for i, p := range prefixes {
		all[i] = cat[p]
	}
	if err := catalog.CheckManifests(ctx, client, s.Bucket, all...); err != nil {
		return err
	}
	now := time.Now()
	// What the retention rules say of each backup, when rules are set.
	// With a list in the environment, only its prefixes are pruned: the
	// others' backups get no verdict.
	decided := map[string]catalog.Decision{}
	if rules.IsSet() {
		pruned := config.Prunes(os.Getenv)
		for p, bs := range cat {
			if pruned != nil && !pruned(p) {
				continue
			}
			for _, d := range rules.Apply(bs, now) {
				decided[d.Backup.Key] = d
			}
		}
	}
	l := &listing{bucket: s.Bucket, folder: s.KeyPrefix, cat: cat, prefixes: prefixes, now: now, rules: rules.IsSet(), decided: decided}
	// In a bucket with Object Lock, each backup's lock (one HEAD each).
	if bl, err := s3stream.ReadBucketLock(ctx, client, s.Bucket); err == nil && bl.Enabled {
		var keys []string
		for _, bs := range all {
			for _, b := range bs {
				keys = append(keys, b.Key)
			}
		}
		l.locks = catalog.ReadLocks(ctx, client, s.Bucket, keys)
	}
	if *asJSON {
		return l.writeJSON(stdout)
	}
	return l.writeTable(stdout, stderr)
}

// A listing is what list found: the backups by prefix, and what the
// retention rules say of each when rules are set.
type listing struct {
	bucket, folder string
	cat            map[string][]catalog.Backup
	prefixes       []string // cat's, sorted
	now            time.Time
	rules          bool                        // retention rules are set
	decided        map[string]catalog.Decision // by key; none for prefixes that are never pruned
	locks          map[string]s3stream.Lock    // by key; nil: the bucket has no Object Lock
}

// lockColumn is a backup's LOCK cell: "GOVERNANCE 2027-01-02 06:00",
// "+hold" for a legal hold, "-" when nothing keeps it now, "?" when its
// lock could not be read.
func (l *listing) lockColumn(key string) string {
	lock, ok := l.locks[key]
	switch {
	case !ok:
		return "?"
	case !lock.Locked(l.now):
		return "-"
	}
	var cell string
	if lock.Mode != "" && lock.Until.After(l.now) {
		cell = lock.Mode + " " + lock.Until.UTC().Format("2006-01-02 15:04")
	}
	if lock.LegalHold {
		cell = strings.TrimSpace(cell + " +hold")
	}
	return cell
}

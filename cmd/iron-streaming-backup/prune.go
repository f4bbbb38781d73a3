package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
)

// noRules is the error of a prune without retention rules.
const noRules = "no retention rules: set at least one of KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY or KEEP_WITHIN"

// runPrune applies the retention rules to the backups of the list's
// prefixes (or one) without backing up; with -dry-run it prints the keys
// it would delete on stdout and deletes nothing.
func runPrune(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" prune", usage, stderr)
	dryRun := fs.Bool("dry-run", false, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return cli.Usagef("prune: too many arguments: %s", cli.Args(fs.Args()))
	}
	s, client, err := load(ctx, config.ForPrune, fs.Arg(0), "prune", stderr)
	if s == nil {
		return err
	}
	if !s.Retention.IsSet() {
		return cli.Usagef("prune: %s", noRules)
	}
	if s.Targets, err = backup.BucketTargets(ctx, client, s); err != nil {
		return err
	}
	log := backup.NewLogger(stderr, tool, s.JSONLogs)
	p := &catalog.Pruner{Client: client, Bucket: s.Bucket, Folder: s.KeyPrefix, Rules: s.Retention, DryRun: *dryRun, Log: log}
	var failed []string
	var kept, deleted, refused int
	// A '*' line without backups of its databases may be a target twice,
	// as itself and as its globals' (backup.BucketTargets): one prefix,
	// pruned once.
	pruned := map[string]bool{}
	for _, t := range s.Targets {
		if pruned[t.Prefix] {
			continue
		}
		pruned[t.Prefix] = true
		res, err := p.Prune(ctx, t.Prefix, "")
		kept, deleted, refused = kept+res.Kept, deleted+res.Deleted, refused+len(res.Refused)
		if *dryRun {
			for _, k := range res.Keys {
				fmt.Fprintln(stdout, k)
			}
		}
		if err != nil {
			log.Failed(t, err)
			failed = append(failed, t.Prefix)
		}
	}
	log.PruneSummary(len(pruned), kept, deleted, refused, failed, *dryRun)
	if len(failed) > 0 || refused > 0 {
		return cli.Silent(false)
	}
	return nil
}

// keepColumn is list's RETENTION column: "keep: daily,weekly", or "delete"
// ("delete: empty" for an empty object).
func keepColumn(d catalog.Decision) string {
	if d.Keep {
		return "keep: " + strings.Join(d.Why, ",")
	}
	if len(d.Why) > 0 {
		return "delete: " + strings.Join(d.Why, ",")
	}
	return "delete"
}

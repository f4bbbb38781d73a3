package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/discover"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// expand replaces each '*' line of targets by the databases its server
// has now, as the backup job finds them (connecting as the line's user,
// with its password), filtered by DATABASES_INCLUDE and DATABASES_EXCLUDE
// and, when only is set, by that prefix. What each line found goes to
// stderr; a line whose server cannot be listed is an error, after the
// others.
// Databases with lines of their own in entries are left out, as the job
// leaves them out.
func expand(ctx context.Context, targets, entries []pgpass.Entry, only string, stderr io.Writer) ([]pgpass.Entry, error) {
	var f discover.Filter
	var err error
	if f.Include, err = discover.ParseGlobs(os.Getenv(config.EnvDatabasesInclude)); err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvDatabasesInclude, err)
	}
	if f.Exclude, err = discover.ParseGlobs(os.Getenv(config.EnvDatabasesExclude)); err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvDatabasesExclude, err)
	}
	var out []pgpass.Entry
	var errs []error
	lines := 0
	for _, t := range targets {
		if !t.Discover {
			out = append(out, t)
			continue
		}
		lines++
		found := discover.Expand(ctx, t, f, discover.DefaultConnect)
		found.Without(entries)
		if found.Err != nil {
			errs = append(errs, fmt.Errorf("line %d (%s): finding the databases of %s:%s: %w", t.Line, t.Prefix, t.Host, t.Port, found.Err))
			continue
		}
		fmt.Fprintf(stderr, "pgpass-expand: %s: found %d databases on %s:%s", t.Prefix, len(found.Targets), t.Host, t.Port)
		if len(found.Excluded) > 0 {
			fmt.Fprintf(stderr, ", %d excluded", len(found.Excluded))
		}
		if len(found.Listed) > 0 {
			fmt.Fprintf(stderr, ", %d on lines of their own: %s", len(found.Listed), backup.Printable(strings.Join(found.Listed, ", ")))
		}
		if len(found.Closed) > 0 {
			fmt.Fprintf(stderr, ", %d the user may not connect to: %s", len(found.Closed), backup.Printable(strings.Join(found.Closed, ", ")))
		}
		fmt.Fprintln(stderr)
		for _, fl := range found.Failed {
			errs = append(errs, fmt.Errorf("line %d (%s): %s", t.Line, t.Prefix, backup.Printable(fl.Err.Error())))
		}
		for _, d := range found.Targets {
			if only == "" || only == t.Prefix || only == d.Prefix {
				out = append(out, d)
			}
		}
	}
	if only != "" && lines > 0 && len(out) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("unknown prefix %q: no database of its line's server has it", only)
	}
	return out, errors.Join(errs...)
}

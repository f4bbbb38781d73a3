package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// writeTable prints the listing as a table, newest first per prefix, and
// a warning on stderr for each backup that is not what its name says.
func (l *listing) writeTable(stdout, stderr io.Writer) error {
	if len(l.prefixes) == 0 {
		fmt.Fprintf(stderr, "%s: no backups in s3://%s/%s\n", tool, l.bucket, l.folder)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	extra := companionColumns(l.cat, l.prefixes)
	retention := ""
	if l.rules {
		retention = "RETENTION\t"
	}
	lock := ""
	if l.locks != nil {
		lock = "LOCK\t"
	}
	fmt.Fprintln(tw, "PREFIX\tSTARTED (UTC)\tAGE\tSIZE\tMANIFEST\t"+companionHeads(extra)+lock+retention+"KEY")
	var future []string
	var mismatched []catalog.Backup // dumps and companions, each once
	warned := map[string]bool{}
	for _, p := range l.prefixes {
		for _, b := range l.cat[p] {
			m := "no"
			if b.HasManifest {
				m = "yes"
			}
			if b.Mismatch != "" {
				m = "MISMATCH"
			}
			for _, o := range append([]catalog.Backup{b}, b.Companions...) {
				if o.Mismatch != "" && !warned[o.Key] {
					warned[o.Key] = true
					mismatched = append(mismatched, o)
				}
			}
			age := catalog.Age(l.now, b.Time)
			if b.Future(l.now) {
				age = "FUTURE: " + age
				future = append(future, b.Key)
			}
			keep := ""
			if d, ok := l.decided[b.Key]; ok {
				keep = keepColumn(d) + "\t"
			} else if l.rules {
				keep = "-\t" // not in the list: never pruned
			}
			// Keys are anyone's who may write to the bucket: a terminal
			// escape in one must not rewrite what the table shows.
			lock := ""
			if l.locks != nil {
				lock = l.lockColumn(b.Key) + "\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%s%s%s\n", backup.Printable(b.Prefix), b.Time.Format("2006-01-02 15:04:05"), age, units.FormatSize(b.Size), m, companionCells(b, extra), lock, keep, backup.Printable(b.Key))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range future {
		fmt.Fprintf(stderr, "%s: warning: %s is dated ahead of this machine's clock; verify fails until it is removed or renamed\n", tool, backup.Printable(k))
	}
	for _, b := range mismatched {
		fmt.Fprintf(stderr, "%s: warning: %s: %s; it is not the backup its name says: retention leaves it alone, verify fails it\n", tool, backup.Printable(b.Key), backup.Printable(b.Mismatch))
	}
	return nil
}

package backup

import (
	"context"
	"fmt"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// PruneTotals add up what retention did in one run of the job.
type PruneTotals struct {
	Prefixes int // prefixes pruned
	Kept     int
	Deleted  int
	Refused  int // deletes the store refused
}

// prune applies the retention rules, when set, to the prefix of every
// target whose backup in this run was committed with its manifest, and to
// no other: a failed target (its Result has an error, whatever failed)
// prunes nothing, and neither does an interrupted run. Nothing here fails
// a backup: a refused delete or a failed listing is a warning.
func (j *Job) prune(ctx context.Context, results []Result) *PruneTotals {
	rules := j.Settings.Retention
	if !rules.IsSet() {
		return nil
	}
	p := &catalog.Pruner{Client: j.Client, Bucket: j.Settings.Bucket, Folder: j.Settings.KeyPrefix, Rules: rules, Log: j.Log, Now: j.now}
	t := &PruneTotals{}
	for _, r := range results {
		if r.Err != nil || r.Manifest == nil || r.Key == "" {
			continue
		}
		if ctx.Err() != nil {
			return t
		}
		res, err := p.Prune(ctx, r.Target.Prefix, r.Key)
		t.Kept += res.Kept
		t.Deleted += res.Deleted
		t.Refused += len(res.Refused)
		if err != nil {
			j.Log.Warn(fmt.Sprintf("%s: retention: %v", r.Target.Prefix, err))
			continue
		}
		t.Prefixes++
	}
	return t
}

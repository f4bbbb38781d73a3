package backup

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Sharding settings: a list too long for one runner's time window is split
// among several runs, each backing up a stable part of it.
const (
	envShard      = "SHARD"                // INDEX/COUNT, 0-based: this run's part
	envShardCount = "SHARD_COUNT"          // COUNT, with Kubernetes' index below
	envJobIndex   = "JOB_COMPLETION_INDEX" // set by Kubernetes in an Indexed Job
)

// Shard is one part of a list split COUNT ways.
type Shard struct {
	Index, Count int
}

func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.Index, sh.Count) }

// Has reports whether prefix belongs to this shard. A prefix's shard
// depends on the prefix and the count alone, so it is the same every day
// and adding or removing a line moves no other prefix.
func (sh Shard) Has(prefix string) bool {
	h := fnv.New64a()
	h.Write([]byte(prefix))
	return h.Sum64()%uint64(sh.Count) == uint64(sh.Index)
}

// loadShard reads SHARD, or SHARD_COUNT with JOB_COMPLETION_INDEX. ok is
// false when the run is not sharded.
func loadShard(getenv func(string) string) (sh Shard, ok bool, err error) {
	const hint = "want INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 2/8"
	if v := getenv(envShard); v != "" {
		i, c, found := strings.Cut(v, "/")
		sh.Index, err = strconv.Atoi(i)
		if err == nil {
			sh.Count, err = strconv.Atoi(c)
		}
		if !found || err != nil || sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
			return sh, false, fmt.Errorf("%s=%q: %s", envShard, v, hint)
		}
		return sh, true, nil
	}
	count := getenv(envShardCount)
	if count == "" {
		return sh, false, nil
	}
	if sh.Count, err = strconv.Atoi(count); err != nil || sh.Count < 1 {
		return sh, false, fmt.Errorf("%s=%q: want the number of shards, at least 1", envShardCount, count)
	}
	index := getenv(envJobIndex)
	if index == "" {
		return sh, false, fmt.Errorf("%s is set but %s is not: run it in an Indexed Job, or set %s=INDEX/COUNT", envShardCount, envJobIndex, envShard)
	}
	if sh.Index, err = strconv.Atoi(index); err != nil || sh.Index < 0 || sh.Index >= sh.Count {
		return sh, false, fmt.Errorf("%s=%q with %s=%d: the index must be 0 to %d (completions must equal %s)",
			envJobIndex, index, envShardCount, sh.Count, sh.Count-1, envShardCount)
	}
	return sh, true, nil
}

// shardTargets keeps the targets of this shard.
func shardTargets(targets []pgpass.Entry, sh Shard) []pgpass.Entry {
	var kept []pgpass.Entry
	for _, t := range targets {
		if sh.Has(t.Prefix) {
			kept = append(kept, t)
		}
	}
	return kept
}

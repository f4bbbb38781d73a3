package config

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Shard is one part of a list split COUNT ways: a list too long for one
// runner's time window is split among several runs, each backing up a
// stable part of it.
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

// targets keeps the targets of this shard, and the '*' lines, whose
// databases are each a target of their own once found.
func (sh Shard) targets(targets []pgpass.Entry) []pgpass.Entry {
	var kept []pgpass.Entry
	for _, t := range targets {
		if t.Discover || sh.Has(t.Prefix) {
			kept = append(kept, t)
		}
	}
	return kept
}

// loadShard reads SHARD, or SHARD_COUNT with JOB_COMPLETION_INDEX. ok is
// false when the run is not sharded (or the setting is bad, which is an
// error of e).
func loadShard(e *env) (sh Shard, ok bool) {
	const hint = "want INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 2/8"
	var err error
	if v := e.get(EnvShard); v != "" {
		i, c, found := strings.Cut(v, "/")
		sh.Index, err = strconv.Atoi(i)
		if err == nil {
			sh.Count, err = strconv.Atoi(c)
		}
		if !found || err != nil || sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count {
			e.bad("%s=%q: %s", EnvShard, v, hint)
			return sh, false
		}
		return sh, true
	}
	count := e.get(EnvShardCount)
	if count == "" {
		return sh, false
	}
	if sh.Count, err = strconv.Atoi(count); err != nil || sh.Count < 1 {
		e.bad("%s=%q: want the number of shards, at least 1", EnvShardCount, count)
		return sh, false
	}
	index := e.get(EnvJobIndex)
	if index == "" {
		e.bad("%s is set but %s is not: run it in an Indexed Job, or set %s=INDEX/COUNT", EnvShardCount, EnvJobIndex, EnvShard)
		return sh, false
	}
	if sh.Index, err = strconv.Atoi(index); err != nil || sh.Index < 0 || sh.Index >= sh.Count {
		e.bad("%s=%q with %s=%d: the index must be 0 to %d (completions must equal %s)",
			EnvJobIndex, index, EnvShardCount, sh.Count, sh.Count-1, EnvShardCount)
		return sh, false
	}
	return sh, true
}

// LoadShard reads the shard settings alone (pgpass-expand's SHARD): ok is
// false when the run is not sharded.
func LoadShard(getenv func(string) string) (sh Shard, ok bool, err error) {
	e := &env{getenv: getenv}
	sh, ok = loadShard(e)
	if len(e.errs) > 0 {
		return sh, false, e.errs[0]
	}
	return sh, ok, nil
}

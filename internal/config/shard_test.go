package config

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func listOf(prefixes []string) string {
	var b strings.Builder
	for _, p := range prefixes {
		fmt.Fprintf(&b, "db.example.com:5432:app:u:pw:%s\n", p)
	}
	return base64.StdEncoding.EncodeToString([]byte(b.String()))
}

func shardPrefixes(t *testing.T, env map[string]string) []string {
	t.Helper()
	s, err := Load(getenv(env), ForVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range s.Targets {
		got = append(got, tg.Prefix)
	}
	return got
}

// TestShards: every prefix lands in exactly one shard, the same one in
// every run, and adding lines moves no prefix that was there.
func TestShards(t *testing.T) {
	var prefixes []string
	for i := range 200 {
		prefixes = append(prefixes, fmt.Sprintf("db%03d", i))
	}
	const count = 8
	where := func(list []string) map[string]int {
		env := seedEnv()
		env["PGPASS_FILE_BASE64"] = listOf(list)
		in := map[string]int{}
		for i := range count {
			env["SHARD"] = fmt.Sprintf("%d/%d", i, count)
			for _, p := range shardPrefixes(t, env) {
				if j, dup := in[p]; dup {
					t.Fatalf("%s in shards %d and %d", p, j, i)
				}
				in[p] = i
			}
		}
		if len(in) != len(list) {
			t.Fatalf("%d of %d prefixes in a shard", len(in), len(list))
		}
		return in
	}
	before := where(prefixes)
	after := where(append([]string{"new1", "zz-new2"}, prefixes...))
	empty := 0
	for _, p := range prefixes {
		if before[p] != after[p] {
			t.Errorf("%s moved from shard %d to %d when lines were added", p, before[p], after[p])
		}
	}
	sizes := make([]int, count)
	for _, i := range before {
		sizes[i]++
	}
	for _, n := range sizes {
		if n == 0 {
			empty++
		}
	}
	if empty > 0 {
		t.Errorf("200 prefixes in 8 shards left %d empty: %v", empty, sizes)
	}

	// Kubernetes' Indexed Job: the same shards from SHARD_COUNT and the index.
	env := seedEnv()
	env["PGPASS_FILE_BASE64"] = listOf(prefixes)
	env["SHARD_COUNT"] = "8"
	env["JOB_COMPLETION_INDEX"] = "3"
	for _, p := range shardPrefixes(t, env) {
		if before[p] != 3 {
			t.Errorf("JOB_COMPLETION_INDEX=3 took %s of shard %d", p, before[p])
		}
	}
}

func TestShardErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		only string
		want string
	}{
		{map[string]string{"SHARD": "8/8"}, "", `SHARD="8/8": want INDEX/COUNT with 0 <= INDEX < COUNT`},
		{map[string]string{"SHARD": "1"}, "", `SHARD="1": want INDEX/COUNT`},
		{map[string]string{"SHARD": "-1/4"}, "", `SHARD="-1/4"`},
		{map[string]string{"SHARD": "a/b"}, "", `SHARD="a/b"`},
		{map[string]string{"SHARD": "0/4"}, "db1", "a prefix (db1) and SHARD both select databases"},
		{map[string]string{"SHARD_COUNT": "4"}, "", "SHARD_COUNT is set but JOB_COMPLETION_INDEX is not"},
		{map[string]string{"SHARD_COUNT": "0", "JOB_COMPLETION_INDEX": "0"}, "", `SHARD_COUNT="0"`},
		{map[string]string{"SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "4"}, "", `JOB_COMPLETION_INDEX="4" with SHARD_COUNT=4: the index must be 0 to 3`},
	} {
		env := seedEnv()
		for k, v := range tc.env {
			env[k] = v
		}
		if _, err := Load(getenv(env), ForVerify, tc.only); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
	// An index without a count is any Indexed Job's: not sharded.
	env := seedEnv()
	env["JOB_COMPLETION_INDEX"] = "2"
	if got := shardPrefixes(t, env); len(got) != 2 {
		t.Errorf("JOB_COMPLETION_INDEX alone: %v", got)
	}
	// A shard that holds none of a short list has nothing to do.
	env = seedEnv()
	env["SHARD"] = "0/50"
	for i := range 50 {
		env["SHARD"] = fmt.Sprintf("%d/50", i)
		s, err := Load(getenv(env), ForVerify, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Targets) == 0 {
			if !strings.Contains(s.Skipped, fmt.Sprintf("shard %d/50 holds none of the list's 2 databases", i)) {
				t.Errorf("skipped: %q", s.Skipped)
			}
			return
		}
	}
	t.Error("no empty shard among 50 for 2 databases")
}

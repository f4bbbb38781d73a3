package dumpstat

import (
	"math/rand/v2"
	"testing"
)

// TestClusterComplete: a counter for pg_dumpall's output takes its own
// completion comment, as a real comment only, and not pg_dump's.
func TestClusterComplete(t *testing.T) {
	// The end of pg_dumpall --globals-only of PostgreSQL 15.20.
	const end = "GRANT app_owner TO app_user GRANTED BY admin;\n\n\n\n\\unrestrict ik5E\n\n--\n" + ClusterComplete + "\n--\n\n"
	for _, tc := range []struct {
		name     string
		dump     string
		complete bool
	}{
		{"complete", "--\n-- PostgreSQL database cluster dump\n--\n\n" + end, true},
		{"without the final newline", "--\n" + ClusterComplete, true},
		{"cut before the completion comment", "--\n-- PostgreSQL database cluster dump\n--\n\nCREATE ROLE a;\n", false},
		{"pg_dump's completion comment", "--\n" + Complete + "\n--\n", false},
		{"inside a role's comment", "COMMENT ON ROLE a IS '\n" + ClusterComplete + "\n--\n", false},
		{"inside a quoted name", "CREATE ROLE \"\n" + ClusterComplete + "\n", false},
		{"a statement after it", "--\n" + ClusterComplete + "\n--\nCREATE ROLE b;\n", false},
		{"a longer comment", "--\n" + ClusterComplete + " not\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 2, 7, 1 << 20} {
				c := NewCounterEnding(ClusterComplete)
				writeChunked(c, []byte(tc.dump), rand.New(rand.NewPCG(1, 2)), step)
				if c.Complete() != tc.complete {
					t.Errorf("step %d: complete %v, want %v", step, c.Complete(), tc.complete)
				}
			}
		})
	}
	if c := NewCounter(); func() bool { c.Write([]byte("--\n" + ClusterComplete + "\n")); return c.Complete() }() {
		t.Error("pg_dump's counter took pg_dumpall's completion comment")
	}
}

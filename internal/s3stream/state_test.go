package s3stream

import (
	"slices"
	"sync"
	"testing"
)

// TestSetState tries every transition between two states: those of
// nextStates happen, every other one panics and leaves the state as it was.
func TestSetState(t *testing.T) {
	for from := range uploadState(len(nextStates)) {
		for to := range uploadState(len(nextStates)) {
			w := &Writer{state: from}
			w.cond = sync.NewCond(&w.mu)
			allowed := slices.Contains(nextStates[from], to)
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				w.setState(to)
				return false
			}()
			if panicked == allowed {
				t.Errorf("%v → %v: panicked %v, allowed %v", from, to, panicked, allowed)
			}
			if want := map[bool]uploadState{true: to, false: from}[allowed]; w.state != want {
				t.Errorf("%v → %v: state %v, want %v", from, to, w.state, want)
			}
		}
	}
	if len(stateNames) != len(nextStates) {
		t.Errorf("%d state names for %d states", len(stateNames), len(nextStates))
	}
}

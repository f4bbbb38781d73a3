package s3stream

import (
	"fmt"
	"slices"
)

// uploadState is where a Writer's upload stands. It is guarded by
// Writer.mu and changes only through setState, along the transitions of
// nextStates.
//
//   - open: Write and ReadFrom fill parts, and full parts upload in the
//     background; a multipart upload may have been created.
//   - committing: Close waits for the part uploads, then sends the commit
//     (PutObject or CompleteMultipartUpload) and, with NoOverwrite, reads
//     the object back. An error meanwhile (Abort, the cancelled context, a
//     failed part) is recorded and cancels the requests, but the commit
//     alone decides the next state: a commit already sent may have
//     succeeded all the same.
//   - committed: the commit succeeded. Final: later errors and Abort
//     change nothing, and Abort returns ErrCommitted.
//   - replaced: the commit succeeded, but reading the object back found
//     another writer's object at the key. Close fails with an
//     *ExistsError, and the clean-up leaves the key alone: nothing of this
//     writer's is left.
//   - failed: the upload is never committed. The first error is recorded
//     (Writer.err), the writer's context is cancelled, every call returns
//     the error, and the clean-up aborts what is on the server.
//   - cleaned: the clean-up of a failed or replaced upload finished and
//     left its own error, if any, in Writer.cleanupErr. Final.
//
// The transitions:
//
//	open       → committing  Close, when no error was recorded
//	open       → failed      the first error
//	committing → committed   the commit succeeded
//	committing → replaced    the commit succeeded, another writer's object replaced it
//	committing → failed      the commit failed, or was never sent
//	replaced   → cleaned     the clean-up found nothing to do
//	failed     → cleaned     the clean-up finished
//
// No other: a failed writer never commits (Close starts with the sticky
// error), and a committed one never fails (failLocked ignores errors after
// the commit).
type uploadState uint8

const (
	stateOpen uploadState = iota
	stateCommitting
	stateCommitted
	stateReplaced
	stateFailed
	stateCleaned
)

var stateNames = [...]string{
	stateOpen:       "open",
	stateCommitting: "committing",
	stateCommitted:  "committed",
	stateReplaced:   "replaced",
	stateFailed:     "failed",
	stateCleaned:    "cleaned",
}

func (s uploadState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("uploadState(%d)", s)
}

// nextStates lists, for each state, the states it may change to.
var nextStates = [...][]uploadState{
	stateOpen:       {stateCommitting, stateFailed},
	stateCommitting: {stateCommitted, stateReplaced, stateFailed},
	stateCommitted:  nil,
	stateReplaced:   {stateCleaned},
	stateFailed:     {stateCleaned},
	stateCleaned:    nil,
}

// setState moves the upload to state to, waking whoever waits for it (the
// clean-up waits for the commit's outcome). Any other transition than
// those of nextStates is a bug in this package, and panics. w.mu is held.
func (w *Writer) setState(to uploadState) {
	if !slices.Contains(nextStates[w.state], to) {
		panic(fmt.Sprintf("s3stream: upload state %v cannot change to %v", w.state, to))
	}
	w.state = to
	w.cond.Broadcast()
}

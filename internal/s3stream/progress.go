package s3stream

import (
	"sync"
	"time"
)

// Progress is a snapshot of a transfer.
type Progress struct {
	Bytes       int64         // bytes written to the Writer, or read from the Reader
	Transferred int64         // bytes in parts uploaded, or ranges downloaded
	Parts       int           // parts (ranges) done
	PartSize    int64         // size of the current part (range)
	Total       int64         // object size for a Reader; -1 for a Writer
	Elapsed     time.Duration // since the Writer or Reader was made
	Done        bool          // the last call
}

// progressInterval is the time between two progress reports.
const progressInterval = 250 * time.Millisecond

// ticker reports a transfer's progress from one goroutine: every
// progressInterval, and once more with Done set when stopped. A nil
// *ticker does nothing.
type ticker struct {
	once sync.Once
	end  chan struct{} // closed to stop the reports
	done chan struct{} // closed after the last report
}

// startTicker calls report with snapshot's Progress until stop is called
// or abandon is closed (a nil channel never is), then once more with Done
// set. It returns nil when report is nil.
func startTicker(report func(Progress), snapshot func(done bool) Progress, abandon <-chan struct{}) *ticker {
	if report == nil {
		return nil
	}
	t := &ticker{end: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				report(snapshot(false))
			case <-t.end:
				report(snapshot(true))
				return
			case <-abandon:
				report(snapshot(true))
				return
			}
		}
	}()
	return t
}

// stop makes the last report, unless it was made already, and waits for
// it.
func (t *ticker) stop() {
	if t == nil {
		return
	}
	t.once.Do(func() { close(t.end) })
	<-t.done
}

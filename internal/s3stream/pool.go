package s3stream

import (
	"context"
	"sync"
)

// pool hands out chunks for part buffers and takes them back for reuse.
// It allocates a new chunk only while the bytes allocated stay within the
// limit; otherwise get waits for a chunk to come back. Chunks are never
// freed before the pool is dropped, so the limit bounds the memory the pool
// ever holds.
type pool struct {
	ctx       context.Context
	mu        sync.Mutex
	cond      *sync.Cond
	free      [][]byte
	allocated int64
	limit     int64
	peak      int64
}

// newPool returns a pool whose waits end when ctx is done.
func newPool(ctx context.Context, limit int64) *pool {
	p := &pool{ctx: ctx, limit: limit}
	p.cond = sync.NewCond(&p.mu)
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	return p
}

// setLimit changes the cap on allocated bytes. Lowering it below what is
// allocated frees nothing; it only stops new allocations.
func (p *pool) setLimit(limit int64) {
	p.mu.Lock()
	p.limit = limit
	p.cond.Broadcast()
	p.mu.Unlock()
}

// get returns a chunk, waiting while none is free and the limit is reached.
func (p *pool) get() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if err := p.ctx.Err(); err != nil {
			return nil, context.Cause(p.ctx)
		}
		if n := len(p.free); n > 0 {
			c := p.free[n-1]
			p.free = p.free[:n-1]
			return c, nil
		}
		if p.allocated+chunkSize <= p.limit || p.allocated == 0 {
			p.allocated += chunkSize
			p.peak = max(p.peak, p.allocated)
			return make([]byte, chunkSize), nil
		}
		p.cond.Wait()
	}
}

// fill adds chunks to b until it can hold size bytes.
func (p *pool) fill(b *buffer, size int64) error {
	for int64(len(b.chunks))*chunkSize < size {
		c, err := p.get()
		if err != nil {
			return err
		}
		b.chunks = append(b.chunks, c)
	}
	return nil
}

// put takes back b's chunks and empties b.
func (p *pool) put(b *buffer) {
	if b == nil || len(b.chunks) == 0 {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, b.chunks...)
	p.cond.Broadcast()
	p.mu.Unlock()
	b.chunks, b.n = nil, 0
}

// peakBytes is the most the pool ever had allocated.
func (p *pool) peakBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

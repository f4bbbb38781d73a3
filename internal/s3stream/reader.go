package s3stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ReaderOptions tune a Reader. The zero value downloads with the defaults.
type ReaderOptions struct {
	// Concurrency is how many ranges download ahead of the one being
	// read (DefaultConcurrency when 0): up to Concurrency + 1 ranged GETs
	// run at the same time.
	Concurrency int
	// RangeSize is the size of one ranged GET (DefaultRangeSize when 0).
	// Memory is bounded by (Concurrency + 1) × RangeSize.
	RangeSize int64
	// Verify, when set, is the object's manifest: NewReader fails when the
	// sizes differ, and the Read that reaches the end returns a
	// *ChecksumError instead of io.EOF when size or SHA-256 differ.
	Verify *Manifest
	// Progress, when set, is called about four times a second from one
	// goroutine while the download runs, and once more with Done set.
	Progress func(Progress)
}

// Reader downloads one object with parallel ranged GETs and returns its
// bytes in order. Every range is pinned to the object's ETag, so an object
// replaced during the download fails it instead of mixing two versions.
// Ranges that fail are tried again from where they broke off. Errors are
// sticky.
type Reader struct {
	client      *s3.Client
	bucket, key string
	opts        ReaderOptions
	ctx         context.Context
	cancel      context.CancelCauseFunc
	pool        *pool
	start       time.Time
	size        int64
	etag        string
	nRanges     int

	sem   chan struct{} // a slot per range fetched or not yet consumed
	queue chan *fetch   // ranges in order
	wg    sync.WaitGroup

	// Owned by the reading goroutine.
	cur    *fetch
	curOff int64
	next   int
	sha    hash.Hash
	err    error

	read    atomic.Int64 // bytes handed to the caller
	fetched atomic.Int64
	ranges  atomic.Int32

	ticker *ticker // progress reports, or nil
}

type fetch struct {
	start, n int64
	buf      buffer
	err      error
	done     chan struct{}
}

// NewReader opens s3://bucket/key for reading. It fails when the object
// does not exist or, with opts.Verify set, has another size than the
// manifest says. Close releases the Reader.
func NewReader(ctx context.Context, client *s3.Client, bucket, key string, opts ReaderOptions) (*Reader, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.RangeSize <= 0 {
		opts.RangeSize = DefaultRangeSize
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		if s := httpStatus(err); s >= 400 && s < 500 {
			// The answer to a HEAD has no body, so no error code: a
			// missing bucket, a missing key and an unknown access key
			// may all be a bare 404. A GET of one byte tells which.
			out, gerr := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String("bytes=0-0")})
			if gerr == nil {
				out.Body.Close()
			} else if apiCode(gerr) != "InvalidRange" {
				err = gerr
			}
		}
		return nil, describe("download", bucket, key, err)
	}
	r := &Reader{
		client: client, bucket: bucket, key: key, opts: opts,
		start: time.Now(), size: aws.ToInt64(head.ContentLength), etag: aws.ToString(head.ETag),
		sha: sha256.New(),
	}
	if v := opts.Verify; v != nil && v.Size != r.size {
		return nil, &ChecksumError{Bucket: bucket, Key: key, Size: r.size, WantSize: v.Size, Stale: v.ETag != "" && v.ETag != r.etag}
	}
	r.nRanges = int((r.size + opts.RangeSize - 1) / opts.RangeSize)
	window := opts.Concurrency + 1
	rangeBytes := (opts.RangeSize + chunkSize - 1) / chunkSize * chunkSize
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	r.pool = newPool(r.ctx, int64(window)*rangeBytes)
	r.sem = make(chan struct{}, window)
	r.queue = make(chan *fetch, window)
	r.wg.Add(1)
	go r.dispatch()
	r.ticker = startTicker(opts.Progress, r.progress, nil)
	return r, nil
}

// Size is the object's size.
func (r *Reader) Size() int64 { return r.size }

// ETag is the object's ETag.
func (r *Reader) ETag() string { return r.etag }

// dispatch starts one fetch per range, in order, while slots are free.
func (r *Reader) dispatch() {
	defer r.wg.Done()
	defer close(r.queue)
	for k := 0; k < r.nRanges; k++ {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		start := int64(k) * r.opts.RangeSize
		f := &fetch{start: start, n: min(r.opts.RangeSize, r.size-start), done: make(chan struct{})}
		r.queue <- f // never blocks: the queue holds as many as there are slots
		r.wg.Add(1)
		go r.fetch(f)
	}
}

// fetch downloads one range into its buffer, resuming after failures.
func (r *Reader) fetch(f *fetch) {
	defer r.wg.Done()
	defer close(f.done)
	if err := r.pool.fill(&f.buf, f.n); err != nil {
		f.err = r.abortError()
		return
	}
	attempt := 0
	for f.buf.n < f.n {
		attempt++
		got := f.buf.n
		actx, cancel := context.WithTimeout(r.ctx, attemptTimeout(f.n-got))
		err := r.get(actx, f)
		retry := err != nil && (transient(r.ctx, actx, err) || (r.ctx.Err() == nil && brokenConnection(err)))
		cancel()
		if err == nil {
			continue
		}
		if f.buf.n > got {
			attempt = 1 // progress was made; this is a new failure
		}
		if r.ctx.Err() != nil {
			f.err = r.abortError()
			return
		}
		if !retry || attempt >= ownAttempts+sdkAttempts {
			f.err = describe("download", r.bucket, r.key, err)
			return
		}
		if err := sleep(r.ctx, ownBackoff(attempt)/4); err != nil {
			f.err = r.abortError()
			return
		}
	}
	r.fetched.Add(f.n)
	r.ranges.Add(1)
}

// get requests the rest of f's range and reads it into f's buffer.
func (r *Reader) get(ctx context.Context, f *fetch) error {
	from, to := f.start+f.buf.n, f.start+f.n-1
	out, err := r.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket:  &r.bucket,
		Key:     &r.key,
		Range:   aws.String(fmt.Sprintf("bytes=%d-%d", from, to)),
		IfMatch: aws.String(r.etag),
	})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	if cl := aws.ToInt64(out.ContentLength); cl != to-from+1 {
		return fmt.Errorf("range %d-%d: the server sent %d bytes", from, to, cl)
	}
	for f.buf.n < f.n {
		off := f.buf.n
		c := f.buf.chunks[off/chunkSize]
		end := min(int64(len(c)), f.n-off/chunkSize*chunkSize)
		k, err := out.Body.Read(c[off%chunkSize : end])
		f.buf.n += int64(k)
		if err == io.EOF {
			if f.buf.n < f.n {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) abortError() error {
	return fmt.Errorf("download s3://%s/%s aborted: %w", r.bucket, r.key, context.Cause(r.ctx))
}

// current returns the range being consumed, waiting for it; nil at the end.
func (r *Reader) current() (*fetch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.cur != nil {
		return r.cur, nil
	}
	if r.next == r.nRanges {
		r.err = r.finish()
		return nil, r.err
	}
	if r.ctx.Err() != nil {
		r.err = r.abortError()
		return nil, r.err
	}
	var f *fetch
	select {
	case g, ok := <-r.queue:
		if !ok {
			// dispatch stops early only when the context was cancelled.
			r.err = r.abortError()
			return nil, r.err
		}
		f = g
	case <-r.ctx.Done():
		r.err = r.abortError()
		return nil, r.err
	}
	select {
	case <-f.done:
	case <-r.ctx.Done():
		r.err = r.abortError()
		return nil, r.err
	}
	if f.err != nil {
		r.err = f.err
		r.cancel(f.err)
		return nil, r.err
	}
	r.cur, r.curOff = f, 0
	return f, nil
}

// consumed accounts for b, just handed to the caller.
func (r *Reader) consumed(b []byte) {
	r.sha.Write(b)
	r.curOff += int64(len(b))
	r.read.Add(int64(len(b)))
	if r.curOff == r.cur.n {
		r.pool.put(&r.cur.buf)
		r.cur = nil
		r.next++
		<-r.sem
	}
}

// segment is the unread part of the current range's chunk at curOff.
func (r *Reader) segment() []byte {
	c := r.cur.buf.chunks[r.curOff/chunkSize]
	base := r.curOff / chunkSize * chunkSize
	return c[r.curOff-base : min(int64(len(c)), r.cur.n-base)]
}

// Read reads the object's next bytes. At the end it returns io.EOF, or a
// *ChecksumError when the bytes differ from opts.Verify.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, r.err
	}
	if _, err := r.current(); err != nil {
		return 0, err
	}
	n := copy(p, r.segment())
	r.consumed(p[:n])
	return n, nil
}

// WriteTo writes the rest of the object to w, straight from the range
// buffers. Like Read, it fails with a *ChecksumError on a mismatch.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if _, err := r.current(); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
		seg := r.segment()
		n, err := w.Write(seg)
		total += int64(n)
		if n > 0 {
			r.consumed(seg[:n])
		}
		if err != nil {
			r.err = err
			r.cancel(err)
			return total, err
		}
	}
}

// finish checks the whole download once every range was read.
func (r *Reader) finish() error {
	if v := r.opts.Verify; v != nil {
		if err := v.Check(r.read.Load(), hex.EncodeToString(r.sha.Sum(nil))); err != nil {
			var ce *ChecksumError
			if errors.As(err, &ce) {
				ce.Bucket, ce.Key = r.bucket, r.key
				ce.Stale = v.ETag != "" && v.ETag != r.etag
			}
			return err
		}
	}
	r.ticker.stop()
	return io.EOF
}

// Result describes the download after Read returned io.EOF.
func (r *Reader) Result() Result {
	return Result{
		Bucket: r.bucket, Key: r.key, Size: r.read.Load(), SHA256: hex.EncodeToString(r.sha.Sum(nil)),
		Parts: r.nRanges, PartSize: min(r.opts.RangeSize, r.size), ETag: r.etag,
		PeakBuffers: r.pool.peakBytes(),
	}
}

// Close stops the download and releases its buffers. It does not close
// anything the bytes were written to.
func (r *Reader) Close() error {
	r.cancel(errors.New("reader closed"))
	r.wg.Wait()
	r.ticker.stop()
	return nil
}

func (r *Reader) progress(done bool) Progress {
	return Progress{
		Bytes:       r.read.Load(),
		Transferred: r.fetched.Load(),
		Parts:       int(r.ranges.Load()),
		PartSize:    r.opts.RangeSize,
		Total:       r.size,
		Elapsed:     time.Since(r.start),
		Done:        done,
	}
}

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

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Writer uploads a stream of unknown length to one S3 object. It buffers
// the stream in parts (a single PutObject when the stream fits in one part,
// a multipart upload otherwise), uploads several parts at once, and
// completes the upload only in Close. Abort, a cancelled context, or any
// failure abort it instead: no object is created and no unfinished
// multipart upload is left behind. An object that was at the key before
// is never removed; when the clean-up cannot tell it from one this writer
// created, it reports an error.
//
// Write, ReadFrom and Close are called from one goroutine; Abort may be
// called from any goroutine at any time. Errors are sticky: after the first
// one, every call returns it.
type Writer struct {
	client      *s3.Client
	bucket, key string
	opts        WriterOptions
	ctx         context.Context
	cancel      context.CancelCauseFunc
	pool        *pool
	start       time.Time

	// Owned by the writing goroutine.
	cur     *buffer // part being filled
	curSize int64   // its planned size
	next    int     // its number
	sha     hash.Hash
	// closed records the caller's Close, which a failed writer gets too:
	// it is the caller's side, not the upload's state. closeErr is what
	// Close returned, and returns again.
	closed   bool
	closeErr error

	written  atomic.Int64 // Stored
	uploaded atomic.Int64
	done     atomic.Int32
	partNow  atomic.Int64 // curSize, for progress reports

	mu          sync.Mutex
	cond        *sync.Cond
	state       uploadState // see state.go
	err         error       // first failure
	busy        int         // requests that may create server state: uploads, create, commit
	mp          multipart
	commitSent  atomic.Int32 // commit attempts that may have reached the server
	prior       objectState  // the object at the key before the commit
	priorKnown  bool         // prior was read
	singleSum   []byte       // checksum of a single PutObject
	algo        string       // part checksum in use: ChecksumMD5 or ChecksumCRC32C
	cleanupOnce sync.Once
	cleanupDone chan struct{}
	cleanupErr  error
	result      Result

	ticker *ticker // progress reports, or nil
}

// NewWriter starts an upload to s3://bucket/key. Nothing is sent before the
// first part is full or Close is called. Cancelling ctx aborts the upload.
func NewWriter(ctx context.Context, client *s3.Client, bucket, key string, opts WriterOptions) *Writer {
	verr := opts.Validate()
	opts = opts.withDefaults()
	w := &Writer{
		client: client, bucket: bucket, key: key, opts: opts,
		next: 1, sha: sha256.New(), start: time.Now(),
		cleanupDone: make(chan struct{}),
	}
	w.cond = sync.NewCond(&w.mu)
	w.algo = opts.PartChecksum
	if w.algo == "" {
		w.algo = ChecksumCRC32C
	}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.pool = newPool(w.ctx, memoryLimit(partSize(1, opts.MaxMemory, opts.MaxParts), opts.MaxMemory, opts.Concurrency))
	context.AfterFunc(w.ctx, func() { w.fail(w.abortError()) })
	// A failed writer's caller may never call Close or Abort: the
	// clean-up's end ends the reports too.
	w.ticker = startTicker(opts.Progress, w.progress, w.cleanupDone)
	if verr != nil {
		w.fail(verr)
	}
	return w
}

// Write buffers p and uploads the parts it fills.
func (w *Writer) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		t, err := w.space()
		if err != nil {
			return n, err
		}
		k := copy(t, p)
		w.advance(t[:k])
		p = p[k:]
		n += k
	}
	return n, w.sticky()
}

// ReadFrom reads r until EOF straight into part buffers, saving the copy
// through io.Copy's buffer. It returns r's error, or the upload's.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		t, err := w.space()
		if err != nil {
			return total, err
		}
		k, rerr := r.Read(t)
		if k > 0 {
			w.advance(t[:k])
			total += int64(k)
		}
		if rerr == io.EOF {
			return total, w.sticky()
		}
		if rerr != nil {
			// Sticky, so that a later Close cannot commit a truncated
			// object.
			return total, w.fail(rerr)
		}
	}
}

func (w *Writer) sticky() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stickyLocked()
}

func (w *Writer) stickyLocked() error {
	if w.err == nil && w.ctx.Err() != nil {
		// The context was cancelled and its AfterFunc has not run yet.
		w.failLocked(w.abortError())
	}
	return w.err
}

// abortError is the writer's error after its context was cancelled.
func (w *Writer) abortError() error {
	return fmt.Errorf("upload to s3://%s/%s aborted: %w", w.bucket, w.key, context.Cause(w.ctx))
}

// space returns free space in the current part, starting a part (and
// dispatching a full first part) as needed.
func (w *Writer) space() ([]byte, error) {
	if w.closed {
		return nil, errors.New("s3stream: write after Close")
	}
	if err := w.sticky(); err != nil {
		return nil, err
	}
	if w.cur != nil && w.cur.n == w.curSize {
		// Only the first part waits here when full: it becomes a single
		// PutObject if the stream ends now, or part 1 of a multipart
		// upload once more bytes come.
		if err := w.dispatch(); err != nil {
			return nil, err
		}
	}
	if w.cur == nil {
		if w.next > w.opts.MaxParts {
			return nil, w.fail(fmt.Errorf("upload to s3://%s/%s: the stream is larger than %s, the most %d parts hold with max memory %s",
				w.bucket, w.key, units.FormatSize(maxStreamSize(w.opts.MaxMemory, w.opts.MaxParts)), w.opts.MaxParts, units.FormatSize(w.opts.MaxMemory)))
		}
		w.cur = &buffer{}
		w.curSize = partSize(w.next, w.opts.MaxMemory, w.opts.MaxParts)
		w.partNow.Store(w.curSize)
		w.pool.setLimit(memoryLimit(w.curSize, w.opts.MaxMemory, w.opts.Concurrency))
	}
	if t := w.cur.tail(); t != nil {
		return t, nil
	}
	c, err := w.pool.get()
	if err != nil {
		return nil, w.sticky()
	}
	w.cur.chunks = append(w.cur.chunks, c)
	return w.cur.tail(), nil
}

// advance accounts for b, just written into the current part's tail.
func (w *Writer) advance(b []byte) {
	w.sha.Write(b)
	w.cur.n += int64(len(b))
	if w.written.Add(int64(len(b))) > MaxObjectSize {
		w.fail(fmt.Errorf("upload to s3://%s/%s: the stream is larger than %s, the largest S3 object", w.bucket, w.key, units.FormatSize(MaxObjectSize)))
		return
	}
	if w.cur.n == w.curSize && w.next > 1 {
		w.dispatch() // an error is sticky and seen by the next call
	}
}

// dispatch hands the current part to an upload goroutine, once fewer than
// the allowed number of parts are uploading, creating the multipart upload
// first if needed.
func (w *Writer) dispatch() error {
	b, n := w.cur, w.next
	w.cur = nil
	w.next++
	w.mu.Lock()
	for w.err == nil && w.mp.inFlight >= parallelParts(b.n, w.opts.MaxMemory, w.opts.Concurrency) {
		w.cond.Wait()
	}
	if w.err == nil && w.mp.id == "" {
		w.createLocked()
	}
	if err := w.err; err != nil {
		w.mu.Unlock()
		w.pool.put(b)
		return err
	}
	w.mp.inFlight++
	w.busy++
	w.mp.maxPart = max(w.mp.maxPart, b.n)
	for len(w.mp.etags) < n {
		w.mp.etags = append(w.mp.etags, "")
		w.mp.sums = append(w.mp.sums, nil)
	}
	w.mu.Unlock()
	go w.upload(b, n)
	return nil
}

// upload sends part n, trying it again as a whole when the SDK gives up on
// a transient error.
func (w *Writer) upload(b *buffer, n int) {
	sum := w.checksum(b)
	var etag string
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(w.ctx, attemptTimeout(b.n))
		in := &s3.UploadPartInput{
			Bucket:        &w.bucket,
			Key:           &w.key,
			UploadId:      &w.mp.id,
			PartNumber:    aws.Int32(int32(n)),
			Body:          b.reader(),
			ContentLength: aws.Int64(b.n),
		}
		in.ContentMD5, in.ChecksumCRC32C = w.checksumFields(sum)
		var out *s3.UploadPartOutput
		out, err = w.client.UploadPart(actx, in, unsignedPayload)
		retry := err != nil && transient(w.ctx, actx, err)
		cancel()
		if err == nil {
			etag = aws.ToString(out.ETag)
			break
		}
		if !retry || attempt >= ownAttempts || sleep(w.ctx, ownBackoff(attempt)) != nil {
			break
		}
	}
	size := b.n
	w.pool.put(b)
	var used []Kind
	if err != nil {
		used = w.partFeatures()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mp.inFlight--
	w.busy--
	w.cond.Broadcast()
	if err != nil {
		if w.ctx.Err() != nil {
			w.failLocked(w.abortError())
		}
		w.failLocked(unsupported(describe(fmt.Sprintf("upload part %d to", n), w.bucket, w.key, err), used...))
		return
	}
	w.mp.etags[n-1] = etag
	w.mp.sums[n-1] = sum
	w.uploaded.Add(size)
	w.done.Add(1)
}

// Close uploads what is buffered and completes the upload: the object
// exists once Close returns nil. It returns the first error of any stage,
// after aborting the upload. Close does not close anything the stream came
// from. Calling Close again returns the same result.
func (w *Writer) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	w.closeErr = w.commit()
	w.ticker.stop()
	return w.closeErr
}

func (w *Writer) commit() error {
	w.mu.Lock()
	if err := w.stickyLocked(); err != nil {
		w.mu.Unlock()
		return w.failed()
	}
	w.setState(stateCommitting)
	w.mu.Unlock()
	single := w.next == 1
	if !single && w.cur != nil && w.cur.n > 0 {
		w.dispatch()
	}
	w.mu.Lock()
	for w.err == nil && w.mp.inFlight > 0 {
		w.cond.Wait()
	}
	if w.err != nil {
		w.setState(stateFailed)
		w.mu.Unlock()
		return w.failed()
	}
	w.busy++
	w.mu.Unlock()

	// What is at the key now tells the clean-up, should the commit fail,
	// an object this writer created from one that was there before, even
	// with the same bytes.
	prior, perr := w.head(w.ctx, w.algo == ChecksumCRC32C)
	w.mu.Lock()
	if w.ctx.Err() != nil {
		w.busy--
		w.cond.Broadcast()
		w.failLocked(w.abortError())
		w.setState(stateFailed)
		w.mu.Unlock()
		return w.failed()
	}
	w.prior, w.priorKnown = prior, perr == nil
	w.mu.Unlock()

	var (
		res Result
		err error
	)
	switch {
	case w.opts.NoOverwrite && perr == nil && prior.exists:
		// Refused here, not only by the service: some stores ignore
		// If-None-Match.
		err = &ExistsError{Bucket: w.bucket, Key: w.key}
	case single:
		res, err = w.putObject()
	default:
		res, err = w.complete()
	}
	replaced := false
	if err == nil && w.opts.NoOverwrite && w.replacedAfterCommit(res) {
		replaced = true
		err = &ExistsError{Bucket: w.bucket, Key: w.key, Replaced: true}
	}

	w.mu.Lock()
	w.busy--
	w.cond.Broadcast()
	if err == nil {
		// Even after an error recorded meanwhile (an Abort that came
		// too late): the object is there.
		w.setState(stateCommitted)
		res.Bucket, res.Key = w.bucket, w.key
		res.Size = w.written.Load()
		res.SHA256 = hex.EncodeToString(w.sha.Sum(nil))
		res.Completed = time.Now().UTC()
		res.ContentType = w.opts.ContentType
		res.PeakBuffers = w.pool.peakBytes()
		w.result = res
		w.mu.Unlock()
		w.cancel(nil) // releases the context; the upload is committed
		return nil
	}
	if w.ctx.Err() != nil {
		w.failLocked(w.abortError())
	}
	w.failLocked(err)
	if replaced {
		w.setState(stateReplaced)
	} else {
		w.setState(stateFailed)
	}
	w.mu.Unlock()
	return w.failed()
}

// putObject uploads a stream that fitted in one part.
func (w *Writer) putObject() (Result, error) {
	b := w.cur
	if b == nil {
		b = &buffer{}
	}
	defer w.pool.put(b)
	var (
		in  *s3.PutObjectInput
		out *s3.PutObjectOutput
		err error
	)
	of := w.opts.objectFields()
	for attempt := 1; ; attempt++ {
		sum := w.checksum(b)
		w.mu.Lock()
		w.singleSum = sum
		w.mu.Unlock()
		in = &s3.PutObjectInput{
			Bucket:                    &w.bucket,
			Key:                       &w.key,
			Body:                      b.reader(),
			ContentLength:             aws.Int64(b.n),
			StorageClass:              of.storageClass,
			ServerSideEncryption:      of.sse,
			SSEKMSKeyId:               of.sseKMSKeyID,
			ContentType:               of.contentType,
			Metadata:                  of.metadata,
			ObjectLockMode:            of.lockMode,
			ObjectLockRetainUntilDate: of.lockUntil,
			ObjectLockLegalHoldStatus: of.legalHold,
		}
		in.ContentMD5, in.ChecksumCRC32C = w.checksumFields(sum)
		if w.opts.NoOverwrite {
			in.IfNoneMatch = aws.String("*")
		}
		ctx, cancel := context.WithTimeout(w.ctx, attemptTimeout(b.n))
		out, err = w.client.PutObject(ctx, in, unsignedPayload, countSent(&w.commitSent))
		cancel()
		if err == nil {
			break
		}
		if w.opts.NoOverwrite && conditionalConflict(err) && attempt < ownAttempts && sleep(w.ctx, ownBackoff(attempt)) == nil {
			// Another conditional write to the key was under way; S3
			// asks to try again, which tells who won.
			continue
		}
		if w.opts.NoOverwrite && preconditionFailed(err) {
			obj, rerr := w.refused(err)
			if rerr != nil {
				return Result{}, rerr
			}
			out = &s3.PutObjectOutput{ETag: aws.String(obj.etag), VersionId: aws.String(obj.versionID)}
			break
		}
		if !w.fallBack(err) {
			return Result{}, w.checksumError(unsupported(describe("upload to", w.bucket, w.key, err), putFeatures(in)...))
		}
	}
	w.uploaded.Add(b.n)
	w.done.Add(1)
	return Result{Parts: 1, PartSize: b.n, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// Result describes the object after Close returned nil.
func (w *Writer) Result() Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.result
}

func (w *Writer) progress(done bool) Progress {
	ps := w.partNow.Load()
	if ps == 0 {
		ps = partSize(1, w.opts.MaxMemory, w.opts.MaxParts)
	}
	return Progress{
		Bytes:       w.written.Load(),
		Transferred: w.uploaded.Load(),
		Parts:       int(w.done.Load()),
		PartSize:    ps,
		Total:       -1,
		Elapsed:     time.Since(w.start),
		Done:        done,
	}
}

// Stored is the number of bytes of the stream the Writer has taken so far
// (by Write and ReadFrom), which the object holds once Close committed it.
// It may be called from any goroutine at any time.
func (w *Writer) Stored() int64 { return w.written.Load() }

package s3stream

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// WriterOptions tune a Writer. The zero value uploads with the defaults.
type WriterOptions struct {
	// Concurrency is how many parts upload at the same time
	// (DefaultConcurrency when 0). It is lowered for large parts so that
	// buffers stay within MaxMemory.
	Concurrency int
	// MaxMemory caps the bytes held in part buffers (DefaultMaxMemory when
	// 0). It also caps the part size at MaxMemory/2, and so the largest
	// stream: 10,000 parts of the schedule (see the package comment).
	MaxMemory int64
	// StorageClass, e.g. STANDARD_IA or GLACIER_IR; empty means the
	// bucket's default.
	StorageClass string
	// SSE is the server-side encryption: "", "AES256" or "aws:kms".
	SSE string
	// SSEKMSKeyID is the KMS key for SSE "aws:kms"; empty means the
	// account's default key.
	SSEKMSKeyID string
	// ContentType of the object; empty means application/octet-stream.
	ContentType string
	// Metadata is stored as x-amz-meta-* user metadata.
	Metadata map[string]string
	// PartChecksum is the checksum every part carries, which the server
	// checks before it stores the part: ChecksumCRC32C
	// (x-amz-checksum-crc32c, cheap at both ends) or ChecksumMD5
	// (Content-MD5, which every S3-compatible store knows, but which costs
	// both ends an MD5 pass). Empty means CRC32C, falling back to MD5 when
	// the service rejects the checksum in the upload's first request.
	PartChecksum string
	// NoOverwrite commits the object only where no object is: when
	// another writer got to the key first, even a moment before, Close
	// fails with an *ExistsError (errors.Is ErrExists), leaves that object
	// as it is and aborts the upload. The commit is a conditional write
	// (If-None-Match: *, which S3 honours). For stores that ignore the
	// condition, Close also looks at the key before the commit, and reads
	// its size and ETag back after it: another writer's object found
	// there fails Close too. Such a store still leaves a short window in
	// which two writers both succeed and the later one's object stays.
	NoOverwrite bool
	// Progress, when set, is called about four times a second from one
	// goroutine while the upload runs, and once more with Done set.
	Progress func(Progress)
}

// Validate reports options that no upload could use.
func (o *WriterOptions) Validate() error {
	if o.Concurrency < 0 {
		return fmt.Errorf("concurrency %d is negative", o.Concurrency)
	}
	if o.MaxMemory != 0 && o.MaxMemory < 2*MinPartSize {
		return fmt.Errorf("max memory %s is below %s: two parts of the minimum size", FormatSize(o.MaxMemory), FormatSize(2*MinPartSize))
	}
	switch o.SSE {
	case "", string(types.ServerSideEncryptionAes256), string(types.ServerSideEncryptionAwsKms), string(types.ServerSideEncryptionAwsKmsDsse):
	default:
		return fmt.Errorf("unknown server-side encryption %q (want AES256 or aws:kms)", o.SSE)
	}
	if o.SSEKMSKeyID != "" && !strings.HasPrefix(o.SSE, "aws:kms") {
		return errors.New("a KMS key ID needs server-side encryption aws:kms")
	}
	switch o.PartChecksum {
	case "", ChecksumMD5, ChecksumCRC32C:
	default:
		return fmt.Errorf("unknown part checksum %q (want %s or %s)", o.PartChecksum, ChecksumMD5, ChecksumCRC32C)
	}
	for k := range o.Metadata {
		if k == "" || strings.ContainsAny(k, " :=\r\n") {
			return fmt.Errorf("invalid metadata key %q", k)
		}
	}
	return nil
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	return o
}

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

// Result describes a completed upload, or a download read to the end.
type Result struct {
	Bucket, Key string
	Size        int64
	SHA256      string // hex
	Parts       int    // parts uploaded (1 for a single PUT) or ranges read
	PartSize    int64  // largest part or range
	ETag        string
	VersionID   string
	Completed   time.Time
	ContentType string
	PeakBuffers int64 // most bytes ever held in part buffers
}

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
	cur      *buffer // part being filled
	curSize  int64   // its planned size
	next     int     // its number
	sha      hash.Hash
	closed   bool
	closeErr error

	written  atomic.Int64
	uploaded atomic.Int64
	done     atomic.Int32
	partNow  atomic.Int64 // curSize, for progress reports

	mu          sync.Mutex
	cond        *sync.Cond
	err         error // first failure
	committed   bool
	busy        int // requests that may create server state: uploads, create, commit
	inFlight    int // part uploads
	uploadID    string
	etags       []string // by part number - 1
	sums        [][]byte // part checksums, by part number - 1
	maxPart     int64
	commitSent  atomic.Int32 // commit attempts that may have reached the server
	prior       objectState  // the object at the key before the commit
	priorKnown  bool         // prior was read
	replaced    bool         // committed, but another writer's object replaced this one's
	singleSum   []byte       // checksum of a single PutObject
	algo        string       // part checksum in use: ChecksumMD5 or ChecksumCRC32C
	cleanupOnce sync.Once
	cleanupDone chan struct{}
	cleanupErr  error
	result      Result

	progressOnce sync.Once
	progressEnd  chan struct{} // closed to stop progress reports
	progressDone chan struct{} // closed after the last report
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
	w.pool = newPool(w.ctx, memoryLimit(partSize(1, opts.MaxMemory), opts.MaxMemory, opts.Concurrency))
	context.AfterFunc(w.ctx, func() { w.fail(w.abortError()) })
	if opts.Progress != nil {
		w.progressEnd, w.progressDone = make(chan struct{}), make(chan struct{})
		go w.reportProgress()
	}
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
		if w.next > MaxParts {
			return nil, w.fail(fmt.Errorf("upload to s3://%s/%s: the stream is larger than %s, the most %d parts hold with max memory %s",
				w.bucket, w.key, FormatSize(maxStreamSize(w.opts.MaxMemory)), MaxParts, FormatSize(w.opts.MaxMemory)))
		}
		w.cur = &buffer{}
		w.curSize = partSize(w.next, w.opts.MaxMemory)
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
		w.fail(fmt.Errorf("upload to s3://%s/%s: the stream is larger than %s, the largest S3 object", w.bucket, w.key, FormatSize(MaxObjectSize)))
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
	for w.err == nil && w.inFlight >= parallelParts(b.n, w.opts.MaxMemory, w.opts.Concurrency) {
		w.cond.Wait()
	}
	if w.err == nil && w.uploadID == "" {
		w.busy++
		w.mu.Unlock()
		id, err := w.create()
		w.mu.Lock()
		w.busy--
		w.cond.Broadcast()
		w.uploadID = id // set on some failures too, for the clean-up
		if err != nil {
			w.failLocked(err)
		}
	}
	if err := w.err; err != nil {
		w.mu.Unlock()
		w.pool.put(b)
		return err
	}
	w.inFlight++
	w.busy++
	w.maxPart = max(w.maxPart, b.n)
	for len(w.etags) < n {
		w.etags = append(w.etags, "")
		w.sums = append(w.sums, nil)
	}
	w.mu.Unlock()
	go w.upload(b, n)
	return nil
}

// create starts the multipart upload. It does not use the writer's
// context: a cancelled CreateMultipartUpload may still have created the
// upload on the server, and only its ID lets the clean-up abort it.
func (w *Writer) create() (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 2*time.Minute)
	defer cancel()
	in := &s3.CreateMultipartUploadInput{Bucket: &w.bucket, Key: &w.key}
	w.objectOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId, &in.ContentType, &in.Metadata)
	for {
		if w.algo == ChecksumCRC32C {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
		} else {
			in.ChecksumAlgorithm = ""
		}
		began := time.Now()
		var sent atomic.Int32
		out, err := w.client.CreateMultipartUpload(ctx, in, countSent(&sent))
		var id string
		if err == nil {
			id = aws.ToString(out.UploadId)
		}
		if err == nil && sent.Load() > 1 || err != nil && sent.Load() > 0 {
			// An attempt whose answer was lost (or that failed after the
			// server acted) may have created an upload that only a
			// listing finds.
			if serr := w.abortStrays(ctx, id, began); serr != nil {
				if err == nil {
					// The clean-up aborts the upload kept.
					return id, serr
				}
				return "", fmt.Errorf("%w\nalso: %v", describe("upload to", w.bucket, w.key, err), serr)
			}
		}
		if err == nil {
			return id, nil
		}
		if !w.fallBack(err) {
			return "", w.checksumError(describe("upload to", w.bucket, w.key, err))
		}
	}
}

// clockSkew is how far the server's clock may be behind this host's when
// abortStrays compares the times uploads were initiated.
const clockSkew = time.Minute

// abortStrays aborts the multipart uploads of exactly this key, other
// than keep, initiated since began (less clockSkew): those a
// CreateMultipartUpload made for this writer although its answer was lost.
func (w *Writer) abortStrays(ctx context.Context, keep string, began time.Time) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &w.bucket, Prefix: &w.key}
	for page := 0; page < 100; page++ {
		out, err := w.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return describe("list the uploads (to abort a stray one) of", w.bucket, w.key, err)
		}
		for _, u := range out.Uploads {
			id := aws.ToString(u.UploadId)
			if aws.ToString(u.Key) != w.key || id == keep || u.Initiated == nil || u.Initiated.Before(began.Add(-clockSkew)) {
				continue
			}
			_, err := w.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id})
			if err != nil && apiCode(err) != "NoSuchUpload" {
				return describe(fmt.Sprintf("abort stray upload (ID %s) of", id), w.bucket, w.key, err)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	return nil
}

// countSent counts into sent the attempts at a request that may have
// changed something on the server: all but the ones that could not
// connect and the ones the server refused with a 4xx status.
func countSent(sent *atomic.Int32) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			// Last in the deserialize step: around the HTTP round trip.
			return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3streamCountSent",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					var oe *net.OpError
					refused := errors.As(err, &oe) && oe.Op == "dial"
					if r, ok := out.RawResponse.(*smithyhttp.Response); ok && err == nil {
						refused = r.StatusCode >= 400 && r.StatusCode < 500
					}
					if !refused {
						sent.Add(1)
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// fallBack switches the part checksum from CRC32C to MD5 when the
// PartChecksum option left the choice to the writer and err looks like a
// service that does not know CRC32C checksums. Only the upload's first
// request falls back, before any part was sent.
func (w *Writer) fallBack(err error) bool {
	if w.opts.PartChecksum != "" || w.algo != ChecksumCRC32C {
		return false
	}
	switch s := httpStatus(err); {
	case s == http.StatusNotImplemented:
	case s == http.StatusBadRequest:
		switch apiCode(err) {
		case "InvalidArgument", "InvalidRequest", "NotImplemented", "BadRequest", "UnsupportedChecksum":
		default:
			return false
		}
	default:
		return false
	}
	w.mu.Lock()
	w.algo = ChecksumMD5
	w.mu.Unlock()
	return true
}

// checksumError classifies the error of the upload's first request as
// ChecksumUnsupported when it may come from a service that rejects the
// CRC32C part checksum chosen explicitly, and nothing else explains it.
func (w *Writer) checksumError(err error) error {
	var e *Error
	if w.algo == ChecksumCRC32C && w.opts.PartChecksum == ChecksumCRC32C && errors.As(err, &e) && e.Kind == Unclassified {
		if s := httpStatus(err); s == http.StatusBadRequest || s == http.StatusNotImplemented {
			e.Kind = ChecksumUnsupported
		}
	}
	return err
}

func (w *Writer) objectOptions(class *types.StorageClass, sse *types.ServerSideEncryption, kms, ctype **string, meta *map[string]string) {
	o := w.opts
	*class = types.StorageClass(o.StorageClass)
	*sse = types.ServerSideEncryption(o.SSE)
	if o.SSEKMSKeyID != "" {
		*kms = aws.String(o.SSEKMSKeyID)
	}
	if o.ContentType != "" {
		*ctype = aws.String(o.ContentType)
	}
	*meta = o.Metadata
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
			UploadId:      &w.uploadID,
			PartNumber:    aws.Int32(int32(n)),
			Body:          b.reader(),
			ContentLength: aws.Int64(b.n),
		}
		w.setChecksum(sum, &in.ContentMD5, &in.ChecksumCRC32C)
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
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight--
	w.busy--
	w.cond.Broadcast()
	if err != nil {
		if w.ctx.Err() != nil {
			w.failLocked(w.abortError())
		}
		w.failLocked(describe(fmt.Sprintf("upload part %d to", n), w.bucket, w.key, err))
		return
	}
	w.etags[n-1] = etag
	w.sums[n-1] = sum
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
	w.stopProgress()
	return w.closeErr
}

func (w *Writer) commit() error {
	if err := w.sticky(); err != nil {
		return w.failed()
	}
	single := w.next == 1
	if !single && w.cur != nil && w.cur.n > 0 {
		w.dispatch()
	}
	w.mu.Lock()
	for w.err == nil && w.inFlight > 0 {
		w.cond.Wait()
	}
	if w.err != nil {
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
	if err == nil && w.opts.NoOverwrite {
		err = w.verifyCommit(res)
	}

	w.mu.Lock()
	w.busy--
	w.cond.Broadcast()
	if err == nil {
		w.committed = true
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
		out *s3.PutObjectOutput
		err error
	)
	for attempt := 1; ; attempt++ {
		sum := w.checksum(b)
		w.mu.Lock()
		w.singleSum = sum
		w.mu.Unlock()
		in := &s3.PutObjectInput{
			Bucket:        &w.bucket,
			Key:           &w.key,
			Body:          b.reader(),
			ContentLength: aws.Int64(b.n),
		}
		w.setChecksum(sum, &in.ContentMD5, &in.ChecksumCRC32C)
		w.objectOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId, &in.ContentType, &in.Metadata)
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
			return Result{}, w.checksumError(describe("upload to", w.bucket, w.key, err))
		}
	}
	w.uploaded.Add(b.n)
	w.done.Add(1)
	return Result{Parts: 1, PartSize: b.n, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// refused handles a conditional commit the service refused because an
// object is at the key (412), or because another write to it ran at the
// same time (409). When an earlier attempt of this commit may have
// reached the server, the object may be this writer's own: then it
// returns the object's state. Otherwise another writer won the key, and
// the error is an *ExistsError, or for a 409 without an object there the
// service's answer.
func (w *Writer) refused(err error) (objectState, error) {
	if w.commitSent.Load() > 0 {
		// A retry after an answer that was lost finds the object that
		// the first attempt created.
		obj, ok, oerr := w.ours(w.ctx)
		if ok {
			return obj, nil
		}
		if oerr != nil {
			return objectState{}, fmt.Errorf("%w (and the object could not be checked: %v)", &ExistsError{Bucket: w.bucket, Key: w.key}, oerr)
		}
		if !obj.exists && !preconditionFailed(err) {
			return objectState{}, describe("complete upload to", w.bucket, w.key, err)
		}
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	if preconditionFailed(err) {
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	if obj, herr := w.head(w.ctx, false); herr == nil && obj.exists {
		return objectState{}, &ExistsError{Bucket: w.bucket, Key: w.key}
	}
	return objectState{}, describe("complete upload to", w.bucket, w.key, err)
}

// complete completes the multipart upload.
func (w *Writer) complete() (Result, error) {
	parts := make([]types.CompletedPart, len(w.etags))
	for i, e := range w.etags {
		parts[i] = types.CompletedPart{ETag: aws.String(e), PartNumber: aws.Int32(int32(i + 1))}
		w.setChecksum(w.sums[i], new(*string), &parts[i].ChecksumCRC32C)
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          &w.bucket,
		Key:             &w.key,
		UploadId:        &w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if w.opts.NoOverwrite {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := w.client.CompleteMultipartUpload(w.ctx, in, attemptDeadline(completeTimeout), countSent(&w.commitSent))
	res := Result{Parts: len(parts), PartSize: w.maxPart}
	if err == nil {
		res.ETag, res.VersionID = aws.ToString(out.ETag), aws.ToString(out.VersionId)
		return res, nil
	}
	if w.opts.NoOverwrite && (preconditionFailed(err) || conditionalConflict(err)) && w.ctx.Err() == nil {
		// A 409 cannot be retried here: S3 wants the upload made anew,
		// and the parts are gone from memory.
		obj, rerr := w.refused(err)
		if rerr != nil {
			return Result{}, rerr
		}
		res.ETag, res.VersionID = obj.etag, obj.versionID
		return res, nil
	}
	if apiCode(err) == "NoSuchUpload" && w.ctx.Err() == nil {
		// A retry after a completion whose answer was lost finds the
		// upload gone; the object tells whether it was ours.
		obj, ok, oerr := w.ours(w.ctx)
		if ok {
			res.ETag, res.VersionID = obj.etag, obj.versionID
			return res, nil
		}
		if oerr != nil {
			return Result{}, fmt.Errorf("%w (and the object could not be checked: %v)", describe("complete upload to", w.bucket, w.key, err), oerr)
		}
	}
	return Result{}, describe("complete upload to", w.bucket, w.key, err)
}

// completeTimeout bounds one attempt at CompleteMultipartUpload, which can
// take minutes on a large object, but not forever.
var completeTimeout = 15 * time.Minute

// attemptDeadline bounds each attempt the SDK makes at a request, while
// the SDK's own retries stay as they are.
func attemptDeadline(d time.Duration) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3streamAttemptDeadline",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					ctx, cancel := context.WithTimeout(ctx, d)
					defer cancel()
					return next.HandleFinalize(ctx, in)
				}), "Retry", middleware.After)
		})
	}
}

// unsignedPayload leaves the body of a part out of the request signature.
// The body is protected by its Content-MD5, which is signed and which the
// server checks; signing the body too would make both ends hash every byte
// once more with SHA-256.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// Part checksums (WriterOptions.PartChecksum).
const (
	ChecksumMD5    = "md5"
	ChecksumCRC32C = "crc32c"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum computes b's part checksum.
func (w *Writer) checksum(b *buffer) []byte {
	var h hash.Hash
	if w.algo == ChecksumCRC32C {
		h = crc32.New(castagnoli)
	} else {
		h = md5.New()
	}
	b.each(func(p []byte) { h.Write(p) })
	return h.Sum(nil)
}

// setChecksum puts sum into the request field of the part checksum.
func (w *Writer) setChecksum(sum []byte, md5Field, crc32cField **string) {
	v := aws.String(base64.StdEncoding.EncodeToString(sum))
	if w.algo == ChecksumCRC32C {
		*crc32cField = v
	} else {
		*md5Field = v
	}
}

// objectState identifies one version of the object at a key.
type objectState struct {
	exists    bool
	etag      string
	versionID string
	modified  time.Time
	size      int64
	crc32c    string // the object's CRC32C checksum, when asked for and known
}

// same reports whether o and p are the same version of the object.
func (o objectState) same(p objectState) bool {
	if !o.exists || !p.exists {
		return o.exists == p.exists
	}
	if o.versioned() && p.versioned() {
		return o.versionID == p.versionID
	}
	return o.etag == p.etag && o.modified.Equal(p.modified)
}

func (o objectState) versioned() bool { return o.versionID != "" && o.versionID != "null" }

// head reads the state of the object at the key; a missing object is no
// error.
func (w *Writer) head(ctx context.Context, crc bool) (objectState, error) {
	in := &s3.HeadObjectInput{Bucket: &w.bucket, Key: &w.key}
	if crc {
		in.ChecksumMode = types.ChecksumModeEnabled
	}
	out, err := w.client.HeadObject(ctx, in)
	if err != nil {
		if isNotFound(err) || httpStatus(err) == http.StatusNotFound {
			return objectState{}, nil
		}
		return objectState{}, err
	}
	return objectState{
		exists:    true,
		etag:      aws.ToString(out.ETag),
		versionID: aws.ToString(out.VersionId),
		modified:  aws.ToTime(out.LastModified),
		size:      aws.ToInt64(out.ContentLength),
		crc32c:    aws.ToString(out.ChecksumCRC32C),
	}, nil
}

// ours reports whether the object at the key is one this writer created,
// by what S3 derives from the part checksums (with MD5 the ETag, with
// CRC32C the object's checksum) and by its differing from the object that
// was at the key before the commit. It returns the object's state, and an
// error when it cannot tell.
func (w *Writer) ours(ctx context.Context) (objectState, bool, error) {
	w.mu.Lock()
	crc := w.algo == ChecksumCRC32C
	prior, priorKnown := w.prior, w.priorKnown
	want := w.wantLocked()
	w.mu.Unlock()
	obj, err := w.head(ctx, crc)
	switch {
	case err != nil:
		return obj, false, err
	case !obj.exists:
		return obj, false, nil
	case priorKnown && prior.same(obj):
		// The object that was there before, whatever its bytes.
		return obj, false, nil
	case obj.size != w.written.Load():
		// Another writer's, whatever the service tells of its checksums.
		return obj, false, nil
	case crc && obj.crc32c == "":
		return obj, false, errors.New("the service did not tell the object's CRC32C checksum")
	case crc && obj.crc32c != want:
		return obj, false, nil
	case !crc && w.opts.SSE != "" && w.opts.SSE != string(types.ServerSideEncryptionAes256):
		// Under SSE-KMS the ETag is no MD5.
		return obj, false, errors.New("under SSE-KMS the object's ETag does not tell its content")
	case !crc && obj.etag != want:
		return obj, false, nil
	case !priorKnown:
		return obj, false, errors.New("the object has this upload's content, but what was at the key before is unknown")
	case prior.exists && !obj.versioned() && (crc && prior.crc32c == want || !crc && prior.etag == want):
		// The commit replaced an object with the same bytes: removing
		// it would lose them, where keeping it leaves the key as it was.
		return obj, false, nil
	}
	return obj, true, nil
}

// wantLocked is what S3 derives from the part checksums for the object
// this writer commits: with CRC32C the object's checksum, with MD5 its
// ETag. w.mu is held.
func (w *Writer) wantLocked() string {
	crc := w.algo == ChecksumCRC32C
	var want string
	switch {
	case w.singleSum != nil && crc:
		want = base64.StdEncoding.EncodeToString(w.singleSum)
	case w.singleSum != nil:
		want = `"` + hex.EncodeToString(w.singleSum) + `"`
	default:
		var h hash.Hash = md5.New()
		if crc {
			h = crc32.New(castagnoli)
		}
		for _, s := range w.sums {
			h.Write(s)
		}
		if crc {
			want = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(w.sums))
		} else {
			want = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(w.sums))
		}
	}
	return want
}

// verifyCommit reads back the object a NoOverwrite commit created, for
// stores that ignore If-None-Match: another writer's object at the key
// (another size, version or ETag than this commit's, or another checksum
// where the service named no ETag) is an *ExistsError. When the object
// cannot be read (credentials that may write but not read), the
// conditional write stands alone.
func (w *Writer) verifyCommit(res Result) error {
	w.mu.Lock()
	crc := w.algo == ChecksumCRC32C
	want := w.wantLocked()
	w.mu.Unlock()
	obj, err := w.head(w.ctx, crc)
	if err != nil {
		return nil
	}
	versioned := obj.versioned() && res.VersionID != "" && res.VersionID != "null"
	switch {
	case !obj.exists,
		obj.size != w.written.Load(),
		versioned && obj.versionID != res.VersionID,
		res.ETag != "" && strings.Trim(obj.etag, `"`) != strings.Trim(res.ETag, `"`),
		res.ETag == "" && crc && obj.crc32c != "" && obj.crc32c != want:
		w.mu.Lock()
		w.replaced = true
		w.mu.Unlock()
		return &ExistsError{Bucket: w.bucket, Key: w.key, Replaced: true}
	}
	return nil
}

// Abort abandons the upload: it stops the part uploads, aborts the
// multipart upload, and makes every later call return cause (ErrAborted
// when nil). It returns nil when nothing is left on the server, ErrCommitted
// when Close had already completed the upload, and otherwise the error of
// the clean-up.
func (w *Writer) Abort(cause error) error {
	if cause == nil {
		cause = ErrAborted
	}
	w.mu.Lock()
	if w.committed {
		w.mu.Unlock()
		return ErrCommitted
	}
	w.failLocked(cause)
	w.mu.Unlock()
	<-w.cleanupDone
	w.stopProgress()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed {
		return ErrCommitted
	}
	return w.cleanupErr
}

// fail records err as the writer's error (unless there is one already)
// and starts the clean-up. It returns the writer's error.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failLocked(err)
	return w.err
}

func (w *Writer) failLocked(err error) {
	if w.err != nil || w.committed {
		return
	}
	w.err = err
	w.cancel(err)
	w.cond.Broadcast()
	w.cleanupOnce.Do(func() { go w.cleanup() })
}

// failed waits for the clean-up and returns the writer's error, with the
// clean-up's failure if any.
func (w *Writer) failed() error {
	<-w.cleanupDone
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed {
		return nil
	}
	if w.cleanupErr != nil {
		return fmt.Errorf("%w\nalso: %v", w.err, w.cleanupErr)
	}
	return w.err
}

// cleanup runs once after the first failure: when no request that could
// create server state is in flight any more, it aborts the multipart
// upload, and after a failed commit it deletes the object if the commit
// went through although its answer was lost. It uses its own context,
// since the writer's is cancelled by now.
func (w *Writer) cleanup() {
	defer close(w.cleanupDone)
	w.mu.Lock()
	for w.busy > 0 {
		w.cond.Wait()
	}
	id, committed, sent := w.uploadID, w.committed, w.commitSent.Load() > 0
	replaced := w.replaced
	w.mu.Unlock()
	if committed || replaced {
		// Nothing of this writer's is left: the upload was completed,
		// and the object at the key now is another writer's.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if id != "" {
		err = w.abortUpload(ctx, id)
		switch {
		case apiCode(err) == "NoSuchUpload" || httpStatus(err) == http.StatusNotFound:
			// Completed (by a commit whose answer was lost) or aborted.
			err = nil
			if sent {
				err = w.deleteIfOurs(ctx)
			}
		case err != nil:
			err = describe(fmt.Sprintf("abort unfinished upload (ID %s) of", id), w.bucket, w.key, err)
		}
	} else if sent {
		err = w.deleteIfOurs(ctx)
	}
	w.mu.Lock()
	w.cleanupErr = err
	w.mu.Unlock()
}

// abortUpload aborts the multipart upload id and makes sure it is gone: a
// part upload the server was still processing when the abort arrived can
// leave the upload (or its parts) behind, so, as S3's documentation
// advises, it lists the parts and aborts again until none remain.
func (w *Writer) abortUpload(ctx context.Context, id string) error {
	in := &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id}
	if _, err := w.client.AbortMultipartUpload(ctx, in); err != nil {
		return err
	}
	for attempt := 1; attempt <= 6; attempt++ {
		_, err := w.client.ListParts(ctx, &s3.ListPartsInput{Bucket: &w.bucket, Key: &w.key, UploadId: &id})
		if apiCode(err) == "NoSuchUpload" || httpStatus(err) == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return describe(fmt.Sprintf("check the abort of upload (ID %s) of", id), w.bucket, w.key, err)
		}
		select {
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := w.client.AbortMultipartUpload(ctx, in); err != nil && apiCode(err) != "NoSuchUpload" {
			return err
		}
	}
	return fmt.Errorf("upload (ID %s) of s3://%s/%s is still there after aborting it repeatedly", id, w.bucket, w.key)
}

// deleteIfOurs removes the object a failed commit created nonetheless: a
// request whose answer was lost, or that went through while the writer was
// aborted. An object that was at the key before is never removed, and one
// that cannot be told apart is reported.
func (w *Writer) deleteIfOurs(ctx context.Context) error {
	obj, ok, err := w.ours(ctx)
	if err != nil {
		return fmt.Errorf("could not verify that s3://%s/%s was not created: %w", w.bucket, w.key, err)
	}
	if !ok {
		return nil
	}
	in := &s3.DeleteObjectInput{Bucket: &w.bucket, Key: &w.key, IfMatch: aws.String(obj.etag)}
	if obj.versioned() {
		// In a versioned bucket, a delete without the version would only
		// hide the versions before it.
		in.VersionId = aws.String(obj.versionID)
	}
	if _, err := w.client.DeleteObject(ctx, in); err != nil {
		return describe("delete the object completed during the abort:", w.bucket, w.key, err)
	}
	return nil
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
		ps = partSize(1, w.opts.MaxMemory)
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

func (w *Writer) reportProgress() {
	defer close(w.progressDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.opts.Progress(w.progress(false))
		case <-w.progressEnd:
			w.opts.Progress(w.progress(true))
			return
		case <-w.cleanupDone:
			// Failed, and the caller may never call Close or Abort.
			w.opts.Progress(w.progress(true))
			return
		}
	}
}

// stopProgress makes the last progress report and waits for it.
func (w *Writer) stopProgress() {
	if w.progressEnd == nil {
		return
	}
	w.progressOnce.Do(func() { close(w.progressEnd) })
	<-w.progressDone
}

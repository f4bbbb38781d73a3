package s3stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

func newProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// faults counts the requests that got a fault.
func faults(p *faultproxy.Proxy) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Fault {
			n++
		}
	}
	return n
}

func TestWriterOneByteReader(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	const n = firstPartSize + 77
	want, _ := sum(t, stream(9, n))
	w := NewWriter(t.Context(), c, bucket, key, WriterOptions{})
	if _, err := io.Copy(w, iotest.OneByteReader(iotest.HalfReader(stream(9, n)))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r := w.Result(); r.SHA256 != want || r.Parts != 2 {
		t.Errorf("result %+v, want sha256 %s in 2 parts", r, want)
	}
	if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want {
		t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
	}
	// Close again returns the same result; writing after Close fails.
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Abort(nil); !errors.Is(err, ErrCommitted) {
		t.Errorf("Abort after Close: %v, want ErrCommitted", err)
	}
}

func TestWriterOptions(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	opts := WriterOptions{
		ContentType:  "application/x-test",
		Metadata:     map[string]string{"db": "sales", "host": "pg1"},
		StorageClass: "STANDARD",
		SSE:          "AES256",
	}
	for _, n := range []int64{10, firstPartSize + 1} {
		if _, err := upload(t, c, key, 1, n, 0, opts); err != nil {
			t.Fatal(err)
		}
		h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(h.ContentType) != opts.ContentType || h.Metadata["db"] != "sales" || h.Metadata["host"] != "pg1" {
			t.Errorf("%d bytes: content type %q, metadata %v", n, aws.ToString(h.ContentType), h.Metadata)
		}
	}
	for _, bad := range []WriterOptions{
		{SSE: "aes"},
		{SSEKMSKeyID: "k"},
		{MaxMemory: 1 << 20},
		{Concurrency: -1},
		{Metadata: map[string]string{"a b": "c"}},
	} {
		w := NewWriter(t.Context(), c, bucket, uniqueKey(t), bad)
		if _, err := w.Write([]byte("x")); err == nil {
			t.Errorf("%+v accepted", bad)
		}
		if err := w.Close(); err == nil {
			t.Errorf("%+v: Close succeeded", bad)
		}
	}
}

// TestServerChecksContentMD5 pins what the part checksums rely on: the
// gateway rejects a part whose Content-MD5 does not match.
func TestServerChecksContentMD5(t *testing.T) {
	c := newClient(t)
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(uniqueKey(t)),
		Body: bytes.NewReader([]byte("hello")), ContentMD5: aws.String("AAAAAAAAAAAAAAAAAAAAAA=="),
	})
	if apiCode(err) != "BadDigest" {
		t.Fatalf("got %v, want BadDigest", err)
	}
}

func TestAbort(t *testing.T) {
	c := newClient(t)
	cause := errors.New("pg_dump exited with status 1")
	for _, tc := range []struct {
		name string
		n    int64
	}{
		{"empty", 0},
		{"single part", 1000},
		{"first part full", firstPartSize},
		{"multipart", 3*firstPartSize + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := uniqueKey(t)
			w := NewWriter(t.Context(), c, bucket, key, WriterOptions{})
			if _, err := w.ReadFrom(stream(1, tc.n)); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(cause); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if err := w.Close(); err != cause {
				t.Errorf("Close after Abort: %v, want the cause", err)
			}
			if _, err := w.Write([]byte("x")); err == nil {
				t.Error("Write after Abort succeeded")
			}
			assertNothingLeft(t, key)
		})
	}
}

func TestAbortKeepsTheOldObject(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	old, err := upload(t, c, key, 1, 1000, 0, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{10, 2*firstPartSize + 1} {
		w := NewWriter(t.Context(), c, bucket, key, WriterOptions{})
		w.ReadFrom(stream(2, n))
		if err := w.Abort(nil); err != nil {
			t.Fatal(err)
		}
		if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != old.SHA256 {
			t.Fatalf("after an aborted overwrite of %d bytes: sha256 %s (%v), want the old %s", n, got, err, old.SHA256)
		}
	}
	if u := unfinished(t, key); len(u) > 0 {
		t.Errorf("unfinished uploads: %v", u)
	}
}

// TestCancelAborts cancels the context in the middle of a multipart upload
// and never calls Abort: the writer aborts by itself.
func TestCancelAborts(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	w := NewWriter(ctx, c, bucket, key, WriterOptions{})
	if _, err := w.ReadFrom(stream(1, 3*firstPartSize)); err != nil {
		t.Fatal(err)
	}
	cancel(errors.New("terminated"))
	_, err := w.Write(make([]byte, 100))
	if err == nil || !strings.Contains(err.Error(), "aborted: terminated") {
		t.Fatalf("Write after cancel: %v", err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("Close after cancel: %v", err)
	}
	assertNothingLeft(t, key)
}

// TestAbortWhileBlocked aborts from another goroutine while Write waits
// for part uploads held up by the proxy.
func TestAbortWhileBlocked(t *testing.T) {
	p := newProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Times: -1, Fault: faultproxy.Fault{Delay: 3 * time.Second}})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	w := NewWriter(t.Context(), c, bucket, key, WriterOptions{Concurrency: 1})
	go func() {
		time.Sleep(500 * time.Millisecond)
		w.Abort(errors.New("stop"))
	}()
	start := time.Now()
	_, err := w.ReadFrom(stream(1, 10*firstPartSize))
	if err == nil || err.Error() != "stop" {
		t.Fatalf("ReadFrom: %v, want the abort's cause", err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("ReadFrom returned %v after the abort", d)
	}
	w.Close()
	assertNothingLeft(t, key)
}

func TestRetrySlowDown(t *testing.T) {
	p := newProxy(t)
	// Parts 2 and 3 get SlowDown twice each; the SDK retries them. Part
	// 4 gets it more often than the SDK tries, so the writer retries it.
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 2, Times: 2, Fault: faultproxy.SlowDown})
	r := p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Path: "/", Nth: 8, Times: sdkAttempts + 1, Fault: faultproxy.InternalError})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	const n = 5*firstPartSize + 3
	want, _ := sum(t, stream(3, n))
	res, err := upload(t, c, key, 3, n, 0, WriterOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != want {
		t.Errorf("sha256 %s, want %s", res.SHA256, want)
	}
	if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want {
		t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
	}
	if f := faults(p); f != 2+sdkAttempts+1 || r.Hits(p) != sdkAttempts+1 {
		t.Errorf("%d faults injected, want %d", f, 2+sdkAttempts+1)
	}
}

func TestRetryConnectionReset(t *testing.T) {
	p := newProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 2, Times: 2, Fault: faultproxy.ResetBody})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	const n = 3 * firstPartSize
	want, _ := sum(t, stream(4, n))
	res, err := upload(t, c, key, 4, n, 0, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want || res.SHA256 != want {
		t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
	}
	if f := faults(p); f != 2 {
		t.Errorf("%d faults injected, want 2", f)
	}
}

func TestPersistentFailureAborts(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule faultproxy.Rule
		n    int64
	}{
		{"part", faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 2, Times: -1, Fault: faultproxy.InternalError}, 4 * firstPartSize},
		{"create", faultproxy.Rule{Method: "POST", Query: "uploads", Times: -1, Fault: faultproxy.SlowDown}, 2 * firstPartSize},
		{"complete", faultproxy.Rule{Method: "POST", Query: "uploadId", Times: -1, Fault: faultproxy.InternalError}, 2 * firstPartSize},
		{"single put", faultproxy.Rule{Method: "PUT", Times: -1, Fault: faultproxy.InternalError}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t)
			p.Add(tc.rule)
			c := newClient(t, p.URL)
			key := uniqueKey(t)
			_, err := upload(t, c, key, 5, tc.n, 0, WriterOptions{})
			if err == nil {
				t.Fatal("upload succeeded")
			}
			t.Logf("error: %v", err)
			assertNothingLeft(t, key)
		})
	}
}

// lossy passes requests on but, for those match selects, loses the
// answer: the server acted, the client sees a broken connection.
type lossy struct {
	next  s3.HTTPClient
	match func(*http.Request) bool
	after func()
	times atomic.Int32
}

func (l *lossy) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.next.Do(req)
	if err == nil && l.match(req) && l.times.Add(-1) >= 0 {
		resp.Body.Close()
		if l.after != nil {
			l.after()
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return resp, err
}

func lossyClient(t *testing.T, match func(*http.Request) bool, after func()) *s3.Client {
	l := &lossy{match: match, after: after}
	l.times.Store(1)
	return s3.New(newClient(t).Options(), func(o *s3.Options) {
		l.next = o.HTTPClient
		o.HTTPClient = l
	})
}

// commitRequest selects PutObject and CompleteMultipartUpload.
func commitRequest(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == "PUT" && !q.Has("partNumber") || r.Method == "POST" && q.Has("uploadId")
}

// TestCommitAnswerLost loses the answer to the commit request: the SDK
// tries again, which for a multipart upload finds it gone, and the writer
// recognises its object by the ETag.
func TestCommitAnswerLost(t *testing.T) {
	for _, n := range []int64{1000, 2*firstPartSize + 1, -1000, -(2*firstPartSize + 1)} {
		opts := WriterOptions{PartChecksum: ChecksumCRC32C}
		if n < 0 {
			n, opts.PartChecksum = -n, ChecksumMD5
		}
		c := lossyClient(t, commitRequest, nil)
		key := uniqueKey(t)
		want, _ := sum(t, stream(6, n))
		res, err := upload(t, c, key, 6, n, 0, opts)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want || res.SHA256 != want {
			t.Fatalf("%d bytes: read back sha256 %s (%v), want %s", n, got, err, want)
		}
		if res.ETag == "" {
			t.Errorf("%d bytes: no ETag in the result", n)
		}
	}
}

// TestCommitCancelledDeletes cancels the context while the commit request
// is on its way: the server completes the upload, the answer is lost, and
// the writer removes the object it made.
func TestCommitCancelledDeletes(t *testing.T) {
	for _, n := range []int64{1000, 2 * firstPartSize, -1000, -2 * firstPartSize} {
		opts := WriterOptions{PartChecksum: ChecksumCRC32C}
		if n < 0 {
			n, opts.PartChecksum = -n, ChecksumMD5
		}
		ctx, cancel := context.WithCancel(t.Context())
		c := lossyClient(t, commitRequest, cancel)
		key := uniqueKey(t)
		w := NewWriter(ctx, c, bucket, key, opts)
		w.ReadFrom(stream(6, n))
		err := w.Close()
		if err == nil || !strings.Contains(err.Error(), "aborted") {
			t.Errorf("%d bytes: Close: %v, want an abort", n, err)
		}
		assertNothingLeft(t, key)
	}
}

// rejectCRC answers every request that carries a CRC32C checksum header
// the way a service that does not know them might, and counts the
// requests with Content-MD5.
type rejectCRC struct {
	next          s3.HTTPClient
	rejected, md5 atomic.Int32
}

func (r *rejectCRC) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Checksum-Algorithm") != "" || req.Header.Get("X-Amz-Checksum-Crc32c") != "" {
		r.rejected.Add(1)
		body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>unsupported checksum</Message></Error>`
		return &http.Response{
			StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/xml"}}, Request: req,
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		}, nil
	}
	if req.Header.Get("Content-Md5") != "" && req.Method == "PUT" {
		r.md5.Add(1)
	}
	return r.next.Do(req)
}

// TestChecksumFallback uploads through a service that rejects CRC32C
// checksums: by default the writer falls back to Content-MD5 at the first
// request; asked for CRC32C explicitly, it fails with a hint.
func TestChecksumFallback(t *testing.T) {
	for _, n := range []int64{10, 2*firstPartSize + 1} {
		rc := &rejectCRC{}
		c := s3.New(newClient(t).Options(), func(o *s3.Options) {
			rc.next = o.HTTPClient
			o.HTTPClient = rc
		})
		key := uniqueKey(t)
		want, _ := sum(t, stream(12, n))
		res, err := upload(t, c, key, 12, n, 0, WriterOptions{})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want || res.SHA256 != want {
			t.Fatalf("%d bytes: read back sha256 %s (%v), want %s", n, got, err, want)
		}
		if rc.rejected.Load() != 1 || int(rc.md5.Load()) != res.Parts {
			t.Errorf("%d bytes: %d requests rejected, %d with Content-MD5; want 1 and %d", n, rc.rejected.Load(), rc.md5.Load(), res.Parts)
		}

		_, err = upload(t, c, uniqueKey(t), 12, n, 0, WriterOptions{PartChecksum: ChecksumCRC32C})
		if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || KindOf(err) != ChecksumUnsupported {
			t.Errorf("%d bytes, CRC32C required: %v (kind %v)", n, err, KindOf(err))
		}
	}
}

// TestPartChecksums uploads with each part checksum and reads back.
func TestPartChecksums(t *testing.T) {
	c := newClient(t)
	for _, algo := range []string{ChecksumMD5, ChecksumCRC32C} {
		for _, n := range []int64{0, 100, 2*firstPartSize + 100} {
			key := uniqueKey(t)
			want, _ := sum(t, stream(13, n))
			w := NewWriter(t.Context(), c, bucket, key, WriterOptions{PartChecksum: algo})
			w.ReadFrom(stream(13, n))
			if err := w.Close(); err != nil {
				t.Fatalf("%s, %d bytes: %v", algo, n, err)
			}
			// The writer recognises its object, as it must after a
			// commit whose answer was lost.
			if obj, ok, err := w.ours(t.Context()); !ok || obj.etag != w.Result().ETag {
				t.Errorf("%s, %d bytes: the writer does not recognise its object (ETag %s, %v)", algo, n, obj.etag, err)
			}
			if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want {
				t.Fatalf("%s, %d bytes: read back sha256 %s (%v), want %s", algo, n, got, err, want)
			}
		}
	}
}

// TestStalledPartRetried holds a part upload longer than an attempt may
// take: the attempt times out and the part is sent again.
func TestStalledPartRetried(t *testing.T) {
	defer func(f func(int64) time.Duration) { attemptTimeout = f }(attemptTimeout)
	attemptTimeout = func(int64) time.Duration { return 700 * time.Millisecond }
	p := newProxy(t)
	r := p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Nth: 2, Fault: faultproxy.Fault{Delay: 5 * time.Second}})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	const n = 3 * firstPartSize
	want, _ := sum(t, stream(14, n))
	res, err := upload(t, c, key, 14, n, 0, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != want || r.Hits(p) != 1 {
		t.Errorf("sha256 %s, want %s; %d stalls", res.SHA256, want, r.Hits(p))
	}
	if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want {
		t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
	}
}

// TestReadErrorIsSticky fails the source in the middle of the stream: the
// error sticks, and a Close that ignores ReadFrom's error commits nothing.
func TestReadErrorIsSticky(t *testing.T) {
	c := newClient(t)
	broken := errors.New("pipe broke")
	for _, n := range []int64{1000, 2*firstPartSize + 1} {
		key := uniqueKey(t)
		w := NewWriter(t.Context(), c, bucket, key, WriterOptions{})
		_, err := w.ReadFrom(io.MultiReader(stream(22, n), iotest.ErrReader(broken)))
		if !errors.Is(err, broken) {
			t.Fatalf("%d bytes: ReadFrom: %v", n, err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, broken) {
			t.Errorf("%d bytes: Write after the read error: %v", n, err)
		}
		if err := w.Close(); !errors.Is(err, broken) {
			t.Errorf("%d bytes: Close after the read error: %v", n, err)
		}
		assertNothingLeft(t, key)
	}
}

// scripted passes requests on, except that commit requests (PutObject,
// CompleteMultipartUpload) go to commit with their number, counted from
// 1, and HEAD requests get headStatus when it is set.
type scripted struct {
	next       s3.HTTPClient
	commit     func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error)
	headStatus int
	commits    atomic.Int32
}

func (s *scripted) Do(req *http.Request) (*http.Response, error) {
	if s.headStatus != 0 && req.Method == "HEAD" {
		return errorResponse(req, s.headStatus, ""), nil
	}
	if s.commit != nil && commitRequest(req) {
		return s.commit(s.next, req, int(s.commits.Add(1)))
	}
	return s.next.Do(req)
}

func scriptedClient(t *testing.T, s *scripted) *s3.Client {
	return s3.New(newClient(t).Options(), func(o *s3.Options) {
		s.next = o.HTTPClient
		o.HTTPClient = s
	})
}

// errorResponse is an S3 error answer; a HEAD answer has no body.
func errorResponse(req *http.Request, status int, code string) *http.Response {
	body := ""
	if req.Method != "HEAD" {
		body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>injected</Message></Error>`
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Request: req,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

var errReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// sizesAndChecksums are the uploads the commit tests make: a single PUT
// and a multipart upload, with each part checksum.
var sizesAndChecksums = []struct {
	n    int64
	algo string
}{
	{1000, ChecksumCRC32C}, {1000, ChecksumMD5},
	{2*firstPartSize + 1, ChecksumCRC32C}, {2*firstPartSize + 1, ChecksumMD5},
}

// TestCommitAnswerLostThenRefused lets the first commit request through
// but loses its answer, and refuses every retry with 503: Close fails, and
// the object the first request created is removed although the last
// answer was a clear one.
func TestCommitAnswerLostThenRefused(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			if n > 1 {
				return errorResponse(req, http.StatusServiceUnavailable, "SlowDown"), nil
			}
			resp, err := next.Do(req)
			if err == nil {
				resp.Body.Close()
				err = errReset
			}
			return nil, err
		}}
		c := scriptedClient(t, s)
		key := uniqueKey(t)
		_, err := upload(t, c, key, 23, tc.n, 0, WriterOptions{PartChecksum: tc.algo})
		if err == nil {
			t.Fatalf("%s, %d bytes: upload succeeded", tc.algo, tc.n)
		}
		if s.commits.Load() < 2 {
			t.Errorf("%s, %d bytes: %d commit requests, want retries", tc.algo, tc.n, s.commits.Load())
		}
		assertNothingLeft(t, key)
	}
}

// TestAbortKeepsIdenticalObject aborts an upload of the bytes the key
// holds already, while its commit request is on its way but before it
// reaches the server: the object that was there stays, although it looks
// like the one the writer would have made.
func TestAbortKeepsIdenticalObject(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		c := newClient(t)
		key := uniqueKey(t)
		old, err := upload(t, c, key, 24, tc.n, 0, WriterOptions{PartChecksum: tc.algo})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			cancel()
			return nil, errReset
		}}
		w := NewWriter(ctx, scriptedClient(t, s), bucket, key, WriterOptions{PartChecksum: tc.algo})
		w.ReadFrom(stream(24, tc.n))
		if err := w.Close(); err == nil || !strings.Contains(err.Error(), "aborted") || strings.Contains(err.Error(), "also:") {
			t.Errorf("%s, %d bytes: Close: %v, want only the abort", tc.algo, tc.n, err)
		}
		h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s, %d bytes: the object that was there is gone: %v", tc.algo, tc.n, err)
		}
		if aws.ToString(h.ETag) != old.ETag {
			t.Errorf("%s, %d bytes: ETag %s, want the old %s", tc.algo, tc.n, aws.ToString(h.ETag), old.ETag)
		}
		if u := unfinished(t, key); len(u) > 0 {
			t.Errorf("%s, %d bytes: unfinished uploads: %v", tc.algo, tc.n, u)
		}
	}
}

// TestCleanupCannotVerify makes the object impossible to check (HEAD is
// refused, as for credentials that may write but not read) after a commit
// went through while the writer was aborted: Close says so instead of
// claiming that nothing is left.
func TestCleanupCannotVerify(t *testing.T) {
	for _, n := range []int64{1000, 2*firstPartSize + 1} {
		ctx, cancel := context.WithCancel(t.Context())
		s := &scripted{headStatus: http.StatusForbidden, commit: func(next s3.HTTPClient, req *http.Request, _ int) (*http.Response, error) {
			resp, err := next.Do(req)
			if err == nil {
				resp.Body.Close()
				err = errReset
			}
			cancel()
			return nil, err
		}}
		key := uniqueKey(t)
		w := NewWriter(ctx, scriptedClient(t, s), bucket, key, WriterOptions{})
		w.ReadFrom(stream(25, n))
		err := w.Close()
		if err == nil || !strings.Contains(err.Error(), "could not verify that s3://"+bucket+"/"+key+" was not created") {
			t.Errorf("%d bytes: Close: %v, want the failed check", n, err)
		}
		srv.Client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	}
}

// TestCompleteAttemptTimeout stalls the first CompleteMultipartUpload
// longer than an attempt may take: Close does not wait for it, and either
// a retry completes the upload or nothing is left.
func TestCompleteAttemptTimeout(t *testing.T) {
	defer func(d time.Duration) { completeTimeout = d }(completeTimeout)
	completeTimeout = 500 * time.Millisecond
	p := newProxy(t)
	r := p.Add(faultproxy.Rule{Method: "POST", Query: "uploadId", Fault: faultproxy.Fault{Delay: 10 * time.Second}})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	const n = 2*firstPartSize + 1
	want, _ := sum(t, stream(26, n))
	start := time.Now()
	res, err := upload(t, c, key, 26, n, 0, WriterOptions{})
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the upload took %v", d)
	}
	if r.Hits(p) != 1 {
		t.Errorf("%d stalls, want 1", r.Hits(p))
	}
	if err != nil {
		t.Logf("upload: %v", err)
		assertNothingLeft(t, key)
		return
	}
	if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want || res.SHA256 != want {
		t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
	}
}

// TestCreateAnswerLost loses the answer to the first
// CreateMultipartUpload: the SDK's retry creates a second upload, and the
// writer aborts the first, which no ID names.
func TestCreateAnswerLost(t *testing.T) {
	create := func(r *http.Request) bool { return r.Method == "POST" && r.URL.Query().Has("uploads") }
	for _, fail := range []bool{false, true} {
		c := lossyClient(t, create, nil)
		key := uniqueKey(t)
		const n = 2*firstPartSize + 1
		want, _ := sum(t, stream(27, n))
		w := NewWriter(t.Context(), c, bucket, key, WriterOptions{})
		if _, err := w.ReadFrom(stream(27, n)); err != nil {
			t.Fatal(err)
		}
		if fail {
			if err := w.Abort(nil); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			assertNothingLeft(t, key)
			continue
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if u := unfinished(t, key); len(u) > 0 {
			t.Errorf("unfinished uploads: %v", u)
		}
		if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want {
			t.Fatalf("read back sha256 %s (%v), want %s", got, err, want)
		}
	}
}

package s3stream

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

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
	r := p.Add(faultproxy.Rule{Method: "POST", Query: "uploadId", Fault: faultproxy.Fault{Delay: 10 * hangGuard}})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	const n = 2*firstPartSize + 1
	want, _ := sum(t, stream(26, n))
	type result struct {
		res Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := upload(t, c, key, 26, n, 0, WriterOptions{})
		done <- result{res, err}
	}()
	var res Result
	var err error
	select {
	case d := <-done:
		res, err = d.res, d.err
	case <-time.After(hangGuard):
		t.Fatalf("Close still waits for the stalled completion after %v", hangGuard)
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

package s3stream

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
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

// hangGuard bounds a wait that must end by itself. A test holds the
// requests that must not be waited for ten times as long, so a wait that
// ends within it ended without them. It measures no speed: the slowest
// machine stays far below it.
const hangGuard = time.Minute

// TestAbortWhileBlocked aborts from another goroutine while ReadFrom
// waits for part uploads held up by the proxy: ReadFrom returns the
// abort's cause without waiting for them.
func TestAbortWhileBlocked(t *testing.T) {
	p := newProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Query: "partNumber", Times: -1, Fault: faultproxy.Fault{Delay: 10 * hangGuard}})
	c := newClient(t, p.URL)
	key := uniqueKey(t)
	w := NewWriter(t.Context(), c, bucket, key, WriterOptions{Concurrency: 1})
	// With one part uploading and the next one full, ReadFrom waits.
	src := &signalReader{r: stream(1, 10*firstPartSize), at: 2 * firstPartSize, reached: make(chan struct{})}
	go func() {
		<-src.reached
		w.Abort(errors.New("stop"))
	}()
	done := make(chan error, 1)
	go func() {
		_, err := w.ReadFrom(src)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "stop" {
			t.Fatalf("ReadFrom: %v, want the abort's cause", err)
		}
	case <-time.After(hangGuard):
		t.Fatalf("ReadFrom still waits for the held part uploads %v after the abort", hangGuard)
	}
	if n := src.n.Load(); n > 2*firstPartSize {
		t.Errorf("ReadFrom took %d bytes, more than the two parts it may hold", n)
	}
	w.Close()
	assertNothingLeft(t, key)
}

// signalReader reads r and closes reached once it has handed out at bytes.
type signalReader struct {
	r       io.Reader
	at      int64
	n       atomic.Int64
	reached chan struct{}
}

func (s *signalReader) Read(p []byte) (int, error) {
	k, err := s.r.Read(p)
	if n := s.n.Add(int64(k)); n >= s.at && n-int64(k) < s.at {
		close(s.reached)
	}
	return k, err
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

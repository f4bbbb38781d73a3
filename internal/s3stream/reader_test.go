package s3stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// putPlain stores an object with a plain PutObject, as another tool would.
func putPlain(t *testing.T, key string, body []byte) string {
	t.Helper()
	out, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ETag)
}

func TestReaderObjectsOfOtherTools(t *testing.T) {
	c := newClient(t)
	for _, n := range []int{0, 1, 4095, 3 << 20, 3<<20 + 1} {
		key := uniqueKey(t)
		body, _ := io.ReadAll(stream(uint64(n), int64(n)))
		putPlain(t, key, body)
		sizes := []int64{0, 1 << 20}
		if n < 10000 {
			sizes = append(sizes, 1000)
		}
		for _, rs := range sizes {
			r, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{RangeSize: rs, Concurrency: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := iotest.TestReader(r, body); err != nil {
				t.Errorf("%d bytes, ranges of %d: %v", n, rs, err)
			}
			r.Close()
		}
	}
}

func TestReaderErrors(t *testing.T) {
	c := newClient(t)
	_, err := NewReader(t.Context(), c, bucket, "no/such/key", ReaderOptions{})
	if KindOf(err) != NotFound || !strings.Contains(err.Error(), "no such object") {
		t.Errorf("missing key: %v", err)
	}
	_, err = NewReader(t.Context(), c, "no-such-bucket", "k", ReaderOptions{})
	if KindOf(err) != NoSuchBucket || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestReaderRetries(t *testing.T) {
	key := uniqueKey(t)
	body, _ := io.ReadAll(stream(7, 5<<20+3))
	putPlain(t, key, body)
	for _, tc := range []struct {
		name string
		rule faultproxy.Rule
	}{
		{"server error", faultproxy.Rule{Method: "GET", Nth: 2, Times: 2, Fault: faultproxy.InternalError}},
		{"beyond the SDK's attempts", faultproxy.Rule{Method: "GET", Nth: 3, Times: sdkAttempts + 2, Fault: faultproxy.SlowDown}},
		{"connection reset", faultproxy.Rule{Method: "GET", Nth: 2, Times: 2, Fault: faultproxy.ResetBody}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t)
			r := p.Add(tc.rule)
			c := newClient(t, p.URL)
			rd, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{RangeSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			got, err := io.ReadAll(rd)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read %d bytes (%v), want the %d put", len(got), err, len(body))
			}
			if want := tc.rule.Times; r.Hits(p) != want {
				t.Errorf("%d faults, want %d", r.Hits(p), want)
			}
		})
	}
	t.Run("persistent", func(t *testing.T) {
		p := newProxy(t)
		p.Add(faultproxy.Rule{Method: "GET", Nth: 3, Times: -1, Fault: faultproxy.InternalError})
		rd, err := NewReader(t.Context(), newClient(t, p.URL), bucket, key, ReaderOptions{RangeSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		n, err := io.Copy(io.Discard, rd)
		if err == nil || !strings.Contains(err.Error(), "InternalError") {
			t.Fatalf("read %d bytes, error %v; want an InternalError", n, err)
		}
		if _, err2 := rd.Read(make([]byte, 10)); err2 != err {
			t.Errorf("error not sticky: %v", err2)
		}
	})
}

// cutting breaks the body of the second GET after 100,000 bytes, as a
// connection dying in the middle of a response would, and records the
// ranges asked for.
type cutting struct {
	next   s3.HTTPClient
	mu     sync.Mutex
	gets   int
	ranges []string
}

type cutBody struct {
	io.ReadCloser
	left int
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func (c *cutting) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil || req.Method != "GET" {
		return resp, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	c.ranges = append(c.ranges, req.Header.Get("Range"))
	if c.gets == 2 {
		resp.Body = &cutBody{resp.Body, 100000}
	}
	return resp, err
}

// TestReaderResumesRange breaks a response body in the middle: the range is
// asked for again from where it broke off.
func TestReaderResumesRange(t *testing.T) {
	key := uniqueKey(t)
	body, _ := io.ReadAll(stream(11, 3<<20))
	putPlain(t, key, body)
	cut := &cutting{}
	c := s3.New(newClient(t).Options(), func(o *s3.Options) {
		cut.next = o.HTTPClient
		o.HTTPClient = cut
	})
	r, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{RangeSize: 1 << 20, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes (%v), want the %d put", len(got), err, len(body))
	}
	// Three ranges and one resumed 100,000 bytes into the range it broke.
	resumed := 0
	for _, r := range cut.ranges {
		var from, to int64
		fmt.Sscanf(r, "bytes=%d-%d", &from, &to)
		if from%(1<<20) == 100000 && to%(1<<20) == 1<<20-1 {
			resumed++
		}
	}
	if len(cut.ranges) != 4 || resumed != 1 {
		t.Errorf("ranges %v, want 3 and one resumed", cut.ranges)
	}
}

// TestReaderObjectReplaced overwrites the object in the middle of a
// download: the ranges pinned to the old ETag fail instead of mixing.
func TestReaderObjectReplaced(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	body, _ := io.ReadAll(stream(8, 6<<20))
	putPlain(t, key, body)
	r, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{RangeSize: 1 << 20, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	putPlain(t, key, bytes.ToUpper(body))
	_, err = io.Copy(io.Discard, r)
	if err == nil || !strings.Contains(err.Error(), "the object changed during the download") {
		t.Fatalf("got %v, want the object-changed error", err)
	}
}

func TestManifest(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	if _, err := ReadManifest(t.Context(), c, bucket, key); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("no manifest yet: %v", err)
	}
	res, err := upload(t, c, key, 10, 2*firstPartSize+10, 0, WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest()
	m.Tool = "test"
	m.Backup = json.RawMessage(`{"database":"sales","plain_size":123}`)
	if err := WriteManifest(t.Context(), c, bucket, key, m, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(t.Context(), c, bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Size != res.Size || got.SHA256 != res.SHA256 || got.Parts != 3 || got.PartSize != firstPartSize ||
		got.ETag != res.ETag || got.Key != key || got.Bucket != bucket || got.Tool != "test" || !got.Completed.Equal(res.Completed) {
		t.Errorf("read back %+v, want %+v", got, m)
	}
	var b struct {
		Database  string `json:"database"`
		PlainSize int64  `json:"plain_size"`
	}
	if err := json.Unmarshal(got.Backup, &b); err != nil || b.Database != "sales" || b.PlainSize != 123 {
		t.Errorf("backup field %s", got.Backup)
	}
	// The JSON keys are the documented ones.
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(ManifestKey(key))})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(out.Body)
	out.Body.Close()
	for _, k := range []string{`"version": 1`, `"sha256": "` + res.SHA256, `"size": `, `"parts": 3`, `"part_size": 8388608`, `"completed": "`, `"etag": `, `"backup": {`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("manifest JSON lacks %s:\n%s", k, js)
		}
	}

	// A download with the manifest passes.
	if _, _, err := download(t, c, key, ReaderOptions{Verify: got}); err != nil {
		t.Errorf("verified download: %v", err)
	}
	// A wrong checksum fails at the end; a wrong size before any byte.
	bad := *got
	bad.SHA256 = strings.Repeat("0", 64)
	_, n, err := download(t, c, key, ReaderOptions{Verify: &bad})
	var ce *ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) || n != res.Size || !strings.HasPrefix(err.Error(), "checksum mismatch") {
		t.Errorf("wrong sha256: read %d bytes, error %v", n, err)
	}
	bad = *got
	bad.Size++
	if _, err := NewReader(t.Context(), c, bucket, key, ReaderOptions{Verify: &bad}); !errors.Is(err, ErrChecksum) {
		t.Errorf("wrong size: %v", err)
	}
	// A manifest of an empty object.
	key0 := uniqueKey(t)
	res0, err := upload(t, c, key0, 0, 0, 0, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, n, err := download(t, c, key0, ReaderOptions{Verify: res0.Manifest()}); err != nil || n != 0 {
		t.Errorf("empty object: %d bytes, %v", n, err)
	}
}

// TestReaderCancelledAfterDispatch reads after the context was cancelled
// and the dispatcher closed its queue: Read fails with the abort and does
// not take the closed queue's nil for a range.
func TestReaderCancelledAfterDispatch(t *testing.T) {
	c := newClient(t)
	key := uniqueKey(t)
	body, _ := io.ReadAll(stream(21, 4<<16))
	putPlain(t, key, body)
	for range 20 {
		ctx, cancel := context.WithCancelCause(t.Context())
		r, err := NewReader(ctx, c, bucket, key, ReaderOptions{Concurrency: 1, RangeSize: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		cancel(errors.New("interrupt"))
		r.wg.Wait()
		for range r.queue {
		}
		if _, err := r.Read(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "aborted: interrupt") {
			t.Fatalf("Read after cancel: %v", err)
		}
		if _, err := r.WriteTo(io.Discard); err == nil {
			t.Fatal("WriteTo after cancel succeeded")
		}
		r.Close()
	}
}

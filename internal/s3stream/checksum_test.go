package s3stream

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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

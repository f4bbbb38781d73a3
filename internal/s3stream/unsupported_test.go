package s3stream

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// notImplemented is a store's answer to a request that uses a feature it
// lacks.
var notImplemented = faultproxy.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented",
	Message: "A header you provided implies functionality that is not implemented"}

// TestUnsupported uploads through a store that answers the requests that
// use one feature with 501 NotImplemented (or 400 naming the header): the
// upload fails with one line naming the feature, of the feature's Kind,
// and leaves neither an object nor an unfinished upload behind.
func TestUnsupported(t *testing.T) {
	const (
		single    = 100
		multipart = 2*firstPartSize + 1
	)
	lock := WriterOptions{LockMode: LockGovernance, LockUntil: time.Now().Add(time.Hour)}
	withLock := func(o WriterOptions) WriterOptions {
		o.LockMode, o.LockUntil = lock.LockMode, lock.LockUntil
		return o
	}
	named := func(f faultproxy.Fault, msg string) faultproxy.Fault { f.Message = msg; return f }
	for _, tc := range []struct {
		name  string
		rule  faultproxy.Rule
		opts  WriterOptions
		size  int64
		kind  Kind
		feats []Kind // for Unsupported
		line  string // in the error
	}{
		{"conditional put", faultproxy.Rule{Method: "PUT", Header: "If-None-Match"}, WriterOptions{NoOverwrite: true}, single,
			ConditionalWriteUnsupported, nil, "upload to s3://stream/%s: the store does not support conditional writes (If-None-Match): NotImplemented: A header you provided implies functionality that is not implemented (HTTP 501)"},
		{"conditional complete", faultproxy.Rule{Method: "POST", Query: "uploadId", Header: "If-None-Match"}, WriterOptions{NoOverwrite: true}, multipart,
			ConditionalWriteUnsupported, nil, "complete upload to s3://stream/%s: the store does not support conditional writes (If-None-Match): NotImplemented"},
		{"conditional put, 400 naming the header", faultproxy.Rule{Method: "PUT", Header: "If-None-Match",
			Fault: faultproxy.Fault{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Unsupported header 'If-None-Match' received for this API call."}},
			WriterOptions{NoOverwrite: true}, single,
			ConditionalWriteUnsupported, nil, "the store does not support conditional writes (If-None-Match): InvalidArgument: Unsupported header 'If-None-Match' received for this API call (HTTP 400)"},
		{"crc32c part", faultproxy.Rule{Method: "PUT", Query: "partNumber", Header: "X-Amz-Checksum-Crc32c"}, WriterOptions{}, multipart,
			ChecksumUnsupported, nil, " to s3://stream/%s: the store does not support CRC32C checksums (x-amz-checksum-crc32c): NotImplemented"},
		{"crc32c put, asked for", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Checksum-Crc32c"}, WriterOptions{PartChecksum: ChecksumCRC32C}, single,
			ChecksumUnsupported, nil, "the store does not support CRC32C checksums (x-amz-checksum-crc32c): NotImplemented"},
		{"object lock put", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Object-Lock-Mode"}, lock, single,
			ObjectLockUnsupported, nil, "upload to s3://stream/%s: the store does not support Object Lock (x-amz-object-lock-*): NotImplemented"},
		{"object lock create, named", faultproxy.Rule{Method: "POST", Query: "uploads", Header: "X-Amz-Object-Lock-Mode",
			Fault: named(notImplemented, "Header 'x-amz-object-lock-mode' with value 'GOVERNANCE' not implemented")}, lock, multipart,
			ObjectLockUnsupported, nil, "the store does not support Object Lock (x-amz-object-lock-*): NotImplemented: Header 'x-amz-object-lock-mode' with value 'GOVERNANCE' not implemented (HTTP 501)"},
		{"object lock create, unnamed", faultproxy.Rule{Method: "POST", Query: "uploads", Header: "X-Amz-Object-Lock-Mode"}, lock, multipart,
			Unsupported, []Kind{ObjectLockUnsupported, MultipartUnsupported}, "the store does not support Object Lock (x-amz-object-lock-*) or multipart uploads: NotImplemented"},
		{"object lock and conditional put", faultproxy.Rule{Method: "PUT", Header: "If-None-Match"}, withLock(WriterOptions{NoOverwrite: true}), single,
			Unsupported, []Kind{ObjectLockUnsupported, ConditionalWriteUnsupported}, "the store does not support Object Lock (x-amz-object-lock-*) or conditional writes (If-None-Match): NotImplemented"},
		{"sse put", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Server-Side-Encryption"}, WriterOptions{SSE: "AES256"}, single,
			SSEUnsupported, nil, "the store does not support server-side encryption (x-amz-server-side-encryption): NotImplemented"},
		{"storage class create", faultproxy.Rule{Method: "POST", Query: "uploads", Header: "X-Amz-Storage-Class",
			Fault: named(notImplemented, "x-amz-storage-class GLACIER is not implemented")}, WriterOptions{StorageClass: "GLACIER"}, multipart,
			StorageClassUnsupported, nil, "the store does not support storage classes (x-amz-storage-class): NotImplemented"},
		{"multipart", faultproxy.Rule{Method: "POST", Query: "uploads"}, WriterOptions{NoOverwrite: true}, multipart,
			MultipartUnsupported, nil, "upload to s3://stream/%s: the store does not support multipart uploads: NotImplemented"},
		{"400 about the header's value", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Object-Lock-Mode",
			Fault: faultproxy.Fault{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "x-amz-object-lock-retain-until-date must be in the future"}}, lock, single,
			Unclassified, nil, "upload to s3://stream/%s: InvalidArgument: x-amz-object-lock-retain-until-date must be in the future (HTTP 400)"},
		{"400 about something else", faultproxy.Rule{Method: "PUT", Header: "If-None-Match",
			Fault: faultproxy.Fault{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Invalid argument"}}, WriterOptions{NoOverwrite: true}, single,
			Unclassified, nil, "upload to s3://stream/%s: InvalidArgument: Invalid argument (HTTP 400)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t)
			tc.rule.Times = -1
			if tc.rule.Fault.Status == 0 {
				tc.rule.Fault = notImplemented
			}
			r := p.Add(tc.rule)
			key := uniqueKey(t)
			_, err := upload(t, newClient(t, p.URL), key, 1, tc.size, 0, tc.opts)
			line := strings.ReplaceAll(tc.line, "%s", key)
			if err == nil || !strings.Contains(err.Error(), line) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got  %v\nwant %s", err, line)
			}
			var feats []Kind
			if e := (*Error)(nil); errors.As(err, &e) {
				feats = e.Features
			}
			if k := KindOf(err); k != tc.kind || !slices.Equal(feats, tc.feats) {
				t.Errorf("kind %v %v, want %v %v", k, feats, tc.kind, tc.feats)
			}
			if r.Hits(p) == 0 {
				t.Error("the fault was never injected")
			}
			assertNothingLeft(t, key)
		})
	}
}

// TestUnsupportedChecksumFallBack: with the part checksum left to the
// writer, a 501 to the first request's CRC32C is the fall-back to
// Content-MD5, as a 400 is (TestChecksumFallback), and the upload succeeds.
func TestUnsupportedChecksumFallBack(t *testing.T) {
	for _, n := range []int64{100, 2*firstPartSize + 1} {
		p := newProxy(t)
		p.Add(faultproxy.Rule{Header: "X-Amz-Checksum-Crc32c", Times: -1, Fault: notImplemented})
		p.Add(faultproxy.Rule{Header: "X-Amz-Checksum-Algorithm", Times: -1, Fault: notImplemented})
		key := uniqueKey(t)
		if _, err := upload(t, newClient(t, p.URL), key, 1, n, 0, WriterOptions{NoOverwrite: true}); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
		if !exists(t, key) {
			t.Errorf("%d bytes: no object", n)
		}
	}
}

// TestUnsupportedManifest: a store that rejects the manifest's
// conditional write says so, and the manifest is not there.
func TestUnsupportedManifest(t *testing.T) {
	p := newProxy(t)
	p.Add(faultproxy.Rule{Method: "PUT", Header: "If-None-Match", Times: -1, Fault: notImplemented})
	key := uniqueKey(t)
	m := &Manifest{Version: ManifestVersion, Bucket: bucket, Key: key, SHA256: "00"}
	err := WriteManifest(t.Context(), newClient(t, p.URL), bucket, key, m, &WriterOptions{NoOverwrite: true})
	want := "write manifest s3://stream/" + key + ".manifest.json: the store does not support conditional writes (If-None-Match): NotImplemented"
	if err == nil || !strings.Contains(err.Error(), want) || KindOf(err) != ConditionalWriteUnsupported {
		t.Errorf("got  %v (%v)\nwant %s", err, KindOf(err), want)
	}
	if exists(t, ManifestKey(key)) {
		t.Error("the manifest is there")
	}
}

// TestUnsupportedBucketLock: a store without Object Lock that answers
// GetObjectLockConfiguration with 501 says so.
func TestUnsupportedBucketLock(t *testing.T) {
	p := newProxy(t)
	p.Add(faultproxy.Rule{Method: "GET", Query: "object-lock", Times: -1, Fault: notImplemented})
	_, err := ReadBucketLock(t.Context(), newClient(t, p.URL), bucket)
	want := "read the object lock configuration of s3://stream: the store does not support Object Lock (x-amz-object-lock-*): NotImplemented"
	if err == nil || !strings.Contains(err.Error(), want) || KindOf(err) != ObjectLockUnsupported {
		t.Errorf("got  %v (%v)\nwant %s", err, KindOf(err), want)
	}
}

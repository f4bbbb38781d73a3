package s3stream

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// TestCheckWrite: the check sends the Writer's CreateMultipartUpload, with
// the object's fields, and aborts it; it leaves nothing, and an object at
// the key stays. Refusals name the permission.
func TestCheckWrite(t *testing.T) {
	ctx := t.Context()
	key := uniqueKey(t)
	if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("there before"))}); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t)
	c := newClient(t, p.URL)
	opts := WriterOptions{StorageClass: "STANDARD", ContentType: "application/octet-stream", Metadata: map[string]string{"m": "v"}}
	if err := CheckWrite(ctx, c, bucket, key, opts); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, r := range p.Requests() {
		methods = append(methods, r.Method+" "+r.RawQuery)
		if r.Method == "POST" && (r.Header.Get("X-Amz-Meta-M") != "v" || r.Header.Get("X-Amz-Storage-Class") != "STANDARD" || r.Header.Get("X-Amz-Checksum-Algorithm") != "CRC32C") {
			t.Errorf("CreateMultipartUpload without the object's fields: %v", r.Header)
		}
	}
	if len(methods) < 2 || methods[0] != "POST uploads=" || methods[1][:7] != "DELETE " {
		t.Errorf("requests: %q, want CreateMultipartUpload, then its abort", methods)
	}
	if ids := unfinished(t, key); len(ids) != 0 {
		t.Errorf("left %q", ids)
	}
	if out, err := srv.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Error(err)
	} else if got, _ := io.ReadAll(out.Body); string(got) != "there before" {
		t.Errorf("the object at the key changed: %q", got)
	}

	// Refused: no upload, and the permission the lock fields need too.
	p.Add(faultproxy.Rule{Method: "POST", Query: "uploads", Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	lock := WriterOptions{LockMode: LockGovernance, LockUntil: time.Now().Add(time.Hour)}
	err := CheckWrite(ctx, c, bucket, key, lock)
	var e *Error
	if !errors.As(err, &e) || e.Kind != AccessDenied || e.Permission != "s3:PutObject and s3:PutObjectRetention" {
		t.Errorf("refused: %v (%+v)", err, e)
	}

	// A retried create whose strays may not be listed: allowed, the
	// create's own upload aborted, and the listing's permission named.
	p.Add(faultproxy.Rule{Method: "POST", Query: "uploads", Fault: faultproxy.Fault{Status: 503, Code: "SlowDown"}})
	p.Add(faultproxy.Rule{Method: "GET", Query: "uploads", Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	err = CheckWrite(ctx, c, bucket, key, opts)
	if !errors.As(err, &e) || e.Kind != AccessDenied || e.Permission != "s3:ListBucketMultipartUploads" {
		t.Errorf("strays not listed: %v", err)
	}
	var se *StrayError
	if !errors.As(err, &se) || !errors.As(err, new(*AbortError)) {
		t.Errorf("strays not listed: %v, want an AbortError of a StrayError", err)
	}
	if ids := unfinished(t, key); len(ids) != 0 {
		t.Errorf("strays not listed: left %q", ids)
	}

	// The parts may not be listed after the abort: one more abort after
	// a moment stands for the listing, and the answer is taken.
	p.Add(faultproxy.Rule{Method: "GET", Query: "uploadId", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	before := len(p.Requests())
	if err := CheckWrite(ctx, c, bucket, key, opts); err != nil {
		t.Errorf("parts not listed: %v", err)
	}
	var seen []string
	for _, r := range p.Requests()[before:] {
		seen = append(seen, r.Method)
	}
	if !slices.Equal(seen, []string{"POST", "DELETE", "GET", "DELETE"}) {
		t.Errorf("parts not listed: requests %q, want the create, the abort, the refused listing and one more abort", seen)
	}
	if ids := unfinished(t, key); len(ids) != 0 {
		t.Errorf("parts not listed: left %q", ids)
	}
	p.Clear()

	// The abort refused: allowed, but an upload is left.
	p.Add(faultproxy.Rule{Method: "DELETE", Times: -1, Fault: faultproxy.Fault{Status: 403, Code: "AccessDenied"}})
	err = CheckWrite(ctx, c, bucket, key, opts)
	var ae *AbortError
	if !errors.As(err, &ae) || !errors.As(err, &e) || e.Permission != "s3:AbortMultipartUpload" {
		t.Errorf("abort refused: %v", err)
	}
	if ids := unfinished(t, key); len(ids) != 1 {
		t.Errorf("abort refused: uploads %q, want the check's", ids)
	}
	for _, u := range unfinished(t, key) {
		id := u[strings.LastIndexByte(u, ' ')+1:]
		if _, err := srv.Client().AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
}

package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// TestStoreNotImplemented: a store that answers 501 NotImplemented to the
// requests that use a feature fails the backup with a line naming the
// feature and a hint naming the setting that avoids it, or saying that
// none does; nothing is left in the bucket.
func TestStoreNotImplemented(t *testing.T) {
	t.Parallel()
	_, list := sourceDatabase(t, "ni")
	fault := faultproxy.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented",
		Message: "A header you provided implies functionality that is not implemented"}
	named := func(msg string) faultproxy.Fault { f := fault; f.Message = msg; return f }
	for _, tc := range []struct {
		name  string
		rule  faultproxy.Rule
		env   []string
		code  int
		lines []string
	}{
		{"conditional writes", faultproxy.Rule{Header: "If-None-Match", Fault: fault}, nil, 1, []string{
			"error: ni: completing the upload: upload to s3://%s/ni-",
			": the store does not support conditional writes (If-None-Match): NotImplemented: A header you provided implies functionality that is not implemented (HTTP 501)\n",
			"hint: ni: no setting turns them off: they keep an upload from replacing an object another one wrote at the same key; use a store that supports If-None-Match\n",
		}},
		// The write check, before any pg_dump: the multipart upload it
		// starts carries the objects' headers.
		{"server-side encryption, write check", faultproxy.Rule{Method: "POST", Query: "uploads", Header: "X-Amz-Server-Side-Encryption", Fault: named("Header 'x-amz-server-side-encryption' with value 'AES256' not implemented")},
			[]string{"S3_SSE=AES256"}, 2, []string{
				"error: upload to s3://%s/.iron-streaming-backup-write-check: the store does not support server-side encryption (x-amz-server-side-encryption): NotImplemented",
				"hint: unset S3_SSE, or use a store that supports server-side encryption\n",
			}},
		// The store's message names the header, as some stores' do; the
		// single PUT of a small dump (the write check passes).
		{"server-side encryption", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Server-Side-Encryption", Fault: named("Header 'x-amz-server-side-encryption' with value 'AES256' not implemented")},
			[]string{"S3_SSE=AES256"}, 1, []string{
				": the store does not support server-side encryption (x-amz-server-side-encryption): NotImplemented: Header 'x-amz-server-side-encryption' with value 'AES256' not implemented (HTTP 501)\n",
				"hint: ni: unset S3_SSE, or use a store that supports server-side encryption\n",
			}},
		// It does not: the object's PUT also carried If-None-Match.
		{"server-side encryption, unnamed", faultproxy.Rule{Method: "PUT", Header: "X-Amz-Server-Side-Encryption", Fault: fault}, []string{"S3_SSE=AES256"}, 1, []string{
			": the store does not support server-side encryption (x-amz-server-side-encryption) or conditional writes (If-None-Match): NotImplemented",
			"hint: ni: for server-side encryption: unset S3_SSE, or use a store that supports server-side encryption; for conditional writes: no setting turns them off",
		}},
		// Before any pg_dump, as for a bucket without Object Lock: a
		// change of settings or store fixes it.
		{"object lock", faultproxy.Rule{Method: "GET", Query: "object-lock", Fault: fault}, []string{"OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=1"}, 2, []string{
			"error: read the object lock configuration of s3://%s: the store does not support Object Lock (x-amz-object-lock-*): NotImplemented",
			"hint: unset OBJECT_LOCK_MODE and OBJECT_LOCK_LEGAL_HOLD, or use a store that supports Object Lock\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := newBucket(t)
			p, err := faultproxy.New(srv.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			tc.rule.Times = -1
			p.Add(tc.rule)
			r := runJob(t, jobEnv(list, bucket, p.URL, tc.env...))
			t.Logf("job log:\n%s", r.stderr)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			for _, l := range tc.lines {
				if l = strings.ReplaceAll(l, "%s", bucket); !strings.Contains(r.stderr, l) {
					t.Errorf("the log lacks %q", l)
				}
			}
			if keys := objects(t, bucket); len(keys) != 0 {
				t.Errorf("bucket holds %q", keys)
			}
			if n := uploadsInProgress(t, bucket); n != 0 {
				t.Errorf("%d unfinished multipart uploads", n)
			}
		})
	}
}

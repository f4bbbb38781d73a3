package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// TestChecksumSetting: S3_CHECKSUM=when_required sends no flexible
// checksum header (x-amz-checksum-*, x-amz-sdk-checksum-algorithm) in any
// request, and Content-MD5 with the object; auto sends the object's
// CRC32C. The proxy records what the job sends.
func TestChecksumSetting(t *testing.T) {
	t.Parallel()
	_, list := sourceDatabase(t, "cksum")
	for _, tc := range []struct {
		setting, want string
	}{
		{"when_required", "Content-Md5"},
		{"auto", "X-Amz-Checksum-Crc32c"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			bucket := newBucket(t)
			p, err := faultproxy.New(srv.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if r := runJob(t, jobEnv(list, bucket, p.URL, "S3_CHECKSUM="+tc.setting)); r.code != 0 {
				t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
			}
			var put http.Header
			for _, req := range p.Requests() {
				for name := range req.Header {
					if tc.setting == "when_required" && (strings.HasPrefix(name, "X-Amz-Checksum-") || name == "X-Amz-Sdk-Checksum-Algorithm") {
						t.Errorf("%s %s sent %s", req.Method, req.Path, name)
					}
				}
				if req.Method == "PUT" && strings.HasSuffix(req.Path, ".gz.aes") {
					put = req.Header
				}
			}
			if put == nil || put.Get(tc.want) == "" {
				t.Errorf("the object's PUT lacks %s: %v", tc.want, put)
			}
		})
	}
	if r := runJob(t, jobEnv(list, "x", "", "S3_CHECKSUM=sha1")); r.code != 2 || !strings.Contains(r.stderr, `S3_CHECKSUM="sha1": use auto or when_required`) {
		t.Errorf("a bad value: exit %d\n%s", r.code, r.stderr)
	}
}

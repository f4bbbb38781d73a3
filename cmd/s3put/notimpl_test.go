package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3test"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

// TestNotImplemented: a store that answers 501 NotImplemented to the
// requests that use a feature fails the upload, exit 1, with one error
// line naming the feature and a hint naming the flag that avoids it;
// nothing is left behind.
func TestNotImplemented(t *testing.T) {
	fault := faultproxy.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented",
		Message: "A header you provided implies functionality that is not implemented"}
	for _, tc := range []struct {
		name, header string
		args         []string
		size         int64
		line, hint   string
	}{
		{"no-clobber", "If-None-Match", []string{"--no-clobber"}, 100,
			"the store does not support conditional writes (If-None-Match): NotImplemented",
			"leave out --no-clobber if the upload may replace an object at the key"},
		{"no-clobber, in parts", "If-None-Match", []string{"--no-clobber"}, 17_000_000,
			"the store does not support conditional writes (If-None-Match): NotImplemented",
			"leave out --no-clobber if the upload may replace an object at the key"},
		{"sse", "X-Amz-Server-Side-Encryption", []string{"--sse", "AES256"}, 100,
			"the store does not support server-side encryption (x-amz-server-side-encryption): NotImplemented",
			"leave out --sse, or use a store that supports server-side encryption"},
		{"part checksum", "X-Amz-Checksum-Crc32c", []string{"--part-checksum", "crc32c"}, 100,
			"the store does not support CRC32C checksums (x-amz-checksum-crc32c): NotImplemented",
			"if the service does not support CRC32C checksums, upload with --part-checksum md5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := faultproxy.New(s3test.Server.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Add(faultproxy.Rule{Header: tc.header, Times: -1, Fault: fault})
			key := "notimpl/" + strings.ReplaceAll(tc.name, " ", "-")
			code, stderr := put(t, s3test.Stream(6, tc.size), append(tc.args, "--endpoint", p.URL, "s3://"+s3test.Bucket+"/"+key)...)
			lines := errorLines(stderr)
			if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "s3://"+s3test.Bucket+"/"+key+": "+tc.line) {
				t.Errorf("exit %d\n%s\nwant exit 1 and one error line with %q", code, stderr, tc.line)
			}
			if !strings.Contains(stderr, "\ns3put: hint: "+tc.hint+"\n") {
				t.Errorf("no hint %q:\n%s", tc.hint, stderr)
			}
			if exists(t, key) || exists(t, s3stream.ManifestKey(key)) || unfinished(t, key) > 0 {
				t.Errorf("object %v, manifest %v, %d unfinished uploads after the failure",
					exists(t, key), exists(t, s3stream.ManifestKey(key)), unfinished(t, key))
			}
		})
	}
}

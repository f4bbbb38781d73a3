package s3stream

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key, err string
	}{
		{"s3://b-1/k", "b-1", "k", ""},
		{"s3://backups/dir/db-20261127.gz.aes", "backups", "dir/db-20261127.gz.aes", ""},
		{"s3://bkt/a//b/", "bkt", "a//b/", ""},
		{"s3://bkt/with space", "bkt", "with space", ""},
		{"s3://bkt", "", "", "has no object key"},
		{"s3://bkt/", "", "", "has no object key"},
		{"s3:///key", "", "", "has no bucket"},
		{"bkt/key", "", "", "is not an s3://BUCKET/KEY URL"},
		{"S3://bkt/key", "", "", "is not an s3://BUCKET/KEY URL"},
		{"s3://Bucket/key", "", "", "invalid bucket name"},
		{"s3://ab/key", "", "", "invalid bucket name"},
		{"s3://bkt/" + strings.Repeat("k", 1025), "", "", "longer than 1024"},
	} {
		name := tc.in
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run(name, func(t *testing.T) {
			b, k, err := ParseURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || b != tc.bucket || k != tc.key {
				t.Fatalf("got %q %q %v, want %q %q", b, k, err, tc.bucket, tc.key)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b-1/k", "s3://bkt/a//b/", "s3:///k", "s3://bkt", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, k, err := ParseURL(s)
		if err != nil {
			return
		}
		if "s3://"+b+"/"+k != s || CheckBucket(b) != nil || k == "" {
			t.Fatalf("ParseURL(%q) = %q, %q", s, b, k)
		}
	})
}

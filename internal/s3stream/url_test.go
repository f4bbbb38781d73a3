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

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"64MiB", 64 << 20, true},
		{"64M", 64 << 20, true},
		{"64mb", 64 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"512k", 512 << 10, true},
		{"2 G", 2 << 30, true},
		{"1T", 1 << 40, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"12X", 0, false},
		{"-1", 0, false},
		{"1.2.3M", 0, false},
		{"99999999999T", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1.5GiB", "512k", "12X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 8 << 20: "8.00 MiB", 1280 << 20: "1.25 GiB", 5 << 40: "5.00 TiB", 640 << 20: "640 MiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

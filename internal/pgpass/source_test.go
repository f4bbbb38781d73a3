package pgpass

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// readmeBase64 is PGPASS_FILE_BASE64 from the original image's README.
const readmeBase64 = "cG9zdGdyZXMtZGIuZGVmc2ZzYS51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckF4eDp5eVBhc3N3ZEF5eTpkYjEKcG9zdGdyZXMtZGIuZGVmc2ZzYi51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckJ4eDp5eVBhc3N3ZEJ5eTpkYjIK"

// wrap breaks s into lines of n characters, as base64 does by default.
func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		err  string
	}{
		{name: "readme", in: readmeBase64, want: readmeList},
		{name: "wrapped at 76 with trailing newline", in: wrap(readmeBase64, 76), want: readmeList},
		{name: "crlf and spaces", in: " " + strings.ReplaceAll(wrap(readmeBase64, 64), "\n", "\r\n") + "\t", want: readmeList},
		{name: "padded", in: "TXlTZWNyZXRQYXNzd29yZA==", want: "MySecretPassword"},
		{name: "unpadded", in: "TXlTZWNyZXRQYXNzd29yZA", want: "MySecretPassword"},
		{name: "one pad of two", in: "TXlTZWNyZXRQYXNzd29yZA=", want: "MySecretPassword"},
		{name: "padded with newline", in: "TXlTZWNyZXRQYXNzd29yZAo=\n", want: "MySecretPassword\n"},
		{name: "space inside", in: "TXlT ZWNy\nZXRQ YXNz d29y ZA==", want: "MySecretPassword"},
		{name: "empty", in: "", want: ""},
		{name: "only whitespace", in: " \n", want: ""},
		{name: "plain text", in: "host:5432:db:user:pw:db1", err: "not valid base64: bad character at offset 4"},
		{name: "offset counts whitespace", in: "TXlT\n  ZW*y", err: "not valid base64: bad character at offset 9"},
		{name: "url alphabet", in: "-_-_", err: "not valid base64: bad character at offset 0"},
		{name: "padding inside", in: "TQ==TQ==", err: "not valid base64: bad character at offset 2"},
		{name: "three pads", in: "TQ===", err: "not valid base64: bad character at offset 2"},
		{name: "truncated", in: "TXlTZ\n", err: "not valid base64: the last characters are missing"},
		{name: "bad last character", in: "TXlTZ*", err: "not valid base64: bad character at offset 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeBase64(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecodeBase64TooLarge(t *testing.T) {
	big := base64.StdEncoding.EncodeToString(make([]byte, maxSize+1))
	if _, err := DecodeBase64(big); !errors.Is(err, errTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	ok := base64.StdEncoding.EncodeToString(make([]byte, maxSize))
	if _, err := DecodeBase64(wrap(ok, 76)); err != nil {
		t.Errorf("MaxSize bytes: %v", err)
	}
}

package s3stream

import (
	"errors"
	"fmt"
	"strings"
)

// ParseURL splits s3://BUCKET/KEY. The key may contain any characters,
// slashes included, but may not be empty.
func ParseURL(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/KEY URL", s)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket", s)
	}
	if key == "" {
		return "", "", fmt.Errorf("%q has no object key", s)
	}
	if err := CheckBucket(bucket); err != nil {
		return "", "", err
	}
	if err := CheckKey(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// CheckBucket rejects names that cannot be a bucket, such as ones with
// slashes or upper-case letters, before any request is made.
func CheckBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("invalid bucket name %q: 3 to 63 characters", b)
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("invalid bucket name %q: only lowercase letters, digits, '.', '-' and '_'", b)
		}
	}
	return nil
}

// CheckKey rejects object keys S3 cannot store.
func CheckKey(k string) error {
	switch {
	case k == "":
		return errors.New("empty object key")
	case len(k) > 1024:
		return errors.New("object key longer than 1024 bytes")
	}
	return nil
}

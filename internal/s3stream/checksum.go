package s3stream

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Part checksums (WriterOptions.PartChecksum).
const (
	ChecksumMD5    = "md5"
	ChecksumCRC32C = "crc32c"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum computes b's part checksum.
func (w *Writer) checksum(b *buffer) []byte {
	var h hash.Hash
	if w.algo == ChecksumCRC32C {
		h = crc32.New(castagnoli)
	} else {
		h = md5.New()
	}
	b.each(func(p []byte) { h.Write(p) })
	return h.Sum(nil)
}

// checksumFields returns sum as the request field of the part checksum in
// use, Content-MD5 or x-amz-checksum-crc32c; the other is nil.
func (w *Writer) checksumFields(sum []byte) (contentMD5, crc32c *string) {
	v := aws.String(base64.StdEncoding.EncodeToString(sum))
	if w.algo == ChecksumCRC32C {
		return nil, v
	}
	return v, nil
}

// wantLocked is what S3 derives from the part checksums for the object
// this writer commits: with CRC32C the object's checksum, with MD5 its
// ETag. w.mu is held.
func (w *Writer) wantLocked() string {
	crc := w.algo == ChecksumCRC32C
	var want string
	switch {
	case w.singleSum != nil && crc:
		want = base64.StdEncoding.EncodeToString(w.singleSum)
	case w.singleSum != nil:
		want = `"` + hex.EncodeToString(w.singleSum) + `"`
	default:
		var h hash.Hash = md5.New()
		if crc {
			h = crc32.New(castagnoli)
		}
		for _, s := range w.mp.sums {
			h.Write(s)
		}
		if crc {
			want = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(w.mp.sums))
		} else {
			want = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(w.mp.sums))
		}
	}
	return want
}

// fallBack switches the part checksum from CRC32C to MD5 when the
// PartChecksum option left the choice to the writer and err looks like a
// service that does not know CRC32C checksums. Only the upload's first
// request falls back, before any part was sent.
func (w *Writer) fallBack(err error) bool {
	if w.opts.PartChecksum != "" || w.algo != ChecksumCRC32C {
		return false
	}
	switch s := httpStatus(err); {
	case s == http.StatusNotImplemented:
	case s == http.StatusBadRequest:
		switch apiCode(err) {
		case "InvalidArgument", "InvalidRequest", "NotImplemented", "BadRequest", "UnsupportedChecksum":
		default:
			return false
		}
	default:
		return false
	}
	w.mu.Lock()
	w.algo = ChecksumMD5
	w.mu.Unlock()
	return true
}

// checksumError classifies the error of the upload's first request as
// ChecksumUnsupported when it may come from a service that rejects the
// CRC32C part checksum chosen explicitly, and nothing else explains it.
func (w *Writer) checksumError(err error) error {
	var e *Error
	if w.algo == ChecksumCRC32C && w.opts.PartChecksum == ChecksumCRC32C && errors.As(err, &e) && e.Kind == Unclassified {
		if s := httpStatus(err); s == http.StatusBadRequest || s == http.StatusNotImplemented {
			e.Kind = ChecksumUnsupported
		}
	}
	return err
}

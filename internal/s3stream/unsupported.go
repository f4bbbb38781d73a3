package s3stream

import (
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Features of S3 that S3-compatible stores do not all implement. A store
// without one answers a request that uses it with HTTP 501
// NotImplemented, or with 400 and a code such as InvalidArgument whose
// message names the feature's header and says it is not supported. Such an answer becomes an *Error of
// the feature's Kind: its message names the feature in words, and its
// hint (hints.go) the setting that avoids it, or that none does.
//
// A store's answer rarely says which header it does not implement, and a
// request may use several features: the one the answer names is taken,
// else the only one the request used, else all of them (Unsupported).
// Nothing here retries a request without the feature: each one is part of
// what the caller asked for (a checksum the store checks, an object that
// replaces none, a lock), and a silently weaker upload is worse than a
// clear failure. The one fall-back is the part checksum's (fallBack in
// checksum.go), which the PartChecksum option leaves to the writer.

// feature describes, for the Kind of its failure, a feature a request may
// use.
type feature struct {
	name   string // in words: "conditional writes"
	header string // what the request carries, for people: "If-None-Match"
	// names are the lowercase words by which a store's message names
	// the feature (its headers).
	names []string
}

var features = map[Kind]feature{
	ConditionalWriteUnsupported: {"conditional writes", "If-None-Match", []string{"if-none-match"}},
	ChecksumUnsupported:         {"CRC32C checksums", "x-amz-checksum-crc32c", []string{"x-amz-checksum", "x-amz-sdk-checksum"}},
	ObjectLockUnsupported:       {"Object Lock", "x-amz-object-lock-*", []string{"x-amz-object-lock"}},
	SSEUnsupported:              {"server-side encryption", "x-amz-server-side-encryption", []string{"x-amz-server-side-encryption"}},
	StorageClassUnsupported:     {"storage classes", "x-amz-storage-class", []string{"x-amz-storage-class"}},
	MultipartUnsupported:        {"multipart uploads", "", nil},
}

func (f feature) String() string {
	if f.header == "" {
		return f.name
	}
	return f.name + " (" + f.header + ")"
}

// unsupported classifies err, the error of a request that used the
// features of the given kinds, as the store's not supporting one of them
// when its answer says so. Any other error is returned as it is.
func unsupported(err error, used ...Kind) error {
	var e *Error
	if len(used) == 0 || !errors.As(err, &e) || e.Kind != Unclassified || e.head == "" {
		return err
	}
	said := strings.ToLower(apiCode(err))
	var ae smithy.APIError
	if errors.As(err, &ae) {
		said += " " + strings.ToLower(ae.ErrorMessage())
	}
	var named []Kind
	for _, k := range used {
		for _, n := range features[k].names {
			if strings.Contains(said, n) {
				named = append(named, k)
				break
			}
		}
	}
	switch status := httpStatus(err); {
	case status == http.StatusNotImplemented, apiCode(err) == "NotImplemented":
	case status == http.StatusBadRequest && len(named) > 0 && saysUnsupported(said):
		// A 400 is about the request's values as often as about a
		// feature (a retain-until date in the past): only one that
		// names the feature's header and says it is not supported
		// counts.
	default:
		return err
	}
	if len(named) > 0 {
		used = named
	}
	e.setUnsupported(used)
	return err
}

// saysUnsupported reports whether a store's lowercase message says that
// something is not supported.
func saysUnsupported(msg string) bool {
	for _, s := range []string{"not implemented", "not supported", "unsupported", "not recognized", "unrecognized"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// setUnsupported makes e the failure of a store that does not support the
// feature of kinds[0], or, with several kinds, one of theirs.
func (e *Error) setUnsupported(kinds []Kind) {
	what := make([]string, len(kinds))
	for i, k := range kinds {
		what[i] = features[k].String()
	}
	if len(kinds) == 1 {
		e.Kind = kinds[0]
	} else {
		e.Kind, e.Features = Unsupported, kinds
	}
	if e.head != "" {
		e.msg = e.head + ": the store does not support " + strings.Join(what, " or ") + ": " + strings.TrimPrefix(e.msg, e.head+": ")
	}
}

// objectFeatures are the kinds of the optional features an object is
// created with, by PutObject or CreateMultipartUpload, besides the
// condition and the checksum.
func objectFeatures(lock types.ObjectLockMode, hold types.ObjectLockLegalHoldStatus, sse types.ServerSideEncryption, class types.StorageClass) []Kind {
	var used []Kind
	if lock != "" || hold != "" {
		used = append(used, ObjectLockUnsupported)
	}
	if sse != "" {
		used = append(used, SSEUnsupported)
	}
	if class != "" {
		used = append(used, StorageClassUnsupported)
	}
	return used
}

// putFeatures are the features a PutObject request uses: the object's
// (WriteManifest's too), its condition and its checksum.
func putFeatures(in *s3.PutObjectInput) []Kind {
	used := objectFeatures(in.ObjectLockMode, in.ObjectLockLegalHoldStatus, in.ServerSideEncryption, in.StorageClass)
	if in.IfNoneMatch != nil {
		used = append(used, ConditionalWriteUnsupported)
	}
	if in.ChecksumCRC32C != nil {
		used = append(used, ChecksumUnsupported)
	}
	return used
}

// createFeatures are the features a CreateMultipartUpload request uses:
// a store that answers it with 501 may lack multipart uploads altogether.
func createFeatures(in *s3.CreateMultipartUploadInput) []Kind {
	used := objectFeatures(in.ObjectLockMode, in.ObjectLockLegalHoldStatus, in.ServerSideEncryption, in.StorageClass)
	if in.ChecksumAlgorithm != "" {
		used = append(used, ChecksumUnsupported)
	}
	return append(used, MultipartUnsupported)
}

// partFeatures are the features UploadPart uses, once
// CreateMultipartUpload succeeded.
func (w *Writer) partFeatures() []Kind {
	if w.crc() {
		return []Kind{ChecksumUnsupported}
	}
	return []Kind{MultipartUnsupported}
}

// completeFeatures are the features CompleteMultipartUpload uses beyond
// those its parts did.
func (w *Writer) completeFeatures() []Kind {
	if w.opts.NoOverwrite {
		return []Kind{ConditionalWriteUnsupported}
	}
	return []Kind{MultipartUnsupported}
}

func (w *Writer) crc() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.algo == ChecksumCRC32C
}

package s3stream

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// WriterOptions tune a Writer. The zero value uploads with the defaults.
type WriterOptions struct {
	// Concurrency is how many parts upload at the same time
	// (DefaultConcurrency when 0). It is lowered for large parts so that
	// buffers stay within MaxMemory.
	Concurrency int
	// MaxMemory caps the bytes held in part buffers (DefaultMaxMemory when
	// 0). It also caps the part size at MaxMemory/2, and so the largest
	// stream: 10,000 parts of the schedule (see the package comment).
	MaxMemory int64
	// MaxParts caps the parts of one multipart upload (MaxParts, S3's
	// 10,000, when 0), for stores with a lower limit (1,000 on some):
	// the part size grows as much sooner, and the largest stream for
	// MaxMemory is smaller (MaxStreamSize).
	MaxParts int
	// StorageClass, e.g. STANDARD_IA or GLACIER_IR; empty means the
	// bucket's default.
	StorageClass string
	// SSE is the server-side encryption: "", "AES256" or "aws:kms".
	SSE string
	// SSEKMSKeyID is the KMS key for SSE "aws:kms"; empty means the
	// account's default key.
	SSEKMSKeyID string
	// ContentType of the object; empty means application/octet-stream.
	ContentType string
	// Metadata is stored as x-amz-meta-* user metadata.
	Metadata map[string]string
	// PartChecksum is the checksum every part carries, which the server
	// checks before it stores the part: ChecksumCRC32C
	// (x-amz-checksum-crc32c, cheap at both ends) or ChecksumMD5
	// (Content-MD5, which every S3-compatible store knows, but which costs
	// both ends an MD5 pass). Empty means CRC32C, falling back to MD5 when
	// the service rejects the checksum in the upload's first request.
	PartChecksum string
	// NoOverwrite commits the object only where no object is: when
	// another writer got to the key first, even a moment before, Close
	// fails with an *ExistsError (errors.Is ErrExists), leaves that object
	// as it is and aborts the upload. The commit is a conditional write
	// (If-None-Match: *, which S3 honours). For stores that ignore the
	// condition, Close also looks at the key before the commit, and reads
	// its size and ETag back after it: another writer's object found
	// there fails Close too. Such a store still leaves a short window in
	// which two writers both succeed and the later one's object stays.
	// A store that rejects the condition (501 NotImplemented) fails
	// Close with ConditionalWriteUnsupported: the upload does not go on
	// without it.
	NoOverwrite bool
	// LockMode (LockGovernance or LockCompliance) and LockUntil lock the
	// object, and LegalHold puts a legal hold on it (see lock.go): the
	// bucket must have Object Lock enabled. Empty and zero: no lock.
	LockMode  string
	LockUntil time.Time
	LegalHold bool
	// Progress, when set, is called about four times a second from one
	// goroutine while the upload runs, and once more with Done set: when
	// Close or Abort returns, or after a failure. A caller that only needs
	// the bytes taken so far reads Writer.Stored instead.
	Progress func(Progress)
}

// SSEValues are the server-side encryptions an upload may ask for.
var SSEValues = []string{string(types.ServerSideEncryptionAes256), string(types.ServerSideEncryptionAwsKms), string(types.ServerSideEncryptionAwsKmsDsse)}

// CheckSSE reports a server-side encryption that is none of SSEValues
// (or not ""), or a KMS key for one that takes none.
func CheckSSE(sse, kmsKeyID string) error {
	if sse != "" && !slices.Contains(SSEValues, sse) {
		return fmt.Errorf("unknown server-side encryption %q (want %s)", sse, strings.Join(SSEValues, ", "))
	}
	if kmsKeyID != "" && !strings.HasPrefix(sse, "aws:kms") {
		return errors.New("a KMS key ID needs server-side encryption aws:kms or aws:kms:dsse")
	}
	return nil
}

// Validate reports options that no upload could use.
func (o *WriterOptions) Validate() error {
	if o.Concurrency < 0 {
		return fmt.Errorf("concurrency %d is negative", o.Concurrency)
	}
	if o.MaxParts < 0 || o.MaxParts > MaxParts {
		return fmt.Errorf("max parts %d: want 1 to %d", o.MaxParts, MaxParts)
	}
	if o.MaxMemory != 0 && o.MaxMemory < 2*MinPartSize {
		return fmt.Errorf("max memory %s is below %s: two parts of the minimum size", units.FormatSize(o.MaxMemory), units.FormatSize(2*MinPartSize))
	}
	if err := CheckSSE(o.SSE, o.SSEKMSKeyID); err != nil {
		return err
	}
	if err := CheckLock(o.LockMode, o.LockUntil, time.Now()); err != nil {
		return err
	}
	switch o.PartChecksum {
	case "", ChecksumMD5, ChecksumCRC32C:
	default:
		return fmt.Errorf("unknown part checksum %q (want %s or %s)", o.PartChecksum, ChecksumMD5, ChecksumCRC32C)
	}
	for k := range o.Metadata {
		if k == "" || strings.ContainsAny(k, " :=\r\n") {
			return fmt.Errorf("invalid metadata key %q", k)
		}
	}
	return nil
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxParts == 0 {
		o.MaxParts = MaxParts
	}
	return o
}

// objectFields are the request fields the object is created with, by
// PutObject or CreateMultipartUpload.
type objectFields struct {
	storageClass types.StorageClass
	sse          types.ServerSideEncryption
	sseKMSKeyID  *string // nil for the account's default key
	contentType  *string // nil for the service's default
	metadata     map[string]string
	lockMode     types.ObjectLockMode
	lockUntil    *time.Time
	legalHold    types.ObjectLockLegalHoldStatus
}

func (o WriterOptions) objectFields() objectFields {
	f := objectFields{
		storageClass: types.StorageClass(o.StorageClass),
		sse:          types.ServerSideEncryption(o.SSE),
		metadata:     o.Metadata,
	}
	if o.SSEKMSKeyID != "" {
		f.sseKMSKeyID = aws.String(o.SSEKMSKeyID)
	}
	if o.ContentType != "" {
		f.contentType = aws.String(o.ContentType)
	}
	f.lockMode, f.lockUntil, f.legalHold = o.lockFields()
	return f
}

// Result describes a completed upload, or a download read to the end.
type Result struct {
	Bucket, Key string
	Size        int64
	SHA256      string // hex
	Parts       int    // parts uploaded (1 for a single PUT) or ranges read
	PartSize    int64  // largest part or range
	ETag        string
	VersionID   string
	Completed   time.Time
	ContentType string
	PeakBuffers int64 // most bytes ever held in part buffers
}

package s3stream

import "errors"

// Kind classifies a failure by the likely mistake behind it, so that a
// caller can add a hint in its own vocabulary (command-line flags for
// s3put and s3get, environment variables for the backup job).
type Kind int

// Kinds of failure. Unclassified is every failure no likely mistake can be
// named for: server errors, throttling, a cancelled context, and so on.
const (
	Unclassified Kind = iota
	// NotFound: the object does not exist.
	NotFound
	// NoSuchBucket: the bucket does not exist (at this endpoint, in this
	// region).
	NoSuchBucket
	// AccessDenied: the server refused the request (AccessDenied,
	// Forbidden): the credentials lack a permission, or they are wrong.
	AccessDenied
	// Forbidden: HTTP 403 without an S3 error code, as answers to HEAD
	// requests come: denied, or credentials the server does not accept.
	Forbidden
	// NoCredentials: the SDK found no usable credentials to sign with.
	NoCredentials
	// UnknownAccessKey: the server does not know the access key ID.
	UnknownAccessKey
	// BadSignature: the secret key does not match the access key ID.
	BadSignature
	// ExpiredToken: the session credentials have expired.
	ExpiredToken
	// InvalidToken: the session token is invalid.
	InvalidToken
	// ClockSkew: the local clock differs too much from the server's.
	ClockSkew
	// WrongRegion: the bucket is in another region than the one the
	// request was signed for; Error.Region is the bucket's region when the
	// server named it.
	WrongRegion
	// Moved: HTTP 301 without an S3 error code: the bucket is in another
	// region, or needs another endpoint or path-style addressing.
	Moved
	// InvalidBucketName: the server rejected the bucket's name.
	InvalidBucketName
	// ConnectionRefused: nothing listens at the endpoint
	// (Error.Endpoint).
	ConnectionRefused
	// UnknownHost: the endpoint's host name does not resolve
	// (Error.Endpoint).
	UnknownHost
	// TLSFailed: the TLS handshake with the endpoint failed
	// (Error.Endpoint): a plain-HTTP store, or a certificate not trusted.
	TLSFailed
	// InvalidEndpoint: the endpoint is not an http:// or https:// URL.
	InvalidEndpoint
	// NoRegion: no region is configured and none could be found out.
	NoRegion
	// BadConfig: the AWS SDK could not load its configuration (profile,
	// shared config and credentials files).
	BadConfig
	// ChecksumUnsupported: the service rejected the CRC32C part checksum
	// (x-amz-checksum-crc32c): the upload's first request, carrying the
	// checksum that WriterOptions.PartChecksum asked for, or a part of an
	// upload that began with it; ChecksumMD5 may work.
	ChecksumUnsupported
	// The kinds below are answers of a store that does not implement a
	// feature of S3 the request used (HTTP 501 NotImplemented, or a 400
	// that names the feature's header as not supported); see
	// unsupported.go.

	// ConditionalWriteUnsupported: the store does not support writes
	// with If-None-Match (WriterOptions.NoOverwrite).
	ConditionalWriteUnsupported
	// ObjectLockUnsupported: the store does not support Object Lock
	// (WriterOptions.LockMode and LegalHold, ReadBucketLock).
	ObjectLockUnsupported
	// SSEUnsupported: the store does not support the server-side
	// encryption headers (WriterOptions.SSE).
	SSEUnsupported
	// StorageClassUnsupported: the store does not support the storage
	// class header (WriterOptions.StorageClass).
	StorageClassUnsupported
	// MultipartUnsupported: the store does not support multipart
	// uploads, which a stream larger than one part needs.
	MultipartUnsupported
	// Unsupported: the store does not support one of several features
	// the request used, and did not say which; Error.Features are their
	// kinds.
	Unsupported
)

var kindNames = [...]string{
	Unclassified:        "unclassified",
	NotFound:            "not found",
	NoSuchBucket:        "no such bucket",
	AccessDenied:        "access denied",
	Forbidden:           "forbidden",
	NoCredentials:       "no credentials",
	UnknownAccessKey:    "unknown access key",
	BadSignature:        "bad signature",
	ExpiredToken:        "expired token",
	InvalidToken:        "invalid token",
	ClockSkew:           "clock skew",
	WrongRegion:         "wrong region",
	Moved:               "moved",
	InvalidBucketName:   "invalid bucket name",
	ConnectionRefused:   "connection refused",
	UnknownHost:         "unknown host",
	TLSFailed:           "TLS failed",
	InvalidEndpoint:     "invalid endpoint",
	NoRegion:            "no region",
	BadConfig:           "bad configuration",
	ChecksumUnsupported: "checksum unsupported",

	ConditionalWriteUnsupported: "conditional write unsupported",
	ObjectLockUnsupported:       "object lock unsupported",
	SSEUnsupported:              "server-side encryption unsupported",
	StorageClassUnsupported:     "storage class unsupported",
	MultipartUnsupported:        "multipart unsupported",
	Unsupported:                 "unsupported",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown kind"
}

// Error is a failure of the S3 service or of the client's configuration,
// restated in one line for people and classified by Kind. It unwraps to
// the SDK's error, when there is one. Callers find it with errors.As, or
// ask KindOf.
type Error struct {
	Kind        Kind
	Bucket, Key string // the request's object; empty when not about one
	// Region is, for WrongRegion, the bucket's region when the server
	// named it.
	Region string
	// Endpoint is scheme://host of the request that failed, for
	// ConnectionRefused, UnknownHost and TLSFailed, when known.
	Endpoint string
	// Features are, for Unsupported, the kinds of feature the request
	// used, one of which the store does not support.
	Features []Kind
	// Permission is, for AccessDenied and Forbidden, the permission the
	// refused request needed, when its caller named it (NeedsPermission);
	// the hint then names it instead of all a command needs.
	Permission string
	Err        error // the underlying error, or nil
	msg        string
	head       string // "op s3://bucket/key", which msg begins with
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or
// Unclassified when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Unclassified
}

// NeedsPermission records, in the *Error of an AccessDenied or Forbidden
// answer in err's chain, that the refused request needed permission (e.g.
// "s3:ListBucket"), unless a permission is recorded already. It returns
// err.
func NeedsPermission(err error, permission string) error {
	var e *Error
	if errors.As(err, &e) && (e.Kind == AccessDenied || e.Kind == Forbidden) && e.Permission == "" {
		e.Permission = permission
	}
	return err
}

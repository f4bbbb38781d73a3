// Package s3stream implements streaming uploads to and downloads from S3
// with bounded memory: a Writer that turns a stream of unknown length into
// one object, committed only by Close, and a Reader that reads one object
// back with parallel ranged GETs, in order.
//
// # Uploads
//
// A Writer buffers the stream in parts. A stream that ends within the first
// part becomes a single PutObject, sent by Close; a longer one becomes a
// multipart upload whose parts are uploaded while the next ones fill.
// Parts never come from the stream itself: each is an in-memory buffer the
// SDK can rewind and send again.
//
// Part sizes grow with the stream, so that every object up to S3's 5 TiB
// limit fits into its 10,000 parts while small streams stay small: parts
// 1–256 are 8 MiB, 257–512 are 16 MiB, and the size doubles every 256
// parts, up to MaxMemory/2 (640 MiB with the default 1.25 GiB). Buffers
// are allocated in 1 MiB chunks and reused, never reallocated per part.
// While parts of size P fill, at most N parts upload at once, N being
// Concurrency (4) lowered where needed so that (N+1) × P ≤ MaxMemory; part
// buffers never hold more than MaxMemory. With the defaults:
//
//	stream size      part size   buffers
//	up to 2 GiB      8 MiB        40 MiB
//	up to 6 GiB      16 MiB       80 MiB
//	up to 14 GiB     32 MiB      160 MiB
//	up to 30 GiB     64 MiB      320 MiB
//	up to 62 GiB     128 MiB     640 MiB
//	up to 126 GiB    256 MiB     1.25 GiB
//	up to 254 GiB    512 MiB       1 GiB (N = 1)
//	up to 5 TiB      640 MiB     1.25 GiB (N = 1)
//
// A smaller MaxMemory lowers the largest part and so the largest stream:
// 256 MiB allows about 1 TiB. The process needs some 20–30 MiB on top of
// the buffers.
//
// Every request is retried by the SDK (5 attempts, exponential backoff) on
// server errors, throttling (SlowDown), timeouts and broken connections; a
// part or range that still fails on such an error is tried again as a
// whole, up to 3 times. Every part carries a checksum that the service
// checks before it stores the part: CRC32C (x-amz-checksum-crc32c) by
// default, or Content-MD5 (PartChecksum), to which the Writer also falls
// back when the service rejects CRC32C in the upload's first request. The
// signed checksum header protects the part, so the body itself is sent
// unsigned (UNSIGNED-PAYLOAD), sparing both ends a SHA-256 pass over it.
// No other SDK checksums are sent or required. The Writer computes the
// SHA-256 and size of the whole stream as it goes (Result).
//
// The caller decides the outcome: Close completes the upload, and nothing
// else does. Abort, a cancelled context, or any error aborts it: part
// uploads stop, the multipart upload is aborted with a fresh context (the
// caller's may be cancelled), and neither an object nor an unfinished
// upload remains. A producer that fails calls Abort, so that a truncated
// stream never becomes an object.
//
// By default the commit replaces an object at the key. With NoOverwrite
// it does not: the commit is a conditional write (If-None-Match: *), and
// another writer's object found at the key, before the commit, in the
// service's refusal, or when reading the object back after it, fails
// Close with an *ExistsError and leaves that object as it is. A retry
// that finds the object its own lost-answer attempt created is told apart
// by the object's size and checksums.
//
// The Writer does its own multipart upload instead of using the SDK's
// upload manager (feature/s3/manager), for two needs the manager does not
// meet. Its part size is fixed for the whole upload, so a stream of
// unknown length either holds large parts in memory from the start or
// runs out of its 10,000 parts; here the part size grows with the stream
// within MaxMemory. And when the answer to CompleteMultipartUpload or to a
// conditional PutObject is lost, its retry finds the upload gone or the
// key taken: the Writer then reads back what is at the key and tells by
// its size and checksums whether the object is its own, never assuming
// either way.
//
// # Manifest
//
// After a completed upload, a manifest may be written next to the object,
// at KEY.manifest.json (WriteManifest; the Writer itself never writes one).
// It is a JSON object:
//
//	{
//	  "version": 1,
//	  "tool": "s3put v1.2.0",
//	  "bucket": "backups",
//	  "key": "db1-20261127060000.gz.aes",
//	  "size": 2147483648,
//	  "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//	  "etag": "\"5f363e0e58a95f06cbe9bbc662c5dfb6-256\"",
//	  "parts": 256,
//	  "part_size": 8388608,
//	  "content_type": "application/octet-stream",
//	  "completed": "2026-11-27T06:04:12.5Z",
//	  "backup": { ... }
//	}
//
// version is 1; it changes only if a field changes meaning. size and
// sha256 (lower-case hex) describe the object's bytes: sha256sum of the
// downloaded object prints the same value. etag and version_id are what S3
// returned for the completed upload; parts is the number of parts (1 for a
// single PUT) and part_size the largest. completed is the UTC time the
// upload completed, in RFC 3339. tool and content_type are omitted when
// empty. backup is free for the application that made the object (the
// backup job records the database, host, times, compression, cipher and
// restore command there). Readers ignore fields they do not know, and new
// fields may be added without a new version.
//
// A Reader given the manifest (ReaderOptions.Verify) fails before reading
// when the object's size differs, and at the end with a *ChecksumError when
// size or SHA-256 differ.
//
// # Errors
//
// Failures of the service, of the connection to it and of the client's
// configuration are *Error values, one line each without credentials,
// classified by Kind: a missing bucket, denied access, expired
// credentials, a bucket in another region, an endpoint nothing listens
// at, a store that does not implement a feature the request used
// (conditional writes, CRC32C checksums, Object Lock, server-side
// encryption, storage classes, multipart uploads: see unsupported.go),
// and so on. The package names no flags nor settings of its callers,
// and reads no environment variables beyond the AWS SDK's own: each caller
// turns kinds into hints in its own vocabulary (s3cli does for s3put and
// s3get). KindOf tells an
// error's kind; errors.As gives the *Error with the bucket's region or the
// endpoint where known.
package s3stream

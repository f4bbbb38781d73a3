package s3cli

import (
	"context"
	"io"
	"slices"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// Words are s3put's and s3get's names of the settings S3 hints point at.
var Words = s3stream.Words{
	Bucket:         "the bucket name",
	Endpoint:       "--endpoint (or AWS_ENDPOINT_URL)",
	Region:         "--region (or AWS_REGION)",
	PathStyle:      "--path-style",
	RegionIs:       "--region %[1]s (or AWS_REGION=%[1]s)",
	Permissions:    "s3:PutObject, s3:GetObject, s3:AbortMultipartUpload",
	PartChecksum:   "--part-checksum " + s3stream.ChecksumMD5,
	NoOverwrite:    "leave out --no-clobber",
	NoLock:         "leave out --lock-mode and --legal-hold",
	NoSSE:          "leave out --sse",
	NoStorageClass: "leave out --storage-class",
}

// Explain attaches the hint for err in s3put's and s3get's words to err
// (ExplainIn).
func Explain(err error) error { return ExplainIn(err, Words) }

// ExplainIn attaches s3stream.Hint(err, w) to err, unless err carries it
// already. A command that adds a hint of its own to an error of s3stream
// calls it first, so that its own hint comes first.
func ExplainIn(err error, w s3stream.Words) error {
	h := s3stream.Hint(err, w)
	if h == "" || slices.Contains(cli.Hints(err), h) {
		return err
	}
	return cli.WithHint(err, "%s", h)
}

// WithHints returns run with ExplainIn(err, w) applied to its error.
func WithHints(run cli.RunFunc, w s3stream.Words) cli.RunFunc {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return ExplainIn(run(ctx, args, stdin, stdout, stderr), w)
	}
}

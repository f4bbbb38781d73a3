package s3stream

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// attemptDeadline bounds each attempt the SDK makes at a request, while
// the SDK's own retries stay as they are.
func attemptDeadline(d time.Duration) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3streamAttemptDeadline",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					ctx, cancel := context.WithTimeout(ctx, d)
					defer cancel()
					return next.HandleFinalize(ctx, in)
				}), "Retry", middleware.After)
		})
	}
}

// unsignedPayload leaves the body of a part out of the request signature.
// The body is protected by its part checksum (x-amz-checksum-crc32c by
// default, or Content-MD5), which is signed and which the server checks;
// signing the body too would make both ends hash every byte once more with
// SHA-256.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// countSent counts into sent the attempts at a request that may have
// changed something on the server: all but the ones that could not
// connect and the ones the server refused with a 4xx status.
func countSent(sent *atomic.Int32) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			// Last in the deserialize step: around the HTTP round trip.
			return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3streamCountSent",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					var oe *net.OpError
					refused := errors.As(err, &oe) && oe.Op == "dial"
					if r, ok := out.RawResponse.(*smithyhttp.Response); ok && err == nil {
						refused = r.StatusCode >= 400 && r.StatusCode < 500
					}
					if !refused {
						sent.Add(1)
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

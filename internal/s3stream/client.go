package s3stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// Config selects the S3 service. Everything not set here comes from the
// AWS SDK's default chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_PROFILE and the shared config files, AWS_REGION,
// AWS_ENDPOINT_URL, and instance or container roles.
type Config struct {
	// Endpoint is the service URL of an S3-compatible store, e.g.
	// http://127.0.0.1:7070; empty means AWS_ENDPOINT_URL or AWS itself.
	Endpoint string
	// Region is the signing region; empty means AWS_REGION or the profile's
	// region, and when none is configured either, the region the server
	// reports for Bucket (us-east-1 for stores that report none).
	Region string
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY instead of
	// BUCKET.ENDPOINT/KEY, as most S3-compatible stores need.
	PathStyle bool
	// Bucket, when set, is the bucket the client is for; it is only used to
	// look up the region when none is configured.
	Bucket string
}

// Retry settings. Variables so tests can make failures fast.
var (
	// sdkAttempts is how often the SDK tries one request.
	sdkAttempts = 5
	// sdkBackoff, when set, replaces the SDK's exponential backoff.
	sdkBackoff retry.BackoffDelayer
	// ownAttempts is how often a part or range is tried again, as a
	// whole, after the SDK gave up on a transient error.
	ownAttempts = 3
	// ownBackoff is the pause before such a whole-part retry.
	ownBackoff = func(attempt int) time.Duration { return time.Duration(attempt) * 2 * time.Second }
	// attemptTimeout bounds one attempt at a part or range of size bytes,
	// so that a stalled connection is retried instead of waited for.
	attemptTimeout = func(size int64) time.Duration {
		return 2*time.Minute + time.Duration(size/(256<<10))*time.Second
	}
)

// NewClient returns an S3 client for c on top of the SDK's default
// configuration chain, with retries suited to streaming (more attempts, no
// client-side retry quota) and without the SDK's default request and
// response checksums, which several S3-compatible stores reject; a Writer's
// parts carry their own checksum instead (WriterOptions.PartChecksum).
// Its errors are *Error values: BadConfig, InvalidEndpoint, NoRegion.
func NewClient(ctx context.Context, c Config) (*s3.Client, error) {
	if c.Endpoint != "" {
		if err := CheckEndpoint(c.Endpoint); err != nil {
			return nil, err
		}
	}
	opts := []func(*config.LoadOptions) error{
		// The SDK logs warnings (e.g. about instance metadata) to stderr;
		// errors reach the caller as errors instead.
		config.WithLogger(logging.Nop{}),
		config.WithRetryer(newRetryer),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
		})),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(c.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &Error{Kind: BadConfig, msg: "AWS configuration: " + err.Error(), Err: err}
	}
	if cfg.BaseEndpoint != nil && c.Endpoint == "" {
		if err := CheckEndpoint(*cfg.BaseEndpoint); err != nil {
			return nil, fmt.Errorf("AWS_ENDPOINT_URL: %w", err)
		}
	}
	pathStyle := c.PathStyle
	custom := cfg.BaseEndpoint != nil
	if cfg.Region == "" {
		region := ""
		if c.Bucket != "" {
			region = BucketRegion(ctx, cfg, c.Bucket, pathStyle)
		}
		switch {
		case region != "":
			cfg.Region = region
		case custom:
			// S3-compatible stores sign with any region; us-east-1 is
			// what they expect when none is configured.
			cfg.Region = "us-east-1"
		default:
			return nil, &Error{Kind: NoRegion, msg: "no AWS region configured"}
		}
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }), nil
}

// CheckEndpoint reports whether s is usable as an endpoint URL; when it is
// not, the error is an *Error of Kind InvalidEndpoint.
func CheckEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Kind: InvalidEndpoint, msg: fmt.Sprintf("invalid endpoint %q", s)}
	}
	return nil
}

// BucketRegion asks the service in which region bucket is, the way the AWS
// CLI does: an unsigned HeadBucket whose answer (even an error) carries the
// x-amz-bucket-region header. It returns "" when the service does not say.
//
// feature/s3/manager's GetBucketRegion does the same on a client set up
// like this one (path-style and custom endpoints included), but that
// module is deprecated since v1.22.0 in favour of
// feature/s3/transfermanager, which has no such function: these lines
// spare the build a module on its way out.
func BucketRegion(ctx context.Context, cfg aws.Config, bucket string, pathStyle bool) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.Region = "us-east-1"
		o.Credentials = aws.AnonymousCredentials{}
		o.UsePathStyle = pathStyle
		o.RetryMaxAttempts = 2
	})
	out, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return aws.ToString(out.BucketRegion)
	}
	return responseHeader(err, "X-Amz-Bucket-Region")
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = sdkAttempts
		o.MaxBackoff = 20 * time.Second
		// A long stream makes many requests; the default retry quota
		// would turn a burst of throttling into a failed backup.
		o.RateLimiter = ratelimit.None
		if sdkBackoff != nil {
			o.Backoff = sdkBackoff
		}
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if brokenConnection(err) {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// brokenConnection reports errors of a connection that died in the middle
// of a request, which the SDK does not all count as retryable.
func brokenConnection(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "server closed idle connection")
}

// transient reports whether err, returned after the SDK's own retries,
// still looks like a passing failure worth trying the whole part or range
// again: a server error, throttling, a broken connection or an attempt that
// timed out (attemptCtx done while ctx is not). Refused connections and
// unknown hosts are not: the SDK already tried those, and they rarely pass.
func transient(ctx, attemptCtx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if attemptCtx.Err() != nil {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	if brokenConnection(err) {
		return true
	}
	if s := httpStatus(err); s != 0 {
		return s >= 500 || s == http.StatusTooManyRequests || apiCode(err) == "SlowDown" || apiCode(err) == "RequestTimeout"
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// ResolveEndpoint applies the SDK's own endpoint rules for S3 to a bucket,
// region and endpoint (empty: AWS) as a request would, without sending
// one. Its error is the rule's message, e.g. "Invalid region: region was
// not a valid DNS name".
func ResolveEndpoint(bucket, region, endpoint string, pathStyle bool) error {
	p := s3.EndpointParameters{Bucket: aws.String(bucket), Region: aws.String(region), ForcePathStyle: aws.Bool(pathStyle)}
	if endpoint != "" {
		p.Endpoint = aws.String(endpoint)
	}
	if _, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), p); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "endpoint rule error, "))
	}
	return nil
}

package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersityVersion is the pinned version of the S3 gateway the tests run
// against; scripts/setup.sh installs it.
const VersityVersion = "v1.8.0"

// S3Server is a Versity S3 gateway with its posix backend in a temporary
// folder, listening on 127.0.0.1.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Region    string
	AccessKey string
	SecretKey string
	server
}

// VersityPath returns the gateway binary: $VERSITYGW if set, else the one
// scripts/setup.sh installed under .tools/bin.
func VersityPath() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p, nil
	}
	bin, err := ToolsBin()
	if err != nil {
		return "", err
	}
	p := filepath.Join(bin, "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("S3 gateway not installed at %s; run 'make setup' (go install github.com/versity/versitygw/cmd/versitygw@%s)", p, VersityVersion)
	}
	return p, nil
}

// StartS3 starts a gateway and creates the given buckets through the S3 API.
func StartS3(ctx context.Context, buckets ...string) (*S3Server, error) {
	return StartS3With(ctx, S3Options{}, buckets...)
}

// S3Options choose the gateway's optional parts; the zero value is
// StartS3's gateway.
type S3Options struct {
	// Users runs the gateway's own accounts (its internal IAM, kept in
	// the server's folder), so that AddUser can add keys other than root's
	// whose rights a bucket policy sets (Grant).
	Users bool
}

// StartS3With starts a gateway with opts and creates the given buckets
// through the S3 API.
func StartS3With(ctx context.Context, opts S3Options, buckets ...string) (*S3Server, error) {
	bin, err := VersityPath()
	if err != nil {
		return nil, err
	}
	s := &S3Server{Region: "us-east-1", AccessKey: "isbtestaccess", SecretKey: "isbtestsecret-" + strconv.Itoa(os.Getpid())}
	if s.Dir, err = tempDir("s3"); err != nil {
		return nil, err
	}
	s.unregister = register(func() { s.Stop() })
	fail := func(err error) (*S3Server, error) {
		s.Stop()
		return nil, err
	}
	root := filepath.Join(s.Dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return fail(err)
	}
	iam := filepath.Join(s.Dir, "iam")
	if opts.Users {
		if err := os.Mkdir(iam, 0o700); err != nil {
			return fail(err)
		}
	}
	addr, err := s.start(ctx, "S3 gateway", filepath.Join(s.Dir, "versitygw.log"), func(addr string) *exec.Cmd {
		args := []string{"--port", addr, "--region", s.Region, "--quiet"}
		if opts.Users {
			// Accounts live in a JSON file there; the admin API that adds
			// them listens on the S3 port (users.go).
			args = append(args, "--iam-dir", iam)
		}
		cmd := exec.Command(bin, append(args, "posix", root)...)
		// Credentials through the environment, not argv.
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
		return cmd
	})
	if err != nil {
		return fail(err)
	}
	s.Endpoint = "http://" + addr
	c := s.Client()
	for _, b := range buckets {
		if err := s.CreateBucket(ctx, c, b); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

func waitListening(ctx context.Context, addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %v", addr, limit)
		}
	}
}

// CreateBucket creates a bucket through the S3 API.
func (s *S3Server) CreateBucket(ctx context.Context, c *s3.Client, name string) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// CreateLockBucket creates a bucket with Object Lock enabled.
func (s *S3Server) CreateLockBucket(ctx context.Context, c *s3.Client, name string) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		return fmt.Errorf("create bucket %s with object lock: %w", name, err)
	}
	return nil
}

// Config returns an SDK configuration with the server's credentials and
// region; endpoint and path style are set per client (see Client).
func (s *S3Server) Config() aws.Config {
	return aws.Config{
		Region:      s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
}

// Client returns a path-style S3 client for the server, or for endpoint
// (a fault proxy in front of it) when given.
func (s *S3Server) Client(endpoint ...string) *s3.Client {
	ep := s.Endpoint
	if len(endpoint) > 0 {
		ep = endpoint[0]
	}
	return newClient(ep, s.Region, s.AccessKey, s.SecretKey)
}

func newClient(endpoint, region, access, secret string) *s3.Client {
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

// Env is the standard AWS environment for programs that talk to the server.
func (s *S3Server) Env() []string { return awsEnv(s.Endpoint, s.Region, s.AccessKey, s.SecretKey) }

func awsEnv(endpoint, region, access, secret string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + access,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_REGION=" + region,
		"AWS_ENDPOINT_URL=" + endpoint,
	}
}

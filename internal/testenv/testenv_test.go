package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/faultproxy"
)

var (
	pg  *testenv.Postgres
	srv *testenv.S3Server
)

const bucket = "smoke"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	defer testenv.StopAll()
	ctx := context.Background()
	var err error
	if pg, err = testenv.StartPostgres(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		return 1
	}
	if srv, err = testenv.StartS3(ctx, bucket); err != nil {
		fmt.Fprintln(os.Stderr, "start S3 gateway:", err)
		return 1
	}
	return m.Run()
}

func TestPostgresDump(t *testing.T) {
	ctx := t.Context()
	if err := pg.CreateDatabase(ctx, "smoke"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(ctx, "smoke", `CREATE TABLE t (id int PRIMARY KEY, name text);
		INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 1000) i;`); err != nil {
		t.Fatal(err)
	}
	out, err := pg.Command(ctx, "pg_dump", "-d", "smoke").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE TABLE public.t", "999\trow 999\n", "PostgreSQL database dump complete"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("pg_dump output lacks %q", want)
		}
	}
}

func TestPostgresPasswordOverTCP(t *testing.T) {
	ctx := t.Context()
	psql := func(password string) error {
		cmd := pg.Command(ctx, "psql", "-X", "-h", pg.Host, "-p", fmt.Sprint(pg.Port), "-U", pg.User, "-d", "postgres", "-c", "select 1")
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
		return cmd.Run()
	}
	if err := psql(pg.Password); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if err := psql("wrong"); err == nil {
		t.Fatal("wrong password accepted over TCP")
	}
}

func TestS3PutGet(t *testing.T) {
	ctx := t.Context()
	c := srv.Client()
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/obj"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/obj")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes back, want the %d put", len(got), len(body))
	}
}

func TestS3WrongSecretRefused(t *testing.T) {
	bad := testenv.S3Server{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: "not-the-secret"}
	_, err := bad.Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err == nil {
		t.Fatal("the gateway accepted a wrong secret key")
	}
}

// noRetry makes the SDK give up after the first attempt, so the proxy's
// faults show through.
func noRetry(o *s3.Options) { o.RetryMaxAttempts = 1 }

func put(ctx context.Context, c *s3.Client, key string, body []byte, opts ...func(*s3.Options)) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}, opts...)
	return err
}

func TestFaultProxyStatus(t *testing.T) {
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := srv.Client(p.URL)
	r := p.Add(faultproxy.Rule{Method: "PUT", Fault: faultproxy.SlowDown})

	err = put(t.Context(), c, "fp1", []byte("hello"), noRetry)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Fatalf("first PUT: got %v, want a SlowDown error", err)
	}
	if err := put(t.Context(), c, "fp1", []byte("hello"), noRetry); err != nil {
		t.Fatalf("second PUT should pass through: %v", err)
	}
	if r.Hits(p) != 1 {
		t.Errorf("rule fired %d times, want 1", r.Hits(p))
	}
	// GETs were never matched and pass through.
	if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("fp1")}); err != nil {
		t.Fatal(err)
	}
}

func TestFaultProxyNthAndSDKRetry(t *testing.T) {
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := srv.Client(p.URL)
	r := p.Add(faultproxy.Rule{Method: "PUT", Nth: 2, Fault: faultproxy.InternalError})
	if err := put(t.Context(), c, "fp2", []byte("one"), noRetry); err != nil {
		t.Fatalf("first PUT is before Nth: %v", err)
	}
	// With the SDK's default retryer the injected 500 is retried and the
	// PUT succeeds.
	if err := put(t.Context(), c, "fp2", []byte("two")); err != nil {
		t.Fatalf("retried PUT: %v", err)
	}
	if r.Hits(p) != 1 {
		t.Errorf("rule fired %d times, want 1", r.Hits(p))
	}
	var faults int
	for _, q := range p.Requests() {
		if q.Fault {
			faults++
		}
	}
	if faults != 1 || len(p.Requests()) != 3 {
		t.Errorf("saw %d requests with %d faults, want 3 with 1", len(p.Requests()), faults)
	}
}

func TestFaultProxyResetMidBody(t *testing.T) {
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := srv.Client(p.URL)
	p.Add(faultproxy.Rule{Method: "PUT", Fault: faultproxy.ResetBody})
	body := bytes.Repeat([]byte{'x'}, 1<<20)
	err = put(t.Context(), c, "fp3", body, noRetry)
	// How the client sees the reset depends on where its write was: a
	// reset read or write, an EOF, or, when the transport saw the reset
	// first and closed the connection under the write, net.ErrClosed.
	if err == nil || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "broken pipe")) {
		t.Fatalf("got %v, want a connection reset", err)
	}
	if err := put(t.Context(), c, "fp3", body, noRetry); err != nil {
		t.Fatalf("next PUT: %v", err)
	}
}

func TestFaultProxyDelay(t *testing.T) {
	p, err := faultproxy.New(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := srv.Client(p.URL)
	p.Add(faultproxy.Rule{Method: "PUT", Fault: faultproxy.Fault{Delay: 2 * time.Second}})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := put(ctx, c, "fp4", []byte("late"), noRetry); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the client's deadline to expire during the delay", err)
	}
}

func TestStopRemovesEverything(t *testing.T) {
	ctx := t.Context()
	p2, err := testenv.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := testenv.StartS3(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p2.Dir, s2.Dir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Stop", d)
		}
	}
	if err := pg.Command(ctx, "pg_isready", "-h", p2.SocketDir, "-p", fmt.Sprint(p2.Port)).Run(); err == nil {
		t.Error("stopped PostgreSQL still answers")
	}
}

func TestSetupScriptPinsTheSameGateway(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(root + "/scripts/setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := "VERSITYGW_VERSION=" + testenv.VersityVersion + " "; !strings.Contains(string(b), want) {
		t.Errorf("scripts/setup.sh does not pin %q", want)
	}
}

package s3stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

var srv *testenv.S3Server

const bucket = "stream"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	defer testenv.StopAll()
	var err error
	if srv, err = testenv.StartS3(context.Background(), bucket); err != nil {
		fmt.Fprintln(os.Stderr, "start S3 gateway:", err)
		return 1
	}
	// The clients under test find the server through the standard
	// environment, as s3put and the backup job do (path style aside,
	// which NewClient takes from its Config only).
	for _, kv := range append(srv.Env(),
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_SESSION_TOKEN=",
	) {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	// Failures are retried without the production pauses.
	sdkBackoff = retryBackoff(5 * time.Millisecond)
	ownBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	return m.Run()
}

type retryBackoff time.Duration

func (d retryBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Duration(d), nil }

// newClient returns a client made by NewClient, for the server or for a
// fault proxy in front of it.
func newClient(t testing.TB, endpoint ...string) *s3.Client {
	t.Helper()
	c := Config{PathStyle: true}
	if len(endpoint) > 0 {
		c.Endpoint = endpoint[0]
	}
	cl, err := NewClient(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

var keySeq atomic.Int64

// uniqueKey returns a fresh key for a test.
func uniqueKey(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), keySeq.Add(1))
}

// stream is a deterministic, fast stream of pseudo-random bytes.
func stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func sum(t testing.TB, r io.Reader) (string, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// upload streams n bytes of seed through a Writer writing step bytes at a
// time (0: ReadFrom) and returns the result.
func upload(t testing.TB, c *s3.Client, key string, seed uint64, n int64, step int, opts WriterOptions) (Result, error) {
	t.Helper()
	w := NewWriter(context.Background(), c, bucket, key, opts)
	src := stream(seed, n)
	var err error
	if step == 0 {
		_, err = w.ReadFrom(src)
	} else {
		buf := make([]byte, step)
		for err == nil {
			var k int
			k, err = io.ReadFull(src, buf)
			if k > 0 {
				if _, werr := w.Write(buf[:k]); werr != nil {
					err = werr
					break
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = nil
				break
			}
		}
	}
	if err != nil {
		w.Abort(err)
		return Result{}, err
	}
	if err := w.Close(); err != nil {
		return Result{}, err
	}
	return w.Result(), nil
}

// download returns the SHA-256 and size of the object read through a Reader.
func download(t testing.TB, c *s3.Client, key string, opts ReaderOptions) (string, int64, error) {
	t.Helper()
	r, err := NewReader(context.Background(), c, bucket, key, opts)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func exists(t testing.TB, key string) bool {
	t.Helper()
	_, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil && !isNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// unfinished lists the multipart uploads in progress for key.
func unfinished(t testing.TB, key string) []string {
	t.Helper()
	out, err := srv.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return ids
}

// assertNothingLeft checks that an aborted upload left no object, no
// manifest and no unfinished multipart upload.
func assertNothingLeft(t testing.TB, key string) {
	t.Helper()
	if exists(t, key) {
		t.Errorf("object %s exists after the abort", key)
	}
	if exists(t, ManifestKey(key)) {
		t.Errorf("manifest of %s exists after the abort", key)
	}
	if u := unfinished(t, key); len(u) > 0 {
		t.Errorf("unfinished multipart uploads after the abort: %v", u)
	}
}

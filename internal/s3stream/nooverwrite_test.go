package s3stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Tests of WriterOptions.NoOverwrite: two writers to one key, as two
// backup runs started in the same second are. "The other writer" stores
// its object straight at the server, at the moment each test names.

var othersBytes = []byte("the other writer's object\n")

// putOthers stores the other writer's object at key and returns its ETag.
func putOthers(t *testing.T, key string) string {
	t.Helper()
	out, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(othersBytes),
	})
	if err != nil {
		t.Errorf("the other writer's PUT: %v", err)
		return ""
	}
	return aws.ToString(out.ETag)
}

// assertOthers checks that key holds the other writer's object, untouched,
// and that no unfinished upload is left.
func assertOthers(t *testing.T, key, what string) {
	t.Helper()
	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Errorf("%s: the other writer's object is gone: %v", what, err)
		return
	}
	defer out.Body.Close()
	if got, _ := io.ReadAll(out.Body); !bytes.Equal(got, othersBytes) {
		t.Errorf("%s: the other writer's object was replaced (%d bytes)", what, len(got))
	}
	if u := unfinished(t, key); len(u) > 0 {
		t.Errorf("%s: unfinished uploads: %v", what, u)
	}
}

// wantExists checks that err is an *ExistsError for key.
func wantExists(t *testing.T, err error, key string, replaced bool, what string) {
	t.Helper()
	var ee *ExistsError
	if !errors.Is(err, ErrExists) || !errors.As(err, &ee) || ee.Key != key || ee.Replaced != replaced {
		t.Errorf("%s: %v; want an ExistsError (replaced %v) for %s", what, err, replaced, key)
	}
}

// ignoreIfNoneMatch makes a client behave as with a store that ignores
// If-None-Match: the header is dropped before the request is signed.
func ignoreIfNoneMatch(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Build.Add(middleware.BuildMiddlewareFunc("testDropIfNoneMatch",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if r, ok := in.Request.(*smithyhttp.Request); ok {
					r.Header.Del("If-None-Match")
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
	})
}

// TestNoOverwriteExisting: an object already at the key stays, and the
// upload fails with ErrExists, also where the store ignores If-None-Match;
// without NoOverwrite the upload replaces it.
func TestNoOverwriteExisting(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		for _, ignores := range []bool{false, true} {
			what := tc.algo + ", " + units.FormatSize(tc.n)
			c := newClient(t)
			if ignores {
				what += ", store ignores If-None-Match"
				c = s3.New(c.Options(), ignoreIfNoneMatch)
			}
			key := uniqueKey(t)
			putOthers(t, key)
			_, err := upload(t, c, key, 30, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
			wantExists(t, err, key, false, what)
			assertOthers(t, key, what)
			if _, err := upload(t, c, key, 30, tc.n, 0, WriterOptions{PartChecksum: tc.algo}); err != nil {
				t.Errorf("%s: without NoOverwrite: %v", what, err)
			}
		}
	}
}

// TestNoOverwriteLosesRace: the other writer commits after this writer
// looked at the key but before its commit arrives. The service refuses the
// commit (412): the upload fails with ErrExists and is aborted, and the
// other writer's object stays.
func TestNoOverwriteLosesRace(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		key := uniqueKey(t)
		var header []string
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			if n == 1 {
				header = req.Header.Values("If-None-Match")
				putOthers(t, key)
			}
			return next.Do(req)
		}}
		_, err := upload(t, scriptedClient(t, s), key, 31, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		wantExists(t, err, key, false, what)
		if len(header) != 1 || header[0] != "*" {
			t.Errorf("%s: the commit carried If-None-Match %q, want *", what, header)
		}
		if s.commits.Load() != 1 {
			t.Errorf("%s: %d commit requests, want 1", what, s.commits.Load())
		}
		assertOthers(t, key, what)
	}
}

// TestNoOverwriteReplacedAfterCommit: on a store that ignores If-None-Match,
// the other writer replaces the object just after this writer's commit:
// reading the object back shows it, and Close fails with ErrExists
// (Replaced) without removing the other writer's object.
func TestNoOverwriteReplacedAfterCommit(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		key := uniqueKey(t)
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			resp, err := next.Do(req)
			if n == 1 {
				putOthers(t, key)
			}
			return resp, err
		}}
		c := s3.New(scriptedClient(t, s).Options(), ignoreIfNoneMatch)
		w := NewWriter(t.Context(), c, bucket, key, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		w.ReadFrom(stream(32, tc.n))
		wantExists(t, w.Close(), key, true, what)
		if err := w.Abort(nil); err != nil {
			t.Errorf("%s: Abort after the lost race: %v", what, err)
		}
		assertOthers(t, key, what)
	}
}

// TestNoOverwriteCommitAnswerLost loses the answer to the first commit
// request, which the server carried out: the retry finds this writer's
// own object at the key (a 412 for a PUT; S3 may answer either way), and
// the writer recognises it instead of reporting another writer.
func TestNoOverwriteCommitAnswerLost(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		var statuses []int
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			resp, err := next.Do(req)
			if err == nil && n == 1 {
				resp.Body.Close()
				return nil, errReset
			}
			if err == nil {
				statuses = append(statuses, resp.StatusCode)
			}
			return resp, err
		}}
		c := scriptedClient(t, s)
		key := uniqueKey(t)
		want, _ := sum(t, stream(33, tc.n))
		res, err := upload(t, c, key, 33, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if tc.n < firstPartSize && (len(statuses) != 1 || statuses[0] != http.StatusPreconditionFailed) {
			t.Errorf("%s: the retried PUT was answered %v, want 412", what, statuses)
		}
		if got, _, err := download(t, c, key, ReaderOptions{}); err != nil || got != want || res.SHA256 != want {
			t.Fatalf("%s: read back sha256 %s (%v), want %s", what, got, err, want)
		}
		if res.ETag == "" {
			t.Errorf("%s: no ETag in the result", what)
		}
	}
}

// TestNoOverwriteAnswerLostOtherWins: the first commit request is lost on
// its way (the server never sees it), the other writer commits, and the
// SDK's retry is refused: the object at the key is not this writer's, so
// Close fails with ErrExists and nothing of the other writer's is removed.
func TestNoOverwriteAnswerLostOtherWins(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		key := uniqueKey(t)
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			if n == 1 {
				putOthers(t, key)
				return nil, errReset
			}
			return next.Do(req)
		}}
		_, err := upload(t, scriptedClient(t, s), key, 34, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		wantExists(t, err, key, false, what)
		if err != nil && strings.Contains(err.Error(), "also:") {
			t.Errorf("%s: the clean-up failed: %v", what, err)
		}
		assertOthers(t, key, what)
	}
}

// TestNoOverwriteReplacedBeforeRetry: the first commit goes through but its
// answer is lost, and an unconditional writer replaces the object before
// the SDK's retry. The retry of a multipart completion is answered 200
// with this upload's ETag (S3 and the test server repeat the answer);
// that of a PUT is refused. Either way Close fails with ErrExists and the
// other writer's object stays.
func TestNoOverwriteReplacedBeforeRetry(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		key := uniqueKey(t)
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			resp, err := next.Do(req)
			if err == nil && n == 1 {
				resp.Body.Close()
				putOthers(t, key)
				return nil, errReset
			}
			return resp, err
		}}
		_, err := upload(t, scriptedClient(t, s), key, 35, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		wantExists(t, err, key, tc.n > firstPartSize, what)
		assertOthers(t, key, what)
	}
}

// TestNoOverwriteConflict: a conditional commit that ran at the same time
// as another write to the key is answered 409 ConditionalRequestConflict.
// A PUT is sent again; a multipart upload cannot be (S3 wants it made
// anew), so it fails, aborted, leaving nothing.
func TestNoOverwriteConflict(t *testing.T) {
	for _, tc := range sizesAndChecksums {
		what := tc.algo + ", " + units.FormatSize(tc.n)
		key := uniqueKey(t)
		s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
			if n == 1 {
				return errorResponse(req, http.StatusConflict, "ConditionalRequestConflict"), nil
			}
			return next.Do(req)
		}}
		_, err := upload(t, scriptedClient(t, s), key, 36, tc.n, 0, WriterOptions{PartChecksum: tc.algo, NoOverwrite: true})
		if tc.n < firstPartSize {
			if err != nil || s.commits.Load() != 2 {
				t.Errorf("%s: %v after %d commit requests; want success after 2", what, err, s.commits.Load())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "ConditionalRequestConflict") || errors.Is(err, ErrExists) {
			t.Errorf("%s: %v; want the conflict", what, err)
		}
		assertNothingLeft(t, key)
	}
}

// TestManifestNoOverwrite: with NoOverwrite a manifest is written only
// where none is; a retry that finds its own manifest (the first answer
// lost) succeeds; another writer's manifest stays.
func TestManifestNoOverwrite(t *testing.T) {
	opts := &WriterOptions{NoOverwrite: true}
	key := uniqueKey(t)
	m := &Manifest{Version: ManifestVersion, Bucket: bucket, Key: key, Size: 1, SHA256: strings.Repeat("0", 64)}
	lost := lossyClient(t, func(r *http.Request) bool { return r.Method == "PUT" }, nil)
	if err := WriteManifest(t.Context(), lost, bucket, key, m, opts); err != nil {
		t.Fatalf("first manifest, answer lost: %v", err)
	}
	if got, err := ReadManifest(t.Context(), lost, bucket, key); err != nil || got.Key != key {
		t.Fatalf("read back: %+v, %v", got, err)
	}

	key = uniqueKey(t)
	putOthers(t, ManifestKey(key))
	err := WriteManifest(t.Context(), newClient(t), bucket, key, m, opts)
	wantExists(t, err, ManifestKey(key), false, "manifest")
	assertOthers(t, ManifestKey(key), "manifest")

	if err := WriteManifest(t.Context(), newClient(t), bucket, key, m, nil); err != nil {
		t.Errorf("without NoOverwrite: %v", err)
	}

	// A store that ignores If-None-Match, and another writer's manifest
	// just after this one: reading it back shows it.
	key = uniqueKey(t)
	s := &scripted{commit: func(next s3.HTTPClient, req *http.Request, n int) (*http.Response, error) {
		resp, err := next.Do(req)
		if n == 1 {
			putOthers(t, ManifestKey(key))
		}
		return resp, err
	}}
	err = WriteManifest(t.Context(), s3.New(scriptedClient(t, s).Options(), ignoreIfNoneMatch), bucket, key, m, opts)
	wantExists(t, err, ManifestKey(key), true, "manifest, store ignores If-None-Match")
	assertOthers(t, ManifestKey(key), "manifest, store ignores If-None-Match")
}

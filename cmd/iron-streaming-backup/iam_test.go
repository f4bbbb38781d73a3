package main

// Keys that may do less than everything, refused by a real store: the
// gateway's own accounts, whose rights a bucket policy sets.

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

var (
	usersOnce sync.Once
	usersSrv  *testenv.S3Server
	usersErr  error
)

// usersGateway is a gateway with accounts, started once for the tests
// that need one (the package's gateway has root only), and stopped with
// the others after them.
func usersGateway(t *testing.T) *testenv.S3Server {
	t.Helper()
	usersOnce.Do(func() {
		usersSrv, usersErr = testenv.StartS3With(context.Background(), testenv.S3Options{Users: true})
	})
	if usersErr != nil {
		t.Fatal("start S3 gateway with accounts:", usersErr)
	}
	return usersSrv
}

// limitedKey makes a bucket of the test's own on gw (with Object Lock
// when lock) and a user that may do only actions in it, and returns the
// bucket and the job's environment with the user's keys.
func limitedKey(t *testing.T, gw *testenv.S3Server, lock bool, list string, actions []string, extra ...string) (string, []string) {
	t.Helper()
	ctx := t.Context()
	bucket := bucketName(t, "k")
	create := gw.CreateBucket
	if lock {
		create = gw.CreateLockBucket
	}
	if err := create(ctx, gw.Client(), bucket); err != nil {
		t.Fatal(err)
	}
	u, err := gw.AddUser(ctx, fmt.Sprintf("user%d", bucketSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Grant(ctx, bucket, testenv.Grant{User: u, Actions: actions}); err != nil {
		t.Fatal(err)
	}
	env := jobEnv(list, bucket, gw.Endpoint, extra...)
	for _, kv := range u.Env() {
		if strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = replaceEnv(env, kv)
		}
	}
	return bucket, env
}

// left is what is in bucket, as root sees it: its keys and unfinished
// multipart uploads.
func left(t *testing.T, gw *testenv.S3Server, bucket string) (keys, uploads []string) {
	t.Helper()
	c := gw.Client()
	out, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	mp, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range mp.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	return keys, uploads
}

// unreachableDatabase is a list line whose server is a listener that only
// counts the connections made to it: pg_dump and psql connect before they
// do anything else.
func unreachableDatabase(t *testing.T, prefix string) (line string, connections *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	connections = new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	return strings.Join([]string{"127.0.0.1", port, "app", "backup", "pw", prefix}, ":") + "\n", connections
}

// TestKeyWithoutWrite: a key that may not write fails the job before any
// pg_dump started, exit 2, with one line naming the permission the store
// refused (the write check's real request, with the objects' lock
// headers), and leaves nothing: no object, no unfinished upload.
func TestKeyWithoutWrite(t *testing.T) {
	t.Parallel()
	gw := usersGateway(t)
	readOnly := []string{"s3:ListBucket", "s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold", "s3:GetBucketObjectLockConfiguration"}
	for _, tc := range []struct {
		name    string
		lock    bool
		actions []string
		extra   []string
		want    string // the error line's end
	}{
		{"read-only", false, readOnly, nil, "s3:PutObject"},
		{"read-only, folder", false, readOnly, []string{"S3_PREFIX=nightly/"}, "s3:PutObject"},
		// May write, but not lock what it writes.
		{"no retention", true, append(readOnly, "s3:PutObject", "s3:AbortMultipartUpload"),
			[]string{"S3_PREFIX=nightly/", "OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=1"}, "s3:PutObject and s3:PutObjectRetention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			line, connections := unreachableDatabase(t, "db1")
			bucket, env := limitedKey(t, gw, tc.lock, line, tc.actions, tc.extra...)
			folder := ""
			for _, kv := range tc.extra {
				if f, ok := strings.CutPrefix(kv, "S3_PREFIX="); ok {
					folder = f
				}
			}
			r := runJob(t, env)
			t.Logf("stderr:\n%s", r.stderr)
			want := fmt.Sprintf("iron-streaming-backup: error: upload to s3://%s/%s.iron-streaming-backup-write-check: access denied (at %s): the credentials may not write backups to s3://%s (%s)\n",
				bucket, folder, gw.Endpoint, bucket, tc.want)
			if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, ": error: ") != 1 {
				t.Errorf("exit %d, want 2 and one error line:\n%s", r.code, want)
			}
			if !strings.Contains(r.stderr, "iron-streaming-backup: hint: the credentials lack "+tc.want+", or they are wrong: ") {
				t.Errorf("no hint naming %s", tc.want)
			}
			if n := connections.Load(); n != 0 || strings.Contains(r.stderr, "db1") {
				t.Errorf("the database was reached (%d connections) or the backup started", n)
			}
			if keys, uploads := left(t, gw, bucket); len(keys) != 0 || len(uploads) != 0 {
				t.Errorf("left objects %q and unfinished uploads %q", keys, uploads)
			}
		})
	}
}

// TestWriteOnlyKey: a key that may write and abort uploads but not list or
// read backs up, with a warning about the listing, and leaves no
// unfinished upload; list and verify each fail with one line saying that
// it may not list, and which permission that is.
func TestWriteOnlyKey(t *testing.T) {
	t.Parallel()
	gw := usersGateway(t)
	_, list := sourceDatabase(t, "wonly")
	bucket, env := limitedKey(t, gw, false, list, []string{"s3:PutObject", "s3:AbortMultipartUpload"})

	r := runJob(t, env)
	t.Logf("backup:\n%s", r.stderr)
	warning := "iron-streaming-backup: warning: checking s3://" + bucket + ": access denied (at " + gw.Endpoint + "): the credentials may not list the bucket (s3:ListBucket), which a backup does not need but list, verify and retention (KEEP_) do\n"
	if r.code != 0 || !strings.Contains(r.stderr, warning) || strings.Count(r.stderr, "warning: ") != 1 {
		t.Errorf("exit %d, want 0 and the one warning:\n%s", r.code, warning)
	}
	keys, uploads := left(t, gw, bucket)
	if len(uploads) != 0 {
		t.Errorf("unfinished uploads %q", uploads)
	}
	if len(keys) != 2 || !regexp.MustCompile(`^wonly-\d{14}\.gz\.aes$`).MatchString(keys[0]) || keys[1] != keys[0]+".manifest.json" {
		t.Errorf("bucket holds %q, want the backup and its manifest", keys)
	}

	for _, tc := range []struct {
		command, want string
	}{
		{"list", "iron-streaming-backup: error: listing s3://" + bucket + ": access denied: the credentials may not list the bucket (s3:ListBucket)\n"},
		{"verify", "iron-streaming-backup: error: wonly: listing s3://" + bucket + "/wonly-: access denied: the credentials may not list the bucket (s3:ListBucket)\n"},
	} {
		r := runJob(t, env, tc.command)
		t.Logf("%s:\n%s", tc.command, r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%s: exit %d, want 1 and the line\n%s", tc.command, r.code, tc.want)
		}
		if !strings.Contains(r.stderr, "hint: ") || !strings.Contains(r.stderr, "the credentials lack s3:ListBucket, or they are wrong") {
			t.Errorf("%s: no hint naming s3:ListBucket", tc.command)
		}
	}
}

// TestKeyWithoutAbort: a key that may write but not abort uploads backs up;
// the write check's upload, which it could not abort, is a warning that
// names the permission, and the one thing left.
func TestKeyWithoutAbort(t *testing.T) {
	t.Parallel()
	gw := usersGateway(t)
	_, list := sourceDatabase(t, "noabort")
	bucket, env := limitedKey(t, gw, false, list, []string{"s3:ListBucket", "s3:PutObject"})
	r := runJob(t, env)
	t.Logf("backup:\n%s", r.stderr)
	warning := regexp.MustCompile(`(?m)^iron-streaming-backup: warning: abort unfinished upload \(ID [^)]+\) of s3://` + bucket + `/\.iron-streaming-backup-write-check: access denied \(at [^)]+\): the credentials may write but not abort uploads \(s3:AbortMultipartUpload\), so this check's upload is left unfinished, as a failed backup's would be$`)
	if r.code != 0 || !warning.MatchString(r.stderr) || strings.Count(r.stderr, "warning: ") != 1 {
		t.Errorf("exit %d, want 0 and one warning naming s3:AbortMultipartUpload", r.code)
	}
	keys, uploads := left(t, gw, bucket)
	if len(keys) != 2 || len(uploads) != 1 || uploads[0] != ".iron-streaming-backup-write-check" {
		t.Errorf("bucket holds %q and unfinished uploads %q; want the backup, its manifest and the check's upload", keys, uploads)
	}
}

// Package s3test runs the tests of the s3put and s3get commands: it starts
// an S3 gateway around testscript's Main, gives scripts its environment,
// and adds script commands that look at the bucket directly.
package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv/scripttest"
)

// Bucket is the bucket the server starts with.
const Bucket = "scripts"

// Server is the gateway of the running tests.
var Server *testenv.S3Server

// Main is TestMain for a command's tests: it registers the commands with
// testscript and, in the test process only, starts the gateway first. A
// gateway that cannot start fails the run.
func Main(m *testing.M, commands map[string]func()) {
	testscript.Main(withServer{m}, commands)
}

type withServer struct{ m *testing.M }

func (w withServer) Run() int {
	defer testenv.StopAll()
	var err error
	if Server, err = testenv.StartS3(context.Background(), Bucket); err != nil {
		fmt.Fprintln(os.Stderr, "start S3 gateway:", err)
		return 1
	}
	return w.m.Run()
}

// Env is the environment in which a command finds the gateway the way it
// would find AWS: the standard variables, path style, no shared config.
func Env() []string {
	return append(Server.Env(),
		"S3_PATH_STYLE=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// Params are the testscript parameters for the scripts in testdata: those
// of every command (scripttest), the gateway's environment, and the s3
// command.
func Params() testscript.Params {
	p := scripttest.Params()
	p.Cmds["s3"] = cmdS3
	p.Setup = func(e *testscript.Env) error {
		for _, kv := range Env() {
			k, v, _ := strings.Cut(kv, "=")
			e.Setenv(k, v)
		}
		e.Setenv("ENDPOINT", Server.Endpoint)
		e.Setenv("BUCKET", Bucket)
		// Each script gets its own key prefix in the shared bucket.
		e.Setenv("P", strings.ReplaceAll(e.WorkDir[strings.LastIndex(e.WorkDir, "/")+1:], ".", "-"))
		return nil
	}
	return p
}

// Client is a client for the gateway, with its credentials.
func Client() *s3.Client { return Server.Client() }

// cmdS3 looks at and changes the bucket behind the commands' backs:
//
//	s3 exists KEY            the object exists
//	s3 cat KEY               print the object
//	s3 put KEY FILE          store FILE as KEY with a plain PutObject
//	s3 manifest KEY [SHA256] write a manifest for KEY (with a wrong
//	                         checksum when SHA256 is given)
//	s3 unfinished            some multipart upload under $P/ is unfinished
//	s3 gen N FILE            write N pseudo-random bytes to FILE
func cmdS3(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: s3 exists|cat|put|manifest|unfinished|gen ...")
	}
	ctx := context.Background()
	c := Client()
	b := aws.String(Bucket)
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			if neg {
				ts.Fatalf("unexpectedly "+format, a...)
			}
			ts.Fatalf(format, a...)
		}
	}
	switch args[0] {
	case "exists":
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String(args[1])})
		check(err == nil, "%s exists: %v", args[1], err)
	case "cat":
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(args[1])})
		ts.Check(err)
		defer out.Body.Close()
		_, err = io.Copy(ts.Stdout(), out.Body)
		ts.Check(err)
	case "put":
		data, err := os.ReadFile(ts.MkAbs(args[2]))
		ts.Check(err)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(args[1]), Body: bytes.NewReader(data)})
		ts.Check(err)
	case "manifest":
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(args[1])})
		ts.Check(err)
		h := sha256.New()
		n, err := io.Copy(h, out.Body)
		out.Body.Close()
		ts.Check(err)
		m := &s3stream.Manifest{Version: 1, Bucket: Bucket, Key: args[1], Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ETag: aws.ToString(out.ETag), Parts: 1, PartSize: n}
		if len(args) > 2 {
			m.SHA256 = args[2]
		}
		ts.Check(s3stream.WriteManifest(ctx, c, Bucket, args[1], m, nil))
	case "unfinished":
		// Only this script's: the scripts run in parallel, each under its
		// own folder $P, and another's upload may be under way.
		prefix := ts.Getenv("P") + "/"
		out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b, Prefix: aws.String(prefix)})
		ts.Check(err)
		check(len(out.Uploads) > 0, "%d unfinished uploads under %s", len(out.Uploads), prefix)
	case "gen":
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		f, err := os.Create(ts.MkAbs(args[2]))
		ts.Check(err)
		_, err = io.Copy(f, Stream(uint64(n), n))
		ts.Check(err)
		ts.Check(f.Close())
	default:
		ts.Fatalf("unknown s3 command %q", args[0])
	}
}

// Stream is a deterministic, fast stream of n pseudo-random bytes.
func Stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// WatchRSS samples the peak resident set size (VmHWM) of process pid until
// the returned function is called, which returns the largest value seen,
// in bytes. Unlike the rusage of a waited-for child, VmHWM covers only the
// process's own memory after exec: Go starts children with vfork, and the
// kernel carries the parent's high-water mark into the child's ru_maxrss.
func WatchRSS(pid int) (stop func() int64) {
	done := make(chan struct{})
	result := make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := vmHWM(pid); v > peak {
				peak = v
			}
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(done); return <-result }
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Command returns the command name (s3put or s3get) as a process of its
// own, set up for the test server: testscript put the test binary on PATH
// under that name.
func Command(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), Env()...)
	return cmd
}

// Command imagetest runs a built image of the project the three ways users
// run it, against a throwaway PostgreSQL cluster and S3 gateway (the ones
// the tests use, internal/testenv), and checks the image itself:
//
//  1. the image: uid 10001, a writable HOME, CA certificates, no compiler,
//     no secret in its layers, history or config, OCI labels, the version
//     stamped alike in the label, `-version` and the manifest's tool; it
//     prints every pg_dump's version and the image's size;
//  2. IronIO: the entrypoint unchanged, PAYLOAD_FILE naming a payload.json
//     as the README shows it, then one as siderite's env2payload writes it
//     with cmd ["/app/backup.sh", "db1"], then a database with a wrong
//     password (its exit status passes through, no object is left); the
//     backup is restored from outside with the README's stock one-liner;
//  3. Kubernetes: as deploy/kubernetes/cronjob.yaml runs it (read-only root,
//     tmpfs /tmp, uid 10001, command /app/backup.sh, the Secret as env);
//  4. the filters alone: osslenc in a restore pipeline, and encrypting for
//     a stock openssl.
//
// scripts/image-test.sh builds the image and runs this ('make image-test').
// Secrets reach containers only through files and inherited environment
// variables (-e NAME, --env-file), never an engine's argv.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

const (
	bucket = "backups"
	dbUser = "backup_user"
)

func main() {
	image := flag.String("image", "", "the image to test")
	engine := flag.String("engine", "podman", "the container engine command (words split at spaces)")
	canaryFile := flag.String("canary-file", "", "a file in the build context, outside what the image needs, whose text must not be in the image")
	flag.Parse()
	if *image == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: imagetest -image NAME [-engine podman] [-canary-file FILE]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	t := &tester{ctx: ctx, image: *image, engine: strings.Fields(*engine)}
	start := time.Now()
	err := t.run(*canaryFile)
	stop()
	testenv.StopAll()
	if t.work != "" {
		os.RemoveAll(t.work)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "image-test: error: %v\n", err)
		t.failed++
	}
	fmt.Printf("image-test: %s in %v\n", t.image, time.Since(start).Round(100*time.Millisecond))
	fmt.Printf("image-test: %d passed, %d failed\n", t.passed, t.failed)
	if t.failed > 0 {
		os.Exit(1)
	}
}

type tester struct {
	ctx            context.Context
	image          string
	engine         []string
	pg             *testenv.Postgres
	srv            *testenv.S3Server
	client         *s3.Client
	work           string // private folder, removed at the end
	awsDir         string // folder of the AWS CLI
	dbPassword     string
	encPass        string
	canaries       []string // texts that must appear nowhere in the image
	version        string   // the stamped version (the label)
	passed, failed int
}

func say(format string, args ...any) { fmt.Printf("image-test: "+format+"\n", args...) }

// step runs one check and reports it; a failed check does not stop the
// others.
func (t *tester) step(name string, f func() error) bool {
	start := time.Now()
	err := f()
	d := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		t.failed++
		fmt.Printf("image-test: FAIL: %s (%v): %v\n", name, d, err)
		return false
	}
	t.passed++
	fmt.Printf("image-test: ok: %s (%v)\n", name, d)
	return true
}

func (t *tester) run(canaryFile string) error {
	if canaryFile != "" {
		b, err := os.ReadFile(canaryFile)
		if err != nil {
			return err
		}
		t.canaries = append(t.canaries, strings.TrimSpace(string(b)))
	}
	var err error
	if t.awsDir, err = testenv.FindAWS(); err != nil {
		return err
	}
	if t.work, err = os.MkdirTemp("", "isb-imagetest-"); err != nil {
		return err
	}
	if err := t.startServers(); err != nil {
		return err
	}
	t.canaries = append(t.canaries, t.dbPassword, t.encPass, t.srv.SecretKey)

	t.step("the image: user, HOME, CA certificates, labels, version, pg_dump clients", t.checkImage)
	t.step("no secret, compiler or build context in the image's layers, history or config", t.checkLayers)

	var key string
	t.step("IronIO: payload.json as the README shows it, cmd [/app/backup.sh]", func() error {
		var err error
		key, err = t.ironIOReadme()
		return err
	})
	t.step("IronIO: payload as siderite's env2payload writes it, cmd [/app/backup.sh, db1]", t.ironIOSiderite)
	t.step("IronIO: a wrong database password: exit status 1 passes through, no object left", t.ironIOWrongPassword)
	if key != "" {
		t.step("restore from outside with the README's stock one-liner", func() error { return t.restoreStock(key) })
		t.step("the filters alone: osslenc from the image in restore and backup pipelines", func() error { return t.filters(key) })
	}
	t.step("Kubernetes: as deploy/kubernetes/cronjob.yaml runs it (read-only root, tmpfs /tmp, uid 10001)", t.kubernetes)
	return nil
}

func (t *tester) startServers() error {
	start := time.Now()
	var err error
	if t.pg, err = testenv.StartPostgres(t.ctx); err != nil {
		return err
	}
	if t.srv, err = testenv.StartS3(t.ctx, bucket); err != nil {
		return err
	}
	t.client = t.srv.Client()
	t.dbPassword = testenv.RandomText("db-")
	t.encPass = testenv.RandomText("enc-")
	if err := t.pg.CreateUser(t.ctx, dbUser, t.dbPassword); err != nil {
		return err
	}
	for _, db := range []string{"db1", "db2"} {
		if err := t.pg.CreateDatabase(t.ctx, db); err != nil {
			return err
		}
		if _, err := t.pg.Psql(t.ctx, db, testenv.SampleSQL(dbUser, 20000, 300)); err != nil {
			return err
		}
	}
	say("started PostgreSQL %d on 127.0.0.1:%d and the S3 gateway at %s (%v)", t.pg.Major, t.pg.Port, t.srv.Endpoint, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// pgpass is the job's database list; password "" means the right one.
func (t *tester) pgpass(password string, dbs ...string) string {
	if password == "" {
		password = t.dbPassword
	}
	var b strings.Builder
	for _, db := range dbs {
		fmt.Fprintf(&b, "127.0.0.1:%d:%s:%s:%s:%s\n", t.pg.Port, db, dbUser, password, db)
	}
	return b.String()
}

// jobEnv is the job's environment: the original image's five variables and
// what a local S3 gateway needs.
func (t *tester) jobEnv(list, prefix string) map[string]string {
	return map[string]string{
		"PGPASS_FILE_BASE64":    base64.StdEncoding.EncodeToString([]byte(list)),
		"PASS_FILE_BASE64":      base64.StdEncoding.EncodeToString([]byte(t.encPass + "\n")),
		"AWS_ACCESS_KEY_ID":     t.srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": t.srv.SecretKey,
		"S3_BUCKET":             bucket,
		"S3_PREFIX":             prefix,
		"S3_PATH_STYLE":         "true",
		"AWS_ENDPOINT_URL":      t.srv.Endpoint,
		"AWS_REGION":            t.srv.Region,
	}
}

// container runs the engine with args; stdin may be nil; env is added to
// the engine's environment (for -e NAME without a value).
func (t *tester) container(stdin []byte, env []string, args ...string) (testenv.Result, error) {
	return testenv.Run(t.ctx, 10*time.Minute, env, stdin, t.engine[0], append(append([]string{}, t.engine[1:]...), args...)...)
}

// writePayload writes a payload file readable by the container's uid into
// a folder of its own, returned for mounting.
func (t *tester) writePayload(name string, data []byte) (string, error) {
	dir := filepath.Join(t.work, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "payload.json"), data, 0o644)
}

// runIronIO runs the image as IronIO does: its entrypoint, PAYLOAD_FILE set.
func (t *tester) runIronIO(name string, payload []byte) (testenv.Result, error) {
	dir, err := t.writePayload(name, payload)
	if err != nil {
		return testenv.Result{}, err
	}
	return t.container(nil, nil, "run", "--rm", "--network", "host",
		"-v", dir+":/mnt/task:ro", "-e", "PAYLOAD_FILE=/mnt/task/payload.json", t.image)
}

// objects lists the keys under a prefix.
func (t *tester) objects(prefix string) ([]string, error) {
	out, err := t.client.ListObjectsV2(t.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys, nil
}

var backupKey = regexp.MustCompile(`^(.*)-\d{14}\.gz\.aes$`)

// backupKeys returns the backup objects (not manifests) of a prefix.
func backupKeys(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if m := backupKey.FindStringSubmatch(k); m != nil && m[1] == prefix {
			out = append(out, k)
		}
	}
	return out
}

// hostDump is the host's pg_dump of a database of the test server, without
// the \restrict lines, whose key is random on every run.
func (t *tester) hostDump(db string) ([]byte, error) {
	out, err := t.pg.Command(t.ctx, "pg_dump", "--no-owner", "--no-privileges", "-d", db).Output()
	if err != nil {
		return nil, fmt.Errorf("pg_dump %s: %w", db, err)
	}
	return testenv.WithoutRestrict(out), nil
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

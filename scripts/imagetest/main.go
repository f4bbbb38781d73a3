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
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
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
	t.dbPassword = randomText("db-")
	t.encPass = randomText("enc-")
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

// result is what a container run did.
type result struct {
	code           int
	stdout, stderr string
}

// container runs the engine with args; stdin may be nil; env is added to
// the engine's environment (for -e NAME without a value).
func (t *tester) container(stdin []byte, env []string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Minute)
	defer cancel()
	argv := append(append([]string{}, t.engine[1:]...), args...)
	cmd := exec.CommandContext(ctx, t.engine[0], argv...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		err = nil
	}
	return r, err
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
func (t *tester) runIronIO(name string, payload []byte) (result, error) {
	dir, err := t.writePayload(name, payload)
	if err != nil {
		return result{}, err
	}
	return t.container(nil, nil, "run", "--rm", "--network", "host",
		"-v", dir+":/mnt/task:ro", "-e", "PAYLOAD_FILE=/mnt/task/payload.json", t.image)
}

func (t *tester) ironIOReadme() (string, error) {
	// The README's payload.json, its fields in its order.
	env := t.jobEnv(t.pgpass("", "db1", "db2"), "ironio/")
	payload, err := json.MarshalIndent(struct {
		Version string            `json:"version"`
		Cmd     []string          `json:"cmd"`
		Env     map[string]string `json:"env"`
	}{"1", []string{"/app/backup.sh"}, env}, "", "  ")
	if err != nil {
		return "", err
	}
	r, err := t.runIronIO("readme", payload)
	if err != nil {
		return "", err
	}
	if r.code != 0 {
		return "", fmt.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "warning") {
		return "", fmt.Errorf("warnings for the README's payload:\n%s", r.stderr)
	}
	keys, err := t.objects("ironio/")
	if err != nil {
		return "", err
	}
	db1 := backupKeys(keys, "ironio/db1")
	if len(db1) != 1 || len(backupKeys(keys, "ironio/db2")) != 1 || len(keys) != 4 {
		return "", fmt.Errorf("want one object and one manifest for db1 and db2, the bucket has %q", keys)
	}
	say("IronIO run wrote %q", keys)
	return db1[0], t.checkManifestTool(db1[0])
}

func (t *tester) ironIOSiderite() error {
	// siderite's env2payload: json.Marshal of its payload type, indented by
	// two spaces: version, env, cmd, and "type" always written, empty.
	payload, err := json.MarshalIndent(struct {
		Version string            `json:"version"`
		Env     map[string]string `json:"env,omitempty"`
		Cmd     []string          `json:"cmd,omitempty"`
		Type    string            `json:"type"`
		Token   string            `json:"token,omitempty"`
	}{"1", t.jobEnv(t.pgpass("", "db1", "db2"), "siderite/"), []string{"/app/backup.sh", "db1"}, "", ""}, "", "  ")
	if err != nil {
		return err
	}
	r, err := t.runIronIO("siderite", payload)
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	keys, err := t.objects("siderite/")
	if err != nil {
		return err
	}
	if len(backupKeys(keys, "siderite/db1")) != 1 || len(keys) != 2 {
		return fmt.Errorf("want db1's object and manifest only, the bucket has %q", keys)
	}
	return nil
}

func (t *tester) ironIOWrongPassword() error {
	wrong := randomText("wrong-")
	t.canaries = append(t.canaries, wrong)
	payload, err := json.Marshal(map[string]any{"version": "1", "type": "", "cmd": []string{"/app/backup.sh"},
		"env": t.jobEnv(t.pgpass(wrong, "db1"), "wrong/")})
	if err != nil {
		return err
	}
	r, err := t.runIronIO("wrong", payload)
	if err != nil {
		return err
	}
	if r.code != 1 {
		return fmt.Errorf("exit %d, want 1:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "password authentication failed") || strings.Contains(r.stderr, wrong) {
		return fmt.Errorf("want one line naming the failed password authentication, never the password:\n%s", r.stderr)
	}
	keys, err := t.objects("wrong/")
	if err != nil {
		return err
	}
	up, err := t.client.ListMultipartUploads(t.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		return err
	}
	if len(keys) > 0 || len(up.Uploads) > 0 {
		return fmt.Errorf("a failed backup left %q and %d unfinished uploads", keys, len(up.Uploads))
	}
	say("the failure, as the job printed it: %s", lastLines(r.stderr, 2))
	return nil
}

// manifest is the part of a backup's manifest checked here.
type manifest struct {
	Tool   string `json:"tool"`
	Backup struct {
		PgDumpVersion string `json:"pg_dump_version"`
		ServerVersion string `json:"server_version"`
	} `json:"backup"`
}

func (t *tester) readManifest(key string) (*manifest, error) {
	out, err := t.client.GetObject(t.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key + ".manifest.json")})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	var m manifest
	if err := json.NewDecoder(out.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", key, err)
	}
	return &m, nil
}

// checkManifestTool compares the manifest's tool with -version and the
// image's version label.
func (t *tester) checkManifestTool(key string) error {
	m, err := t.readManifest(key)
	if err != nil {
		return err
	}
	r, err := t.container(nil, nil, "run", "--rm", "--entrypoint", "iron-streaming-backup", t.image, "-version")
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.stdout); r.code != 0 || got != m.Tool || !strings.HasPrefix(got, "iron-streaming-backup "+t.version+" ") {
		return fmt.Errorf("-version says %q (exit %d), the manifest's tool %q, the label %q", got, r.code, m.Tool, t.version)
	}
	say("the manifest says tool %q, pg_dump %s, server %s", m.Tool, m.Backup.PgDumpVersion, m.Backup.ServerVersion)
	return nil
}

// stockPlain downloads and decrypts a backup with the README's stock tools,
// returning the plain dump.
func (t *tester) stockPlain(key string) ([]byte, error) {
	return t.pipe(nil, fmt.Sprintf("aws s3 cp s3://%s/%s - | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d", bucket, key))
}

// pipe runs a bash pipeline with pipefail, KEYFILE standing for a file
// holding the encryption key, and returns its stdout.
func (t *tester) pipe(env []string, line string) ([]byte, error) {
	keyFile := filepath.Join(t.work, "backup.key")
	if err := os.WriteFile(keyFile, []byte(t.encPass+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(t.ctx, "bash", "-o", "pipefail", "-c", strings.ReplaceAll(line, "KEYFILE", keyFile))
	cmd.Env = append(append(os.Environ(), "PATH="+t.awsDir+":"+t.pg.BinDir+":"+os.Getenv("PATH")), t.srv.Env()...)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", line, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// restoreStock restores with the README's one-liner into a new database of
// the test server, with the host's psql, and compares pg_dump of both. The
// plain dump must first equal what the image's own pg_dump writes of the
// source (the stream lost or changed nothing).
func (t *tester) restoreStock(key string) error {
	m, err := t.readManifest(key)
	if err != nil {
		return err
	}
	plain, err := t.stockPlain(key)
	if err != nil {
		return err
	}
	major := strings.SplitN(m.Backup.PgDumpVersion, ".", 2)[0]
	r, err := t.container(nil, []string{"PGPASSWORD=" + t.dbPassword}, "run", "--rm", "--network", "host", "-e", "PGPASSWORD",
		"--entrypoint", "/usr/lib/postgresql/"+major+"/bin/pg_dump", t.image,
		"--host", "127.0.0.1", "--port", strconv.Itoa(t.pg.Port), "--username", dbUser, "--no-password", "--dbname", "db1")
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("pg_dump %s in the image: exit %d: %s", major, r.code, r.stderr)
	}
	if !bytes.Equal(withoutRestrict(plain), withoutRestrict([]byte(r.stdout))) {
		return fmt.Errorf("the restored stream (%d bytes) differs from pg_dump %s's own output (%d bytes)", len(plain), major, len(r.stdout))
	}
	say("the backup decrypts with stock openssl and gzip to exactly what pg_dump %s writes (%d bytes)", m.Backup.PgDumpVersion, len(plain))

	if err := t.pg.CreateDatabase(t.ctx, "restored"); err != nil {
		return err
	}
	line := fmt.Sprintf("aws s3 cp s3://%s/%s - | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d restored", bucket, key)
	say("restoring: %s", line)
	_, restoreErr := t.pipe(t.pg.SocketEnv(), line+" >/dev/null")
	// A dump made by a newer pg_dump may set parameters an older server
	// does not know: pg_dump 17 writes "SET transaction_timeout = 0;",
	// which a server before 17 rejects. The README says to restore into a
	// server at least as new as the pg_dump; that outcome is asserted here.
	if bytes.Contains(plain, []byte("\nSET transaction_timeout = 0;\n")) && t.pg.Major < 17 {
		if restoreErr == nil || !strings.Contains(restoreErr.Error(), `unrecognized configuration parameter "transaction_timeout"`) {
			return fmt.Errorf("a dump by pg_dump %s restored into PostgreSQL %d: want psql to stop at transaction_timeout, got %v", m.Backup.PgDumpVersion, t.pg.Major, restoreErr)
		}
		say("as docs/restore.md#which-psql-restores-what says: a dump by pg_dump %s does not restore into PostgreSQL %d with ON_ERROR_STOP (%s)", m.Backup.PgDumpVersion, t.pg.Major, lineWith(restoreErr.Error(), "transaction_timeout"))
		// The README's one-liner as written (no ON_ERROR_STOP): psql says
		// no to that one SET and restores everything else.
		if err := t.pg.CreateDatabase(t.ctx, "restored_stock"); err != nil {
			return err
		}
		line = fmt.Sprintf("aws s3 cp s3://%s/%s - | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -X -q -d restored_stock", bucket, key)
		say("restoring: %s", line)
		out, err := t.pipe(t.pg.SocketEnv(), line+" 2>&1 >/dev/null")
		if err != nil {
			return err
		}
		var errs []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "ERROR:") {
				errs = append(errs, l)
			}
		}
		if len(errs) != 1 || !strings.Contains(errs[0], `unrecognized configuration parameter "transaction_timeout"`) {
			return fmt.Errorf("the stock restore into PostgreSQL %d: want the one error about transaction_timeout, got %q", t.pg.Major, errs)
		}
		return t.sameDump("db1", "restored_stock")
	}
	if restoreErr != nil {
		return restoreErr
	}
	return t.sameDump("db1", "restored")
}

// sameDump compares pg_dump of two databases of the test server.
func (t *tester) sameDump(src, restored string) error {
	a, err := t.hostDump(src)
	if err != nil {
		return err
	}
	b, err := t.hostDump(restored)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("pg_dump of the restored database %s differs from the source's", restored)
	}
	say("pg_dump of %s and of the restored database %s are identical (%d bytes)", src, restored, len(a))
	return nil
}

// filters runs osslenc from the image in the README's pipelines: as the
// decrypting stage of a restore, and as the encrypting stage of a backup
// that stock openssl decrypts. The key reaches the container as an
// inherited variable (-e K), never in argv.
func (t *tester) filters(key string) error {
	want, err := t.stockPlain(key)
	if err != nil {
		return err
	}
	osslenc := strings.Join(t.engine, " ") + " run --rm -i -e K --entrypoint osslenc " + t.image
	k := []string{"K=" + t.encPass}
	got, err := t.pipe(k, fmt.Sprintf("aws s3 cp s3://%s/%s - | %s -d -pass env:K | gzip -d", bucket, key, osslenc))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("osslenc -d from the image gave %d bytes, stock openssl %d", len(got), len(want))
	}
	sample := filepath.Join(t.work, "sample.sql")
	if err := os.WriteFile(sample, want, 0o600); err != nil {
		return err
	}
	got, err = t.pipe(k, fmt.Sprintf("gzip < %s | %s -e -pass env:K | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d", sample, osslenc))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("osslenc -e from the image, decrypted by stock openssl: %d bytes, want %d", len(got), len(want))
	}
	return nil
}

// kubernetes runs the image as the CronJob manifest does. The manifest's
// settings that matter are read from it, so the test follows it.
func (t *tester) kubernetes() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	y, err := os.ReadFile(filepath.Join(root, "deploy/kubernetes/cronjob.yaml"))
	if err != nil {
		return err
	}
	for _, want := range []string{
		`runAsUser: 10001`, `runAsGroup: 10001`, `runAsNonRoot: true`, `readOnlyRootFilesystem: true`,
		`allowPrivilegeEscalation: false`, `capabilities: {drop: ["ALL"]}`,
		`command: ["/app/backup.sh"]`, `mountPath: /tmp`, `name: COMPRESSION`, `value: gzip`, `secretRef:`,
	} {
		if !bytes.Contains(y, []byte(want)) {
			return fmt.Errorf("deploy/kubernetes/cronjob.yaml no longer says %q: update this test with it", want)
		}
	}
	// The Secret's variables, as the manifest's kubectl line creates them,
	// plus what the local S3 gateway needs.
	var lines []string
	for k, v := range t.jobEnv(t.pgpass("", "db1", "db2"), "k8s/") {
		lines = append(lines, k+"="+v)
	}
	sort.Strings(lines)
	envFile := filepath.Join(t.work, "secret.env")
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	r, err := t.container(nil, nil, "run", "--rm", "--network", "host",
		"--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,nosuid,nodev,size=1m,mode=1777",
		"--user", "10001:10001", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"--env-file", envFile, "-e", "COMPRESSION=gzip",
		"--entrypoint", "/app/backup.sh", t.image)
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	keys, err := t.objects("k8s/")
	if err != nil {
		return err
	}
	if len(backupKeys(keys, "k8s/db1")) != 1 || len(backupKeys(keys, "k8s/db2")) != 1 || len(keys) != 4 {
		return fmt.Errorf("want one object and one manifest for db1 and db2, the bucket has %q", keys)
	}
	return nil
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
	return withoutRestrict(out), nil
}

func withoutRestrict(dump []byte) []byte {
	var kept [][]byte
	for _, l := range bytes.SplitAfter(dump, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`\restrict `)) || bytes.HasPrefix(l, []byte(`\unrestrict `)) {
			continue
		}
		kept = append(kept, l)
	}
	return bytes.Join(kept, nil)
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

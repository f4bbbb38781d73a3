// Command demo runs the backup job once against throwaway servers and
// restores what it wrote with the README's stock one-liner and with the
// restore command:
//
//  1. starts a PostgreSQL cluster with a sample database and a local S3
//     gateway (the same ones the tests use);
//  2. runs iron-streaming-backup with the original image's environment;
//  3. restores the object with s3get | openssl enc -d | gzip -d | psql into
//     a new database and compares pg_dump of both;
//  4. restores it with iron-streaming-backup restore, as a role that may
//     only create databases, and compares pg_dump of both again;
//  5. runs the verify action on the backup.
//
// Everything it starts is stopped and removed when it ends. Run it with
// 'make demo'.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	bucket     = "backups"
	dbName     = "shop"
	dbUser     = "shop_backup"
	dbPassword = "demo-db-secret"
	encPass    = "demo-encryption-key"
	prefix     = "shop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	testenv.StopAll()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: error: %v\n", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Printf("demo: "+format+"\n", args...) }

func run(ctx context.Context) error {
	start := time.Now()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		return err
	}
	say("started PostgreSQL %d on 127.0.0.1:%d (data in %s)", pg.Major, pg.Port, pg.Dir)
	if err := pg.CreateUser(ctx, dbUser, dbPassword); err != nil {
		return err
	}
	if err := pg.CreateDatabase(ctx, dbName); err != nil {
		return err
	}
	if _, err := pg.Psql(ctx, dbName, testenv.SampleSQL(dbUser, 50000, 500)); err != nil {
		return err
	}
	counts, _ := pg.Psql(ctx, dbName, `SELECT (SELECT count(*) FROM sales.customer) || ' customers, ' || (SELECT count(*) FROM sales.orders) || ' orders, ' || (SELECT count(*) FROM public.blobs) || ' blobs'`)
	say("created database %q: %s", dbName, counts)

	srv, err := testenv.StartS3(ctx, bucket)
	if err != nil {
		return err
	}
	say("started the S3 gateway at %s with bucket %q", srv.Endpoint, bucket)

	work, err := os.MkdirTemp("", "isb-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin+"/", "./cmd/...")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	// The job's environment, exactly as an IronIO payload sets it.
	pgpass := fmt.Sprintf("127.0.0.1:%d:%s:%s:%s:%s\n", pg.Port, dbName, dbUser, dbPassword, prefix)
	env := append(os.Environ(),
		"PATH="+bin+":"+pg.BinDir+":"+os.Getenv("PATH"),
		"PGPASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(pgpass)),
		"PASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(encPass)),
		"AWS_ACCESS_KEY_ID="+srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_REGION="+srv.Region,
		"AWS_ENDPOINT_URL="+srv.Endpoint,
		"S3_BUCKET="+bucket,
		"S3_PATH_STYLE=true",
	)
	say("running: iron-streaming-backup (environment as in payload.json)")
	job := exec.CommandContext(ctx, filepath.Join(bin, "iron-streaming-backup"))
	job.Env = env
	var jobErr bytes.Buffer
	job.Stdout = os.Stdout
	job.Stderr = &jobErr
	err = job.Run()
	os.Stderr.Write(jobErr.Bytes())
	if err != nil {
		if strings.Contains(jobErr.String(), "not implemented") {
			return errors.New("the backup job (cmd/iron-streaming-backup) is not implemented yet; the servers and sample data above work, the round trip does not")
		}
		return fmt.Errorf("backup job failed: %v", err)
	}

	list, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return err
	}
	var key string
	keyRE := regexp.MustCompile(`^` + prefix + `-\d{14}\.gz\.aes$`)
	for _, o := range list.Contents {
		say("bucket holds s3://%s/%s (%d bytes)", bucket, aws.ToString(o.Key), aws.ToInt64(o.Size))
		if keyRE.MatchString(aws.ToString(o.Key)) {
			key = aws.ToString(o.Key)
		}
	}
	if key == "" {
		return fmt.Errorf("no object named %s-YYYYmmddHHMMSS.gz.aes in the bucket", prefix)
	}

	keyFile := filepath.Join(work, "backup.key")
	if err := os.WriteFile(keyFile, []byte(encPass), 0o600); err != nil {
		return err
	}
	if err := pg.CreateDatabase(ctx, "restored"); err != nil {
		return err
	}
	oneLiner := fmt.Sprintf("s3get s3://%s/%s | openssl enc -d -aes-256-cbc -pass file:%s | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d restored", bucket, key, keyFile)
	say("restoring: %s", oneLiner)
	restore := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", oneLiner+" >/dev/null")
	restore.Env = append(env, pg.SocketEnv()...)
	if out, err := restore.CombinedOutput(); err != nil {
		return fmt.Errorf("restore: %v\n%s", err, out)
	}

	a, err := dump(ctx, pg, dbName)
	if err != nil {
		return err
	}
	b, err := dump(ctx, pg, "restored")
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return errors.New("pg_dump of the restored database differs from the source")
	}
	say("pg_dump of %q and of the restored database are identical (%d bytes)", dbName, len(a))

	if _, err := pg.Psql(ctx, "postgres", "CREATE ROLE demo_restorer LOGIN CREATEDB"); err != nil {
		return err
	}
	into := fmt.Sprintf("host=%s port=%d dbname=restored_cmd user=demo_restorer", pg.SocketDir, pg.Port)
	say("running: iron-streaming-backup restore %s -into '%s' -create", prefix, into)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "iron-streaming-backup"), "restore", prefix, "-into", into, "-create")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restore command: %v", err)
	}
	if b, err = dump(ctx, pg, "restored_cmd"); err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return errors.New("pg_dump of the database the restore command made differs from the source")
	}
	say("pg_dump of %q and of the database the restore command made are identical (%d bytes)", dbName, len(a))

	say("running: iron-streaming-backup verify -max-age 1h")
	verify := exec.CommandContext(ctx, filepath.Join(bin, "iron-streaming-backup"), "verify", "-max-age", "1h")
	verify.Env = env
	verify.Stdout, verify.Stderr = os.Stdout, os.Stdout
	if err := verify.Run(); err != nil {
		return fmt.Errorf("verify failed: %v", err)
	}
	say("done in %v; servers stopped and folders removed", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// dump returns pg_dump's output without the \restrict lines, whose key is
// random on every run.
func dump(ctx context.Context, pg *testenv.Postgres, db string) ([]byte, error) {
	out, err := pg.Command(ctx, "pg_dump", "--no-owner", "--no-privileges", "-d", db).Output()
	if err != nil {
		return nil, fmt.Errorf("pg_dump %s: %w", db, err)
	}
	var kept [][]byte
	for _, l := range bytes.SplitAfter(out, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(`\restrict `)) || bytes.HasPrefix(l, []byte(`\unrestrict `)) {
			continue
		}
		kept = append(kept, l)
	}
	return bytes.Join(kept, nil), nil
}

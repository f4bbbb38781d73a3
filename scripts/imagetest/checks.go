package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

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
	if got := strings.TrimSpace(r.Stdout); r.Code != 0 || got != m.Tool || !strings.HasPrefix(got, "iron-streaming-backup "+t.version+" ") {
		return fmt.Errorf("-version says %q (exit %d), the manifest's tool %q, the label %q", got, r.Code, m.Tool, t.version)
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
	if r.Code != 0 {
		return fmt.Errorf("pg_dump %s in the image: exit %d: %s", major, r.Code, r.Stderr)
	}
	if !bytes.Equal(testenv.WithoutRestrict(plain), testenv.WithoutRestrict([]byte(r.Stdout))) {
		return fmt.Errorf("the restored stream (%d bytes) differs from pg_dump %s's own output (%d bytes)", len(plain), major, len(r.Stdout))
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

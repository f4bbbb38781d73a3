package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func getObject(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := s3client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putObject(t *testing.T, bucket, key string, body []byte) {
	t.Helper()
	if _, err := s3client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func deleteObject(t *testing.T, bucket, key string) {
	t.Helper()
	if _, err := s3client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

// freshBackup runs the job for db1 into an empty folder of the bucket and
// returns the environment (with that folder) and the object's key.
func freshBackup(t *testing.T, folder string, extra ...string) ([]string, string) {
	t.Helper()
	env := jobEnv(twoDatabases(), "backups", "", append([]string{"S3_PREFIX=" + folder}, extra...)...)
	if r := runJob(t, env, "db1"); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}
	var key string
	for _, k := range objects(t, "backups") {
		if strings.HasPrefix(k, folder+"/db1-") && !strings.HasSuffix(k, ".manifest.json") {
			key = k
		}
	}
	if key == "" {
		t.Fatal("no backup object")
	}
	return env, key
}

func TestVerify(t *testing.T) {
	emptyBucket(t, "backups")
	env, key := freshBackup(t, "v1")

	r := runJob(t, env, "verify", "-max-age", "1h", "db1")
	if r.code != 0 || !strings.Contains(r.stderr, "db1: ok: "+key) || !strings.Contains(r.stderr, "size and sha256 match the manifest") {
		t.Fatalf("verify of a fresh backup: exit %d:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "rows") {
		t.Errorf("verify does not report row counts:\n%s", r.stderr)
	}

	// Scheduled like the backup: an IronIO payload whose cmd is
	// /app/backup.sh verify.
	root, _ := testenv.RepoRoot()
	penv := map[string]string{}
	var base []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "TMPDIR" {
			base = append(base, kv)
		} else {
			penv[k] = v
		}
	}
	payload, _ := json.Marshal(map[string]any{"version": "1", "cmd": []string{filepath.Join(root, "scripts/backup.sh"), "verify", "-max-age", "1h", "db1"}, "env": penv})
	ppath := filepath.Join(t.TempDir(), "payload.json")
	os.WriteFile(ppath, payload, 0o600)
	if r := runJob(t, append(base, "PAYLOAD_FILE="+ppath), "runner"); r.code != 0 || !strings.Contains(r.stderr, "1 of 1 backups verified") {
		t.Errorf("verify through a payload: exit %d:\n%s", r.code, r.stderr)
	}

	orig := getObject(t, "backups", key)
	manifest := getObject(t, "backups", key+".manifest.json")
	restoreOrig := func() {
		putObject(t, "backups", key, orig)
		putObject(t, "backups", key+".manifest.json", manifest)
	}
	for _, tc := range []struct {
		name   string
		break_ func()
		args   []string
		want   string
	}{
		{"truncated", func() { putObject(t, "backups", key, orig[:len(orig)-100]) }, nil, "checksum mismatch"},
		{"truncated without manifest", func() {
			putObject(t, "backups", key, orig[:len(orig)/2])
			deleteObject(t, "backups", key+".manifest.json")
		}, nil, "wrong password or corrupt"},
		{"flipped byte", func() {
			b := bytes.Clone(orig)
			b[len(b)/2] ^= 0x40
			putObject(t, "backups", key, b)
		}, nil, "checksum mismatch"},
		{"flipped byte without manifest", func() {
			b := bytes.Clone(orig)
			b[len(b)/2] ^= 0x40
			putObject(t, "backups", key, b)
			deleteObject(t, "backups", key+".manifest.json")
		}, nil, "corrupt"},
		{"wrong key", func() {}, []string{"PASS_FILE_BASE64=d3JvbmcK"}, "wrong password"},
		{"missing object", func() { deleteObject(t, "backups", key) }, nil, "no backup found"},
		{"stale", func() {}, []string{"MAXAGE=1ms"}, "older than the allowed 1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restoreOrig()
			defer restoreOrig()
			tc.break_()
			e := env
			args := []string{"verify"}
			for _, a := range tc.args {
				if v, ok := strings.CutPrefix(a, "MAXAGE="); ok {
					args = append(args, "-max-age", v)
				} else {
					e = replaceEnv(e, a)
				}
			}
			r := runJob(t, e, append(args, "db1")...)
			t.Logf("verify: exit %d:\n%s", r.code, r.stderr)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if !strings.Contains(r.stderr, "error: db1: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks an error line with %q", tc.want)
			}
		})
	}

	// A missing manifest is a warning; the stream is still checked.
	restoreOrig()
	deleteObject(t, "backups", key+".manifest.json")
	r = runJob(t, env, "verify", "db1")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: "+key+" has no manifest") {
		t.Errorf("verify without a manifest: exit %d:\n%s", r.code, r.stderr)
	}
}

func TestVerifyRestoreInto(t *testing.T) {
	emptyBucket(t, "backups")
	env, _ := freshBackup(t, "v2")
	scratch, conn := restorer(t)
	r := runJob(t, env, "verify", "-restore-into", conn, "db1")
	if r.code != 0 || !strings.Contains(r.stderr, "restored and row counts compared") {
		t.Fatalf("verify -restore-into: exit %d:\n%s", r.code, r.stderr)
	}
	if n := relations(t, scratch); n != "0" {
		t.Errorf("verify left %s relations in the scratch database", n)
	}

	if r := runJob(t, env, "verify", "-restore-into", "postgres://u:secretpw@h/db", "db1"); r.code != 2 || strings.Contains(r.stderr, "secretpw") {
		t.Errorf("a password in the connection string: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, env, "verify", "-restore-into", conn); r.code != 2 || !strings.Contains(r.stderr, "name its prefix") {
		t.Errorf("-restore-into without a prefix: exit %d:\n%s", r.code, r.stderr)
	}
}

func TestVerifyCustomFormat(t *testing.T) {
	emptyBucket(t, "backups")
	env, key := freshBackup(t, "v3", "DUMP_FORMAT=custom", "COMPRESSION=zstd", "ENCRYPTION_KDF=pbkdf2", "ENCRYPTION_ITER=1000")
	// Verify reads how the backup was made from its manifest, not from
	// today's settings.
	env = dropEnv(dropEnv(dropEnv(env, "ENCRYPTION_KDF"), "ENCRYPTION_ITER"), "DUMP_FORMAT")
	if r := runJob(t, env, "verify", "db1"); r.code != 0 || !strings.Contains(r.stderr, "db1: ok: "+key) {
		t.Fatalf("verify custom/zstd/pbkdf2: exit %d:\n%s", r.code, r.stderr)
	}
	// Truncating the dump inside a valid encrypted stream: pg_restore sees it.
	dec := runPipe(t, "s3get s3://backups/"+key+" | openssl enc -d -aes-256-cbc -pbkdf2 -iter 1000 -pass file:KEYFILE | zstd -d")
	cut := runPipeIn(t, dec[:len(dec)/2], "zstd -q | openssl enc -e -aes-256-cbc -pbkdf2 -iter 1000 -pass file:KEYFILE")
	putObject(t, "backups", key, cut)
	deleteObject(t, "backups", key+".manifest.json")
	env = append(env, "ENCRYPTION_KDF=pbkdf2", "ENCRYPTION_ITER=1000")
	if r := runJob(t, env, "verify", "db1"); r.code != 1 || !strings.Contains(r.stderr, "pg_restore failed") {
		t.Errorf("verify of a truncated custom dump: exit %d:\n%s", r.code, r.stderr)
	}
}

func TestList(t *testing.T) {
	emptyBucket(t, "backups")
	env, key := freshBackup(t, "v4")
	putObject(t, "backups", "v4/db2-20200101000000.gz.aes", []byte("old"))
	putObject(t, "backups", "v4/unrelated.txt", []byte("x"))
	// A key anyone who may write to the bucket could add: its terminal
	// escape (C1's CSI, which XML carries where it cannot carry ESC),
	// carriage return and newline are shown escaped, not played.
	hostile := "v4/x\u009b2J\r\ndb1-20100101000000.gz.aes"
	putObject(t, "backups", hostile, []byte("x"))
	r := runJob(t, []string{"PATH=/usr/bin:/bin", "S3_BUCKET=backups", "S3_PREFIX=v4", "S3_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + srv.Region, "AWS_ENDPOINT_URL=" + srv.Endpoint}, "list")
	if r.code != 0 {
		t.Fatalf("list: exit %d:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "PREFIX") ||
		!strings.Contains(lines[1], key) || !strings.Contains(lines[1], " yes ") ||
		!strings.Contains(lines[2], "2020-01-01 00:00:00") || !strings.Contains(lines[2], " no ") ||
		!strings.HasSuffix(lines[3], `v4/x\u009b2J\r\ndb1-20100101000000.gz.aes`) || strings.ContainsAny(r.stdout, "\u009b\r") {
		t.Errorf("list:\n%q", r.stdout)
	}
	r = runJob(t, append(env, "S3_PREFIX=v4"), "list", "-json", "db1")
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 1 || got[0]["key"] != key || got[0]["manifest"] != true {
		t.Errorf("list -json db1: %v\n%s", err, r.stdout)
	}
}

// hostileSQL fills a database with text that looks like pg_dump's own
// statements: a comment that smuggles a COPY line with a psql shell escape
// (the attack that once ran commands in verify -restore-into), dump-like
// lines in dollar-quoted and E” strings, and awkward table names. MARKER
// is the file the shell escape would create.
const hostileSQL = `
CREATE TABLE public.t (id int);
INSERT INTO public.t SELECT generate_series(1, 3);
COMMENT ON TABLE public.t IS E'x\nCOPY public.t;\\!\ttouch${IFS}MARKER;-- FROM stdin;\n1\n2\n\\.\n';
CREATE SCHEMA "we.ird ""sch""";
CREATE TABLE "we.ird ""sch"""."ta ble	with
newline" ("COPY x FROM stdin;" text);
INSERT INTO "we.ird ""sch"""."ta ble	with
newline" VALUES (E'\nCOPY public.t FROM stdin;\n'), ('\.'), (NULL);
CREATE TABLE public."ünï ""cödé""" (id int);
INSERT INTO public."ünï ""cödé""" SELECT generate_series(1, 5);
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $body$
SELECT 'it''s' || $q$
COPY public.t FROM stdin;
1
\.
$q$;
$body$;
COMMENT ON FUNCTION public.f() IS E'back\\slash \' quote\nCOPY public.t FROM stdin;\n9\n\\.\n';
`

func TestVerifyHostileDump(t *testing.T) {
	emptyBucket(t, "backups")
	marker := filepath.Join(t.TempDir(), "pwned")
	db := "hostile"
	if err := pg.CreateDatabase(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Psql(t.Context(), db, strings.ReplaceAll(hostileSQL, "MARKER", marker)+
		"GRANT USAGE ON SCHEMA \"we.ird \"\"sch\"\"\" TO backup1;\nGRANT SELECT ON ALL TABLES IN SCHEMA public, \"we.ird \"\"sch\"\"\" TO backup1;\n"); err != nil {
		t.Fatal(err)
	}
	env := jobEnv(pgpassLine(db, "backup1", pw1, "hostile")+"\n", "backups", "", "S3_PREFIX=h")
	if r := runJob(t, env, "hostile"); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}
	key := backupKey(t, objects(t, "backups"), "h/hostile", ".gz.aes")
	want := map[string]any{"public.t": 3.0, "\"we.ird \"\"sch\"\"\".\"ta ble\twith\nnewline\"": 3.0, "public.\"ünï \"\"cödé\"\"\"": 5.0}
	if got := readManifest(t, "backups", key)["backup"].(map[string]any)["rows"]; !reflect.DeepEqual(got, want) {
		t.Errorf("manifest rows %v, want %v", got, want)
	}

	_, conn := restorer(t)
	r := runJob(t, env, "verify", "-restore-into", conn, "hostile")
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("verify -restore-into ran the shell command hidden in a table comment:\n%s", r.stderr)
	}
	if r.code != 0 || !strings.Contains(r.stderr, "3 tables, 11 rows") || !strings.Contains(r.stderr, "restored and row counts compared") {
		t.Fatalf("verify -restore-into: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestVerifyFutureKey copies a real backup (and its manifest) to a name
// dated years ahead: it must not pass for the newest backup.
func TestVerifyFutureKey(t *testing.T) {
	emptyBucket(t, "backups")
	env, key := freshBackup(t, "v5")
	future := "v5/db1-20991231000000.gz.aes"
	putObject(t, "backups", future, getObject(t, "backups", key))
	putObject(t, "backups", future+".manifest.json", getObject(t, "backups", key+".manifest.json"))

	r := runJob(t, env, "verify", "-max-age", "26h", "db1")
	if r.code != 1 || !strings.Contains(r.stderr, "error: db1: s3://backups/"+future+" is dated 2099-12-31 00:00:00 UTC") {
		t.Errorf("verify with a backup dated 2099: exit %d:\n%s", r.code, r.stderr)
	}
	r = runJob(t, env, "list")
	if r.code != 0 || !strings.Contains(r.stdout, "FUTURE: in ") || !strings.Contains(r.stderr, "warning: "+future+" is dated ahead") {
		t.Errorf("list: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runJob(t, env, "list", "-json")
	if !strings.Contains(r.stdout, `"future": true`) || strings.Count(r.stdout, `"future"`) != 1 {
		t.Errorf("list -json:\n%s", r.stdout)
	}

	// Within the allowed skew, a backup is just new.
	deleteObject(t, "backups", future)
	deleteObject(t, "backups", future+".manifest.json")
	if r := runJob(t, env, "verify", "-max-age", "26h", "db1"); r.code != 0 {
		t.Errorf("verify: exit %d:\n%s", r.code, r.stderr)
	}
}

package config

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

const (
	seedPgpass = "cG9zdGdyZXMtZGIuZGVmc2ZzYS51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckF4eDp5eVBhc3N3ZEF5eTpkYjEKcG9zdGdyZXMtZGIuZGVmc2ZzYi51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMjpoc2RwX3BnOnh4VXNlckJ4eDp5eVBhc3N3ZEJ5eTpkYjIK"
	seedPass   = "TXlTZWNyZXRQYXNzd29yZAo=" // "MySecretPassword\n"
)

func seedEnv() map[string]string {
	return map[string]string{
		"PGPASS_FILE_BASE64":    seedPgpass,
		"PASS_FILE_BASE64":      seedPass,
		"AWS_ACCESS_KEY_ID":     "APIKeyHere",
		"AWS_SECRET_ACCESS_KEY": "SecretKeyHere",
		"S3_BUCKET":             "cf-s3-some-random-uuid-here",
	}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadSeedPayload(t *testing.T) {
	s, err := Load(getenv(seedEnv()), ForVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Targets) != 2 || s.Targets[0].Prefix != "db1" || s.Targets[1].Prefix != "db2" {
		t.Fatalf("targets %v", s.Targets)
	}
	// openssl -pass file: reads the first line without its newline.
	if string(s.Password) != "MySecretPassword" {
		t.Errorf("password has %d bytes, want the 16 of MySecretPassword", len(s.Password))
	}
	if s.Compression != "gzip" || s.Level != catalog.DefaultGzipLevel || s.PBKDF2 || s.Parallel != 1 || s.Format != "plain" || s.KeyPrefix != "" {
		t.Errorf("defaults: %+v", s)
	}
	if k := s.ObjectKey("db1", mustTime("2026-11-27T06:00:00Z")); k != "db1-20261127060000.gz.aes" {
		t.Errorf("key %q", k)
	}
	only, err := Load(getenv(seedEnv()), ForVerify, "db2")
	if err != nil || len(only.Targets) != 1 || only.Targets[0].Prefix != "db2" {
		t.Fatalf("only db2: %v %v", only, err)
	}
}

func TestLoadOptional(t *testing.T) {
	env := seedEnv()
	env["S3_PREFIX"] = "/nightly"
	env["COMPRESSION"] = "zstd"
	env["COMPRESSION_LEVEL"] = "3"
	env["ENCRYPTION_KDF"] = "pbkdf2"
	env["ENCRYPTION_ITER"] = "1000"
	env["PARALLEL"] = "2"
	env["DUMP_FORMAT"] = "custom"
	env["PG_DUMP_ARGS"] = "--no-owner  --exclude-table=audit.*"
	env["S3_PATH_STYLE"] = "true"
	env["S3_SSE"] = "aws:kms"
	env["S3_SSE_KMS_KEY_ID"] = "alias/backups"
	env["LOG_FORMAT"] = "json"
	s, err := Load(getenv(env), ForVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyPrefix != "nightly/" || s.Compression != "zstd" || s.Level != 3 || !s.PBKDF2 || s.Iter != 1000 ||
		s.Parallel != 2 || s.Format != "custom" || len(s.PgDumpArgs) != 2 || !s.PathStyle || !s.JSONLogs {
		t.Errorf("settings: %+v", s)
	}
	if k := s.ObjectKey("db1", mustTime("2026-11-27T06:00:00Z")); k != "nightly/db1-20261127060000.dump.zst.aes" {
		t.Errorf("key %q", k)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"PGPASS_FILE_BASE64": base64.StdEncoding.EncodeToString([]byte("h:5432:db:u:hunter2secret:db1\nh:99999:db:u:hunter2secret:db2\n")),
		"AWS_ACCESS_KEY_ID":  "only-the-id",
		"COMPRESSION":        "lz4",
		"PARALLEL":           "0",
		"PG_DUMP_ARGS":       "-f /tmp/x",
		"ENCRYPTION_KDF":     "scrypt",
	}
	_, err := Load(getenv(env), ForVerify, "")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"line 2:", "no encryption password", "S3_BUCKET is not set", "must be set together",
		`COMPRESSION="lz4"`, `PARALLEL="0"`, `(-f) is set by the job`, `"/tmp/x" is not an option`, `ENCRYPTION_KDF="scrypt"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2secret") {
		t.Errorf("errors contain the database password:\n%s", msg)
	}
}

func TestLoadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want, err string
	}{
		{"first line", "key one\nsecond line\n", "key one", ""},
		{"no newline", "k", "k", ""},
		{"carriage return kept as openssl does", "k\r\n", "k\r", ""},
		{"empty", "\n", "", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.WriteFile(p, []byte(tc.content), 0o600)
			env := seedEnv()
			delete(env, "PASS_FILE_BASE64")
			env["PASSWORD_FILE"] = p
			s, err := Load(getenv(env), ForVerify, "")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(s.Password) != tc.want {
				t.Errorf("password %q, want %q", s.Password, tc.want)
			}
		})
	}
	env := seedEnv()
	delete(env, "PASS_FILE_BASE64")
	env["PASSWORD_FILE"] = filepath.Join(dir, "missing")
	if _, err := Load(getenv(env), ForVerify, ""); err == nil || !strings.Contains(err.Error(), "PASSWORD_FILE") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadUnknownPrefix(t *testing.T) {
	_, err := Load(getenv(seedEnv()), ForVerify, "db3")
	if err == nil || !strings.Contains(err.Error(), "db3") {
		t.Fatalf("got %v", err)
	}
}

// A key longer than openssl's line buffer is cut where openssl cuts it, so
// that the documented restore (openssl enc -d -pass file:KEY) decrypts.
func TestLoadLongPassword(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 128) // 2048 bytes
	env := seedEnv()
	env["PASS_FILE_BASE64"] = base64.StdEncoding.EncodeToString([]byte(long + "\n"))
	s, err := Load(getenv(env), ForVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Password) != long[:1023] {
		t.Errorf("password has %d bytes, want openssl's 1023", len(s.Password))
	}
	if len(s.Warnings) != 1 || strings.Contains(s.Warnings[0], long[:16]) {
		t.Errorf("warnings %q, want one without the password", s.Warnings)
	}
	env["PASS_FILE_BASE64"] = base64.StdEncoding.EncodeToString([]byte("abc\x00def\n"))
	if s, err := Load(getenv(env), ForVerify, ""); err != nil || string(s.Password) != "abc" {
		t.Errorf("a NUL ends the password as in openssl: %q %v", s.Password, err)
	}
}

func TestCheckDumpArg(t *testing.T) {
	for _, tc := range []struct {
		arg string
		ok  bool
	}{
		{"--no-owner", true}, {"--exclude-table=audit.*", true}, {"-O", true}, {"-x", true}, {"-t", true},
		{"--schema=public", true}, {"-vO", true}, {"-tf", true}, // -t's value is "f"
		{"--format=p", false}, {"--form=p", false}, {"--fo=c", false}, {"--ho=x", false}, {"--dbn=x", false},
		{"--us=x", false}, {"--compr=5", false}, {"-Fp", false}, {"-vf", false}, {"-Z0", false}, {"-j4", false},
		{"--file=x", false}, {"mydb", false}, {"--password", false},
	} {
		for _, format := range []string{"plain", "custom"} {
			if err := checkDumpArg(tc.arg, format); (err == nil) != tc.ok {
				t.Errorf("%q (%s): %v, want ok=%v", tc.arg, format, err, tc.ok)
			}
		}
	}
}

// A plain dump made with --clean or --create drops and creates the
// database it came from and \connects to it: restoring it replaces the
// live database. Every spelling pg_dump's getopt_long takes is refused.
func TestCheckDumpArgDropsDatabase(t *testing.T) {
	for _, arg := range []string{
		"--clean", "--create", "--cl", "--cle", "--clea", "--cr", "--cre", "--crea", "--creat",
		"--create=x", "-c", "-C", "-cC", "-Cc", "-vc", "-Oxc", "-aC", "-sc", "-Rc", "-bBC",
	} {
		err := checkDumpArg(arg, "plain")
		if err == nil || !strings.Contains(err.Error(), "replace the live database") {
			t.Errorf("%q: %v", arg, err)
		}
		if err := checkDumpArg(arg, "custom"); err != nil && strings.Contains(err.Error(), "replace") {
			t.Errorf("%q custom: %v", arg, err)
		}
	}
	// Values that merely contain the letters, and other options.
	for _, arg := range []string{"-tc", "-nC", "--if-exists", "--column-inserts", "--schema=c", "-Tclean", "--no-comments", "-Ec"} {
		if err := checkDumpArg(arg, "plain"); err != nil {
			t.Errorf("%q: %v", arg, err)
		}
	}
	env := map[string]string{
		"PGPASS_FILE_BASE64": base64.StdEncoding.EncodeToString([]byte("h:5432:db:u:pw:db1\n")),
		"PASS_FILE_BASE64":   base64.StdEncoding.EncodeToString([]byte("k\n")),
		"S3_BUCKET":          "backups",
		"PG_DUMP_ARGS":       "--clean --if-exists --create",
	}
	if _, err := Load(getenv(env), ForVerify, ""); err == nil || !strings.Contains(err.Error(), `"--clean" (--clean) is refused`) || !strings.Contains(err.Error(), `"--create"`) {
		t.Errorf("Load: %v", err)
	}
	env["DUMP_FORMAT"] = "custom"
	if _, err := Load(getenv(env), ForVerify, ""); err != nil {
		t.Errorf("custom format: %v", err)
	}
}

// The S3 settings the SDK checks only when it sends a request are checked
// when the settings are read, by the same rules.
func TestLoadS3Settings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		err  string // "" for none
	}{
		{"AWS", map[string]string{"AWS_REGION": "eu-west-1"}, ""},
		{"AWS_DEFAULT_REGION", map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}, ""},
		{"dotted bucket", map[string]string{"S3_BUCKET": "my.backups", "AWS_REGION": "eu-west-1"}, ""},
		{"store with path style", map[string]string{"S3_BUCKET": "backups_1", "AWS_ENDPOINT_URL": "http://127.0.0.1:7070", "S3_PATH_STYLE": "true", "AWS_REGION": "us-east-1"}, ""},
		{"S3-specific endpoint", map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.example.com:8443/"}, ""},
		{"directory bucket", map[string]string{"S3_BUCKET": "backups--euw1-az1--x-s3", "AWS_REGION": "eu-west-1"}, ""},
		{"ignored endpoint", map[string]string{"AWS_ENDPOINT_URL": "garbage://", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, ""},

		{"upper case bucket", map[string]string{"S3_BUCKET": "Bad_Bucket"}, `S3_BUCKET: invalid bucket name "Bad_Bucket"`},
		{"short bucket", map[string]string{"S3_BUCKET": "ab"}, `S3_BUCKET: invalid bucket name "ab": 3 to 63 characters`},
		{"endpoint", map[string]string{"AWS_ENDPOINT_URL": "garbage://"}, `AWS_ENDPOINT_URL: invalid endpoint "garbage://"`},
		{"endpoint without scheme", map[string]string{"AWS_ENDPOINT_URL": "s3.example.com"}, `AWS_ENDPOINT_URL: invalid endpoint`},
		{"S3-specific endpoint", map[string]string{"AWS_ENDPOINT_URL_S3": "ftp://x"}, `AWS_ENDPOINT_URL_S3: invalid endpoint "ftp://x"`},
		{"region with spaces", map[string]string{"AWS_REGION": "eu west 1"}, `AWS_REGION="eu west 1": not a region name`},
		{"region with underscore", map[string]string{"AWS_REGION": "my_region", "AWS_ENDPOINT_URL": "http://127.0.0.1:7070"}, `AWS_REGION="my_region": not a region name`},
		{"default region", map[string]string{"AWS_DEFAULT_REGION": "-eu"}, `AWS_DEFAULT_REGION="-eu": not a region name`},
		{"bad directory bucket", map[string]string{"S3_BUCKET": "my.bucket--x-s3", "AWS_REGION": "eu-west-1"}, `S3_BUCKET="my.bucket--x-s3", AWS_REGION="eu-west-1": S3Express bucket name is not a valid virtual hostable name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := seedEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := Load(getenv(env), ForVerify, "")
			_, serr := LoadStorage(getenv(env)) // the settings of "list"
			switch {
			case tc.err == "" && (err != nil || serr != nil):
				t.Fatalf("Load: %v; LoadStorage: %v", err, serr)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Load: %v, want %q", err, tc.err)
			case tc.err != "" && (serr == nil || !strings.Contains(serr.Error(), tc.err)):
				t.Fatalf("LoadStorage: %v, want %q", serr, tc.err)
			}
		})
	}
}

// LoadBackup finds pg_dump and psql as the job runs them, on the PATH of
// the environment read.
func TestLoadBackupPrograms(t *testing.T) {
	// No clients where Debian installs them: PATH is where pg_dump is.
	root := useClients(t)
	bin, other := t.TempDir(), t.TempDir()
	script := []byte("#!/bin/sh\n")
	os.WriteFile(filepath.Join(bin, "pg_dump"), script, 0o755)
	os.WriteFile(filepath.Join(bin, "psql"), script, 0o755)
	os.WriteFile(filepath.Join(other, "pg_dump"), script, 0o755)
	os.WriteFile(filepath.Join(other, "noexec"), script, 0o644)
	for _, tc := range []struct {
		name string
		env  map[string]string
		err  string
	}{
		{"on PATH", map[string]string{"PATH": "/nonexistent:" + bin}, ""},
		{"PG_DUMP, psql beside it", map[string]string{"PATH": "/nonexistent", "PG_DUMP": filepath.Join(bin, "pg_dump")}, ""},
		{"PG_DUMP, psql on PATH", map[string]string{"PATH": bin, "PG_DUMP": filepath.Join(other, "pg_dump")}, ""},
		{"PG_DUMP by name", map[string]string{"PATH": other + ":" + bin, "PG_DUMP": "pg_dump"}, ""},
		{"not on PATH", map[string]string{"PATH": "/nonexistent"}, "pg_dump not found in " + root + "/*/bin or on PATH: install the PostgreSQL client or set PG_DUMP"},
		{"no PATH", map[string]string{}, "pg_dump not found in " + root + "/*/bin or on PATH"},
		{"PG_DUMP missing", map[string]string{"PATH": bin, "PG_DUMP": "/nonexistent/pg_dump"}, `PG_DUMP="/nonexistent/pg_dump": no such file: install the PostgreSQL client or set PG_DUMP to its pg_dump`},
		{"PG_DUMP not executable", map[string]string{"PATH": bin, "PG_DUMP": filepath.Join(other, "noexec")}, "not executable"},
		{"PG_DUMP a folder", map[string]string{"PATH": bin, "PG_DUMP": other}, "is a directory"},
		{"PG_DUMP name not on PATH", map[string]string{"PATH": "/nonexistent", "PG_DUMP": "pg_dump17"}, `PG_DUMP="pg_dump17": not found`},
		{"no psql", map[string]string{"PATH": other}, "psql not found beside " + filepath.Join(other, "pg_dump") + " or on PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := seedEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := Load(getenv(env), ForBackup, "")
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			// Verifying runs no pg_dump.
			if _, err := Load(getenv(env), ForVerify, ""); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

// TestLoadSSE: the server-side encryptions S3 takes, as s3stream checks
// them (one owner: s3stream.SSEValues).
func TestLoadSSE(t *testing.T) {
	for _, tc := range []struct {
		sse, key, err string
	}{
		{"AES256", "", ""},
		{"aws:kms", "", ""},
		{"aws:kms", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd", ""},
		{"aws:kms:dsse", "alias/backups", ""},
		{"aws:kms:DSSE", "", `S3_SSE="aws:kms:DSSE": unknown server-side encryption "aws:kms:DSSE" (want AES256, aws:kms, aws:kms:dsse)`},
		{"", "alias/backups", "S3_SSE_KMS_KEY_ID: a KMS key ID needs server-side encryption aws:kms or aws:kms:dsse"},
		{"AES256", "alias/backups", "S3_SSE_KMS_KEY_ID: a KMS key ID needs"},
	} {
		env := seedEnv()
		env[EnvSSE], env[EnvSSEKMSKeyID] = tc.sse, tc.key
		s, err := Load(getenv(env), ForVerify, "")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s %s: %v", tc.sse, tc.key, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s %s: %v, want %q", tc.sse, tc.key, err, tc.err)
		case err == nil && (s.SSE != tc.sse || s.SSEKMSKeyID != tc.key):
			t.Errorf("%s %s: read %q %q", tc.sse, tc.key, s.SSE, s.SSEKMSKeyID)
		}
	}
}

// TestS3Words: every kind of S3 failure that a setting can cause has a
// hint in the job's settings, and none names a command-line flag.
func TestS3Words(t *testing.T) {
	noSetting := map[s3stream.Kind]bool{
		s3stream.Unclassified: true,
		s3stream.NotFound:     true, // an object: verify says which
		s3stream.Unsupported:  true, // the hints of its Features
	}
	for k := s3stream.Unclassified; k.String() != "unknown kind"; k++ {
		h := s3stream.Hint(&s3stream.Error{Kind: k}, S3Words)
		switch {
		case noSetting[k] && h != "":
			t.Errorf("%v: unexpected hint %q", k, h)
		case !noSetting[k] && h == "":
			t.Errorf("%v: no hint", k)
		case strings.Contains(h, "--"):
			t.Errorf("%v: the hint names a flag: %q", k, h)
		}
	}
	err := fmt.Errorf("db1: %w", &s3stream.Error{Kind: s3stream.WrongRegion, Region: "eu-west-1"})
	if h := s3stream.Hint(err, S3Words); h != "set AWS_REGION=eu-west-1, the bucket's region" {
		t.Errorf("wrong region: %q", h)
	}
	err = &s3stream.Error{Kind: s3stream.Unsupported, Features: []s3stream.Kind{s3stream.ConditionalWriteUnsupported, s3stream.ObjectLockUnsupported}}
	if h := s3stream.Hint(err, S3Words); !strings.HasPrefix(h, "for conditional writes: no setting turns them off: ") ||
		!strings.HasSuffix(h, "; for Object Lock: unset OBJECT_LOCK_MODE and OBJECT_LOCK_LEGAL_HOLD, or use a store that supports Object Lock") {
		t.Errorf("several features: %q", h)
	}
	if h := s3stream.Hint(fmt.Errorf("plain"), S3Words); h != "" {
		t.Errorf("no kind: %q", h)
	}
}

package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/monitor"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// The job's environment. The first group is the original image's and keeps
// its meaning; everything after it is optional with a safe default.
const (
	envPgpassBase64   = pgpass.EnvBase64 // PGPASS_FILE_BASE64: the pgpass list, base64
	envPgpassFile     = pgpass.EnvFile   // PGPASS_FILE: a file holding the list instead
	EnvPassBase64     = "PASS_FILE_BASE64"
	envPasswordFile   = "PASSWORD_FILE"
	envBucket         = "S3_BUCKET"
	envAccessKey      = "AWS_ACCESS_KEY_ID"
	envSecretKey      = "AWS_SECRET_ACCESS_KEY"
	envKeyPrefix      = "S3_PREFIX"         // folder for the objects, e.g. "nightly/"
	envPathStyle      = "S3_PATH_STYLE"     // true: path-style addressing
	envStorageClass   = "S3_STORAGE_CLASS"  // e.g. STANDARD_IA
	envSSE            = "S3_SSE"            // AES256 or aws:kms
	envSSEKMSKeyID    = "S3_SSE_KMS_KEY_ID" // key for aws:kms
	envCompression    = "COMPRESSION"       // gzip (default) or zstd
	envLevel          = "COMPRESSION_LEVEL" // gzip 1-9, zstd 1-4
	envKDF            = "ENCRYPTION_KDF"    // evp (default, openssl enc's own) or pbkdf2
	envIter           = "ENCRYPTION_ITER"   // PBKDF2 iterations
	envParallel       = "PARALLEL"          // databases backed up at once
	envFormat         = "DUMP_FORMAT"       // plain (default) or custom
	envPgDumpArgs     = "PG_DUMP_ARGS"      // extra pg_dump arguments
	envPgDump         = "PG_DUMP"           // pg_dump program (default: chosen per server)
	envLogFormat      = "LOG_FORMAT"        // text (default) or json
	envMaxMemory      = "S3_MAX_MEMORY"     // cap on one upload's part buffers
	envProgress       = "PROGRESS_INTERVAL" // how often a running backup logs progress
	maxPasswordFile   = 64 << 10            // cap on the encryption password file
	defaultPBKDF2Iter = 600000
)

// Settings are the job's validated settings.
type Settings struct {
	Targets  []pgpass.Entry // the databases to back up, in list order
	Skipped  string         // why Targets is empty although the list is fine
	Warnings []string       // things worth a line in the log; no secrets
	Shard    *Shard         // the part of the list this run backs up; nil: all
	Password []byte         // the encryption password
	// Encryption is an encryption's name (codec.go); "" is the first.
	Encryption string
	Recipients []Recipient    // ENCRYPTION=age: whom a backup is encrypted to
	identities []age.Identity // verify's AGE_IDENTITY_FILE (age.go); nil for a backup

	Bucket       string
	KeyPrefix    string
	PathStyle    bool
	StorageClass string
	SSE          string
	SSEKMSKeyID  string

	Compression string // a compression's name (codec.go)
	Level       int
	PBKDF2      bool
	Iter        int
	Parallel    int
	Format      string // a format's name (codec.go)
	PgDumpArgs  []string
	PgDump      string // "": the installed client that fits each server
	DumpGlobals bool   // also pg_dumpall --globals-only beside each dump (globals.go)
	JSONLogs    bool
	MaxMemory   int64         // bytes of part buffers per upload
	Progress    time.Duration // interval of progress lines; 0: none
	Retention   catalog.Rules // what prune keeps (retention.go); unset: no pruning

	Monitor monitor.Settings // where a run reports its outcome
}

// defaultJobMemory caps the part buffers of one upload: 40 MiB are used up
// to 2 GiB stored, and 256 MiB allow objects up to about 1 TiB.
const defaultJobMemory = 256 << 20

// Load reads the settings from the environment (getenv is os.Getenv in the
// command). only, when not empty, selects the target with that prefix. All
// problems are reported at once, one per line of the joined error, and no
// message contains a secret.
func Load(getenv func(string) string, only string) (*Settings, error) {
	return load(getenv, only, purposeVerify)
}

// LoadBackup is Load for a backup: it also checks that the programs a
// backup runs (pg_dump, and psql beside it or on PATH) are there, so that
// a wrong PG_DUMP is reported with the other settings before anything runs.
func LoadBackup(getenv func(string) string, only string) (*Settings, error) {
	return load(getenv, only, purposeBackup)
}

// LoadPrune is Load for prune, which only lists and deletes objects: it
// reads neither the encryption password nor an age identity.
func LoadPrune(getenv func(string) string, only string) (*Settings, error) {
	return load(getenv, only, purposePrune)
}

// purpose is what the settings are loaded for; each reads only the
// secrets it needs.
type purpose int

const (
	purposeVerify purpose = iota // the password and the identity that decrypt
	purposeBackup                // the password or the recipients; never an identity
	purposePrune                 // no secret that decrypts
)

func load(getenv func(string) string, only string, p purpose) (*Settings, error) {
	forBackup := p == purposeBackup
	s := &Settings{}
	var errs []error
	bad := func(format string, args ...any) { s.bad(&errs, format, args...) }

	// The pgpass list.
	if data, from, err := pgpass.FromEnv(getenv); err != nil {
		errs = append(errs, err)
	} else {
		entries, err := pgpass.Parse(strings.NewReader(string(data)))
		if err != nil {
			errs = append(errs, prefixLines(from+": ", err)...)
		} else if s.Targets, err = pgpass.Targets(entries, only); errors.Is(err, pgpass.ErrIgnored) {
			// As in the original image: selecting an ignored line is a
			// run with nothing to do, not a failure.
			s.Skipped = err.Error()
		} else if err != nil {
			errs = append(errs, err)
		} else if len(s.Targets) == 0 {
			bad("%s: no databases to back up (every line is a comment or marked ignore)", from)
		}
	}
	if sh, ok, err := loadShard(getenv); err != nil {
		errs = append(errs, err)
	} else if ok && only != "" {
		bad("a prefix (%s) and %s both select databases: give one of them", only, envShard)
	} else if ok && len(s.Targets) > 0 {
		s.Shard = &sh
		n := len(s.Targets)
		if s.Targets = shardTargets(s.Targets, sh); len(s.Targets) == 0 {
			s.Skipped = fmt.Sprintf("shard %s holds none of the list's %d databases", sh, n)
		}
	}

	// The encryption password.
	errs = append(errs, s.loadAge(getenv, p)...)
	if s.noPassword(getenv, p) {
		// ENCRYPTION=age (age.go)
	} else if pw, err := loadPassword(getenv, func(m string) { s.Warnings = append(s.Warnings, m) }); err != nil {
		errs = append(errs, err)
	} else {
		s.Password = pw
	}

	errs = append(errs, s.loadStorage(getenv)...)
	s.StorageClass = getenv(envStorageClass)
	s.SSE, s.SSEKMSKeyID = getenv(envSSE), getenv(envSSEKMSKeyID)
	switch s.SSE {
	case "", "AES256", "aws:kms":
	default:
		bad("%s=%q: use AES256 or aws:kms", envSSE, s.SSE)
	}
	if s.SSEKMSKeyID != "" && s.SSE != "aws:kms" {
		bad("%s needs %s=aws:kms", envSSEKMSKeyID, envSSE)
	}

	s.Compression = strings.ToLower(or(getenv(envCompression), catalog.Compressions[0].Name))
	if c, ok := catalog.CompressionNamed(s.Compression); ok {
		s.Level = c.DefaultLevel
		if err := envInt(getenv, envLevel, 1, c.MaxLevel, &s.Level); err != nil {
			errs = append(errs, err)
		}
	} else {
		bad("%s=%q: use %s", envCompression, s.Compression, catalog.Names(catalog.Compressions, func(c catalog.Compression) string { return c.Name }))
	}

	switch kdf := strings.ToLower(or(getenv(envKDF), "evp")); kdf {
	case "evp":
		if getenv(envIter) != "" {
			bad("%s is only used with %s=pbkdf2", envIter, envKDF)
		}
	case "pbkdf2":
		s.PBKDF2 = true
		s.Iter = defaultPBKDF2Iter
		if err := envInt(getenv, envIter, 1, 100_000_000, &s.Iter); err != nil {
			errs = append(errs, err)
		}
	default:
		bad("%s=%q: use evp (openssl enc's default key derivation) or pbkdf2", envKDF, kdf)
	}

	s.Parallel = 1
	if err := envInt(getenv, envParallel, 1, 64, &s.Parallel); err != nil {
		errs = append(errs, err)
	}
	s.Format = strings.ToLower(or(getenv(envFormat), catalog.Formats[0].Name))
	if _, ok := catalog.FormatNamed(s.Format); !ok {
		bad("%s=%q: use %s", envFormat, s.Format, catalog.Names(catalog.Formats, func(f catalog.Format) string { return f.Name }))
	}
	s.PgDumpArgs = strings.Fields(getenv(envPgDumpArgs))
	for _, a := range s.PgDumpArgs {
		if err := checkDumpArg(a, s.Format); err != nil {
			errs = append(errs, err)
		}
	}
	s.PgDump = getenv(envPgDump)
	if forBackup {
		errs = append(errs, checkPrograms(getenv, s.PgDump)...)
	}
	errs = append(errs, s.loadGlobals(getenv, forBackup)...)
	var monErrs []error
	s.Monitor, monErrs = monitor.Load(getenv)
	errs = append(errs, monErrs...)
	s.Progress = time.Minute
	if v := strings.TrimSpace(getenv(envProgress)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < 100*time.Millisecond) {
			bad("%s=%q: use a duration such as 30s or 5m (0 for none)", envProgress, v)
		} else {
			s.Progress = d
		}
	}
	s.MaxMemory = defaultJobMemory
	if v := strings.TrimSpace(getenv(envMaxMemory)); v != "" {
		n, err := units.ParseSize(v)
		if err != nil || n < 64<<20 {
			bad("%s=%q: use a size of at least 64MiB, e.g. 512MiB", envMaxMemory, v)
		} else {
			s.MaxMemory = n
		}
	}
	var rerrs []error
	s.Retention, rerrs = loadRules(getenv)
	errs = append(errs, rerrs...)
	switch lf := strings.ToLower(or(getenv(envLogFormat), "text")); lf {
	case "text":
	case "json":
		s.JSONLogs = true
	default:
		bad("%s=%q: use text or json", envLogFormat, lf)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// LoadStorage reads only the settings that locate the backups (bucket,
// folder, addressing), for actions that need no database list or password.
func LoadStorage(getenv func(string) string) (*Settings, error) {
	s := &Settings{}
	if errs := s.loadStorage(getenv); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// CheckCommandPrefixes refuses a pgpass list in the environment that has a
// command word of the job as a prefix (see pgpass.Commands), for actions
// that otherwise need no list: a scheduled "backup.sh list" meant to back
// up the database of the line "list" would list the bucket instead and
// succeed. Without a list, or with one that cannot be read, it says nothing:
// those actions do not need it.
func CheckCommandPrefixes(getenv func(string) string) error {
	data, from, err := pgpass.FromEnv(getenv)
	if err != nil {
		return nil
	}
	_, err = pgpass.Parse(strings.NewReader(string(data)))
	joined, _ := err.(interface{ Unwrap() []error })
	if joined == nil {
		return nil
	}
	var errs []error
	for _, e := range joined.Unwrap() {
		if errors.Is(e, pgpass.ErrCommand) {
			errs = append(errs, fmt.Errorf("%s: %w", from, e))
		}
	}
	return errors.Join(errs...)
}

func (s *Settings) bad(errs *[]error, format string, args ...any) {
	*errs = append(*errs, fmt.Errorf(format, args...))
}

func (s *Settings) loadStorage(getenv func(string) string) []error {
	var errs []error
	if s.Bucket = strings.TrimSpace(getenv(envBucket)); s.Bucket == "" {
		s.bad(&errs, "%s is not set: name the bucket that receives the backups", envBucket)
	} else if strings.HasPrefix(s.Bucket, "s3://") || strings.Contains(s.Bucket, "/") {
		s.bad(&errs, "%s=%q: give the bucket name alone (a folder goes in %s)", envBucket, s.Bucket, envKeyPrefix)
	}
	if (getenv(envAccessKey) == "") != (getenv(envSecretKey) == "") {
		s.bad(&errs, "%s and %s must be set together", envAccessKey, envSecretKey)
	}

	s.KeyPrefix = strings.TrimPrefix(getenv(envKeyPrefix), "/")
	if s.KeyPrefix != "" && !strings.HasSuffix(s.KeyPrefix, "/") {
		s.KeyPrefix += "/"
	}
	var err error
	if s.PathStyle, err = envBool(getenv, envPathStyle); err != nil {
		errs = append(errs, err)
	}
	bucket := s.Bucket
	if len(errs) > 0 {
		bucket = "" // already reported, or nothing to check it with
	}
	errs = append(errs, checkS3Env(getenv, bucket, s.PathStyle)...)
	return errs
}

// The AWS SDK's variables that locate the S3 service, read here only to be
// checked: the SDK reads them itself, but checks them only when it sends a
// request, which for an upload is after the whole dump.
const (
	envRegion        = "AWS_REGION"
	envDefaultRegion = "AWS_DEFAULT_REGION"
	envEndpoint      = "AWS_ENDPOINT_URL"
	envEndpointS3    = "AWS_ENDPOINT_URL_S3"
	envIgnoreEnd     = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// checkS3Env checks the bucket name (unless "") and the AWS region and
// endpoint variables the way S3 and the SDK will: the bucket by s3stream's
// rule (the one of s3put and s3get), the endpoint as a URL, the region by
// the SDK's rule, and all of them together by the SDK's own endpoint rules.
func checkS3Env(getenv func(string) string, bucket string, pathStyle bool) []error {
	var errs []error
	if bucket != "" {
		if err := s3stream.CheckBucket(bucket); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envBucket, err))
		}
	}
	endpoint := ""
	if ignore, _ := strconv.ParseBool(getenv(envIgnoreEnd)); !ignore {
		for _, name := range []string{envEndpointS3, envEndpoint} {
			v := getenv(name)
			if v == "" {
				continue
			}
			if err := s3stream.CheckEndpoint(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w (want a URL such as https://s3.example.com or http://127.0.0.1:7070)", name, err))
			} else if endpoint == "" {
				endpoint = v // the S3-specific one wins, as in the SDK
			}
		}
	}
	regionVar, region := envRegion, getenv(envRegion)
	if region == "" {
		regionVar, region = envDefaultRegion, getenv(envDefaultRegion)
	}
	if region != "" && !validRegion(region) {
		errs = append(errs, fmt.Errorf("%s=%q: not a region name (the AWS SDK takes letters, digits and '-', e.g. eu-west-1)", regionVar, region))
	}
	if len(errs) > 0 || region == "" || bucket == "" {
		return errs
	}
	if err := resolveEndpoint(bucket, region, endpoint, pathStyle); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q, %s=%q: %w", envBucket, bucket, regionVar, region, err))
	}
	return errs
}

// validRegion is the rule the SDK applies to the region of every request,
// to AWS and to any other endpoint alike (the S3 client's bindRegion): host
// labels of letters, digits and '-', not starting or ending with '-',
// separated by '.'.
func validRegion(r string) bool {
	for _, label := range strings.Split(r, ".") {
		if !smithyhttp.ValidHostLabel(label) || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// resolveEndpoint applies the SDK's own endpoint rules for S3 to a bucket,
// region and endpoint (empty: AWS) as a request would, without sending
// one. Its error is the rule's message, e.g. "Invalid region: region was
// not a valid DNS name".
func resolveEndpoint(bucket, region, endpoint string, pathStyle bool) error {
	p := s3.EndpointParameters{Bucket: aws.String(bucket), Region: aws.String(region), ForcePathStyle: aws.Bool(pathStyle)}
	if endpoint != "" {
		p.Endpoint = aws.String(endpoint)
	}
	if _, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), p); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "endpoint rule error, "))
	}
	return nil
}

// checkPrograms finds pg_dump and psql as the job will run them: pgDump on
// the PATH of getenv unless it names a file, and psql beside it or on PATH.
func checkPrograms(getenv func(string) string, pgDump string) []error {
	path := getenv("PATH")
	if pgDump == "" {
		if found, _ := filepath.Glob(filepath.Join(clientRoot, "*", "bin", "pg_dump")); len(found) > 0 {
			return nil // each one is asked for its version when the job starts
		}
		pgDump = "pg_dump"
	}
	found, err := findProgram(pgDump, path)
	if err != nil {
		if getenv(envPgDump) == "" {
			return []error{fmt.Errorf("pg_dump not found in %s/*/bin or on PATH: install the PostgreSQL client or set %s", clientRoot, envPgDump)}
		}
		return []error{fmt.Errorf("%s=%q: %v: install the PostgreSQL client or set %s to its pg_dump", envPgDump, pgDump, err, envPgDump)}
	}
	if fileExists(filepath.Join(filepath.Dir(found), "psql")) {
		return nil
	}
	if _, err := findProgram("psql", path); err != nil {
		return []error{fmt.Errorf("psql not found beside %s or on PATH: install the PostgreSQL client (the job asks the server for its version with it)", found)}
	}
	return nil
}

// findProgram is exec.LookPath with the PATH given: a name with a slash is
// that file, any other is looked up in path.
func findProgram(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("not found")
}

func executable(p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such file")
	case err != nil:
		return err
	case st.IsDir():
		return errors.New("is a directory")
	case st.Mode().Perm()&0o111 == 0:
		return errors.New("not executable")
	}
	return nil
}

// loadPassword reads the encryption password from PASS_FILE_BASE64 or the
// file named by PASSWORD_FILE exactly as "openssl enc -pass file:" reads a
// file: the original image wrote PASS_FILE_BASE64 to a file and passed it
// to openssl that way, and every restore command does the same. So only
// the first line counts, without its "\n" but with a "\r" before it, cut
// at a NUL byte and at 1023 bytes (openssl's buffer); warn is told of a
// trailing "\r" or a cut.
func loadPassword(getenv func(string) string, warn func(string)) ([]byte, error) {
	switch {
	case getenv(EnvPassBase64) != "":
		from := "$" + EnvPassBase64
		b, err := pgpass.DecodeBase64(getenv(EnvPassBase64))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		// "stdin" reads the first line of the given reader by openssl's rules.
		pw, err := osslenc.ParsePass("stdin", bytes.NewReader(b), func(m string) { warn(from + ": " + m) })
		if err != nil {
			return nil, fmt.Errorf("%s: the encryption password is empty", from)
		}
		return pw, nil
	case getenv(envPasswordFile) != "":
		name := getenv(envPasswordFile)
		if st, err := os.Stat(name); err != nil {
			return nil, fmt.Errorf("%s: %w", envPasswordFile, err)
		} else if st.Size() > maxPasswordFile {
			return nil, fmt.Errorf("%s (%s): larger than %d bytes; it should hold the password alone", envPasswordFile, name, maxPasswordFile)
		}
		pw, err := osslenc.ParsePass("file:"+name, nil, func(m string) { warn(envPasswordFile + ": " + m) })
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", envPasswordFile, name, err)
		}
		return pw, nil
	}
	return nil, fmt.Errorf("no encryption password: set %s or %s", EnvPassBase64, envPasswordFile)
}

// checkDumpArg refuses a pg_dump argument that would change what the job
// relies on: where the dump goes, its format, compression, the connection.
// pg_dump accepts unambiguous abbreviations of long options, so a prefix
// of a forbidden option is refused too; and a word that is not an option
// would be taken as the database name, so options must be written
// --name=value.
//
// For the plain format it also refuses --clean and --create: such a dump
// starts with DROP DATABASE, CREATE DATABASE and \connect to the database
// it was made from, so restoring it anywhere replaces that database. The
// archive formats ignore both (pg_restore decides).
func checkDumpArg(a, format string) error {
	if !strings.HasPrefix(a, "-") {
		return fmt.Errorf("%s: %q is not an option; write options with their value as --name=value", envPgDumpArgs, a)
	}
	plain := format == "plain"
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		for _, long := range []string{"file", "format", "host", "port", "username", "dbname", "password", "no-password", "compress", "jobs"} {
			if len(name) >= 2 && strings.HasPrefix(long, name) {
				return fmt.Errorf("%s: %q (--%s) is set by the job itself and cannot be overridden", envPgDumpArgs, a, long)
			}
		}
		for _, long := range []string{"clean", "create"} {
			if plain && len(name) >= 2 && strings.HasPrefix(long, name) {
				return dropsDatabase(a, "--"+long)
			}
		}
		return nil
	}
	// Short options, possibly bundled: -Fp, -vf x, -cC.
	for _, c := range a[1:] {
		if strings.ContainsRune("fFhpUdWwZj", c) {
			return fmt.Errorf("%s: %q (-%c) is set by the job itself and cannot be overridden", envPgDumpArgs, a, c)
		}
		if plain && (c == 'c' || c == 'C') {
			return dropsDatabase(a, "-"+string(c))
		}
		if !strings.ContainsRune("abBcCORsvx", c) {
			break // an option with a value: the rest is the value
		}
	}
	return nil
}

func dropsDatabase(arg, opt string) error {
	return fmt.Errorf("%s: %q (%s) is refused with %s=plain: the dump would drop or create its database and connect to it by name, so a restore would replace the live database instead of filling the one it was meant for; create the target database before restoring instead",
		envPgDumpArgs, arg, opt, envFormat)
}

func prefixLines(prefix string, err error) []error {
	var out []error
	for _, l := range strings.Split(err.Error(), "\n") {
		out = append(out, errors.New(prefix+l))
	}
	return out
}

func or(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: use true or false", name, v)
	}
	return b, nil
}

func envInt(getenv func(string) string, name string, min, max int, v *int) error {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return fmt.Errorf("%s=%q: use a whole number from %d to %d", name, s, min, max)
	}
	*v = n
	return nil
}

package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/discover"
	"github.com/philips-labs/iron-streaming-backup/internal/monitor"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Settings are the job's validated settings, by concern.
type Settings struct {
	Targets  []pgpass.Entry // the databases to back up, in list order
	Skipped  string         // why Targets is empty although the list is fine
	Warnings []string       // things worth a line in the log; no secrets
	Shard    *Shard         // the part of the list this run backs up; nil: all
	// Only is the prefix the command named, "" for all: a '*' line of
	// Targets stands for it until its databases are found.
	Only string
	// Listed are all the list's lines, selected or not: a '*' line leaves
	// out the databases that have lines of their own.
	Listed []pgpass.Entry
	// Discovery filters what the '*' lines of Targets find.
	Discovery discover.Filter

	Storage
	Crypto
	Dump

	Retention catalog.Rules    // what prune keeps; unset: no pruning
	Monitor   monitor.Settings // where a run reports its outcome
	JSONLogs  bool
	Progress  time.Duration // interval of progress lines; 0: none
}

// Storage says where the backups are.
type Storage struct {
	Bucket       string
	KeyPrefix    string // the folder: "" or ending in "/"
	PathStyle    bool
	StorageClass string
	SSE          string // "", AES256 or aws:kms
	SSEKMSKeyID  string
	MaxMemory    int64  // bytes of part buffers per upload
	MaxParts     int    // parts of one multipart upload, at most
	PartChecksum string // s3stream.WriterOptions.PartChecksum: "" (auto) or md5 (when_required)
	Lock         Lock   // the object lock of every object a backup writes
}

// Lock is the S3 Object Lock every object of a backup is written with.
type Lock struct {
	Mode      string        // "", s3stream.LockGovernance or s3stream.LockCompliance
	Retain    time.Duration // from the backup's start
	LegalHold bool
}

// String names the lock as its settings: "OBJECT_LOCK_MODE=GOVERNANCE
// OBJECT_LOCK_DAYS=30".
func (l Lock) String() string {
	var parts []string
	if l.Mode != "" {
		parts = append(parts, EnvLockMode+"="+l.Mode)
		if l.Retain%(24*time.Hour) == 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", EnvLockDays, l.Retain/(24*time.Hour)))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%s", EnvLockRetain, l.Retain))
		}
	}
	if l.LegalHold {
		parts = append(parts, EnvLegalHold+"=true")
	}
	return strings.Join(parts, " ")
}

// On reports whether objects are locked at all.
func (l Lock) On() bool { return l.Mode != "" || l.LegalHold }

// Until is the retain-until date of the objects of a backup started at
// start, whole seconds (as S3 keeps it) and never earlier than Retain
// after start; zero without a mode.
func (l Lock) Until(start time.Time) time.Time {
	if l.Mode == "" {
		return time.Time{}
	}
	u := start.Add(l.Retain).UTC()
	if t := u.Truncate(time.Second); t.Before(u) {
		return t.Add(time.Second)
	}
	return u
}

// Dump says how a database is dumped and compressed.
type Dump struct {
	Format      string // a format's name (catalog.Formats)
	Compression string // a compression's name (catalog.Compressions)
	Level       int
	Parallel    int // databases backed up at once
	PgDumpArgs  []string
	PgDump      string // "": the installed client that fits each server
	DumpGlobals bool   // also pg_dumpall --globals-only beside each dump
}

// defaultJobMemory caps the part buffers of one upload: 40 MiB are used up
// to 2 GiB stored, and 256 MiB allow objects up to about 1 TiB.
const defaultJobMemory = 256 << 20

// Purpose is what settings are read for; each reads only the secrets it
// needs.
type Purpose int

const (
	ForVerify Purpose = iota // the password and the identity that decrypt
	ForBackup                // the password or the recipients, never an identity; the programs it runs
	ForPrune                 // no secret that decrypts
	// ForRestore reads what verify reads, and needs no list: only names
	// the prefix whose backups are restored, which need not be in one (a
	// database no longer backed up).
	ForRestore
)

// Load reads the settings for purpose from the environment (getenv is
// os.Getenv in the command). only, when not empty, selects the target with
// that prefix; commands are the words the job takes as a command in a
// prefix's place, which no prefix of the list may be. All problems are
// reported at once, one per line of the joined error, and no message
// contains a secret.
func Load(getenv func(string) string, p Purpose, only string, commands ...string) (*Settings, error) {
	e := &env{getenv: getenv}
	s := &Settings{}
	if p == ForRestore {
		s.restoreTarget(e, only, commands)
	} else {
		s.loadTargets(e, only, commands)
	}
	s.loadCrypto(e, p)
	s.loadStorage(e)
	s.loadWriting(e)
	s.loadDump(e, p)
	s.Retention = loadRules(e)
	s.Monitor = loadMonitor(e)
	switch lf := strings.ToLower(e.or(EnvLogFormat, "text")); lf {
	case "text":
	case "json":
		s.JSONLogs = true
	default:
		e.bad("%s=%q: use text or json", EnvLogFormat, lf)
	}
	s.Progress = time.Minute
	if v := e.trimmed(EnvProgress); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < 100*time.Millisecond) {
			e.bad("%s=%q: use a duration such as 30s or 5m (0 for none)", EnvProgress, v)
		} else {
			s.Progress = d
		}
	}
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	return s, nil
}

// restoreTarget is the one prefix a restore names.
func (s *Settings) restoreTarget(e *env, only string, commands []string) {
	if only == "" {
		e.bad("restore: name the prefix whose backup to restore")
		return
	}
	if err := pgpass.CheckPrefix(only, commands); err != nil {
		e.bad("restore: %v", err)
		return
	}
	s.Targets = []pgpass.Entry{{Prefix: only}}
}

// loadTargets reads the list and selects the targets: only's, or the
// shard's, or all.
func (s *Settings) loadTargets(e *env, only string, commands []string) {
	data, from, err := list(e)
	var entries []pgpass.Entry
	if err == nil {
		entries, err = pgpass.Parse(strings.NewReader(string(data)), commands...)
		if err != nil {
			err = errors.Join(prefixLines(from+": ", err)...)
		}
	}
	s.Listed = entries
	switch {
	case err != nil:
		e.add(err)
	default:
		if s.Targets, err = pgpass.Targets(entries, only); errors.Is(err, pgpass.ErrIgnored) {
			// As in the original image: selecting an ignored line is a
			// run with nothing to do, not a failure.
			s.Skipped = err.Error()
		} else if err != nil {
			e.add(err)
		} else if len(s.Targets) == 0 {
			e.bad("%s: no databases to back up (every line is a comment or marked ignore)", from)
		}
	}
	s.Only = only
	for _, x := range []struct {
		name string
		to   *[]string
	}{{EnvDatabasesInclude, &s.Discovery.Include}, {EnvDatabasesExclude, &s.Discovery.Exclude}} {
		globs, err := discover.ParseGlobs(e.get(x.name))
		if err != nil {
			e.bad("%s: %v; give names or shell patterns, separated by commas (app_*, test?)", x.name, err)
		}
		*x.to = globs
	}
	sh, ok := loadShard(e)
	switch {
	case !ok:
	case only != "":
		e.bad("a prefix (%s) and %s both select databases: give one of them", only, EnvShard)
	case len(s.Targets) > 0:
		s.Shard = &sh
		n := len(s.Targets)
		if s.Targets = sh.targets(s.Targets); len(s.Targets) == 0 {
			s.Skipped = fmt.Sprintf("shard %s holds none of the list's %d databases", sh, n)
		}
	}
}

func (s *Settings) loadDump(e *env, p Purpose) {
	s.Compression = strings.ToLower(e.or(EnvCompression, catalog.Compressions[0].Name))
	if c, ok := catalog.CompressionNamed(s.Compression); ok {
		s.Level = c.DefaultLevel
		e.int(EnvLevel, 1, c.MaxLevel, &s.Level)
	} else {
		e.bad("%s=%q: use %s", EnvCompression, s.Compression, catalog.Names(catalog.Compressions, func(c catalog.Compression) string { return c.Name }))
	}
	s.Parallel = 1
	e.int(EnvParallel, 1, 64, &s.Parallel)
	s.Format = strings.ToLower(e.or(EnvFormat, catalog.Formats[0].Name))
	if _, ok := catalog.FormatNamed(s.Format); !ok {
		e.bad("%s=%q: use %s", EnvFormat, s.Format, catalog.Names(catalog.Formats, func(f catalog.Format) string { return f.Name }))
	}
	s.PgDumpArgs = strings.Fields(e.get(EnvPgDumpArgs))
	for _, a := range s.PgDumpArgs {
		e.add(checkDumpArg(a, s.Format))
	}
	s.PgDump = e.get(EnvPgDump)
	s.DumpGlobals = e.bool(EnvDumpGlobals)
	if p == ForBackup {
		e.add(checkPrograms(e.getenv("PATH"), s.PgDump, e.get(EnvPgDump) != "", s.DumpGlobals)...)
	}
	s.MaxMemory = defaultJobMemory
	if v := e.trimmed(EnvMaxMemory); v != "" {
		n, err := units.ParseSize(v)
		if err != nil || n < 64<<20 {
			e.bad("%s=%q: use a size of at least 64MiB, e.g. 512MiB", EnvMaxMemory, v)
		} else {
			s.MaxMemory = n
		}
	}
	s.MaxParts = s3stream.MaxParts
	e.int(EnvMaxParts, 1, s3stream.MaxParts, &s.MaxParts)
	switch v := strings.ToLower(e.trimmed(EnvChecksum)); v {
	case "", "auto":
	case "when_required":
		s.PartChecksum = s3stream.ChecksumMD5
	default:
		e.bad("%s=%q: use auto or when_required", EnvChecksum, e.trimmed(EnvChecksum))
	}
}

// ObjectKey is where the dump of the backup of prefix started at t is
// stored: [folder]<prefix>-<UTC YYYYmmddHHMMSS><endings>.
func (s *Settings) ObjectKey(prefix string, t time.Time) string {
	return catalog.DumpKey(s.KeyPrefix, prefix, t, s.Format, s.Compression, s.EncryptionCodec().Name)
}

// CompanionKey is where the companion named name (catalog.Companions) of
// the backup of prefix started at t is stored.
func (s *Settings) CompanionKey(prefix string, t time.Time, name string) string {
	return catalog.CompanionKey(s.KeyPrefix, prefix, t, name, s.Compression, s.EncryptionCodec().Name)
}

// CompressionCodec is the settings' compression.
func (s *Settings) CompressionCodec() catalog.Compression {
	c, _ := catalog.CompressionNamed(s.Compression)
	return c
}

// EncryptionCodec is the settings' encryption; the first of the table
// (the original image's) when none is set.
func (s *Settings) EncryptionCodec() catalog.Encryption {
	if e, ok := catalog.EncryptionNamed(s.Encryption); ok {
		return e
	}
	return catalog.Encryptions[0]
}

// LoadStorage reads only the settings that locate the backups (bucket,
// folder, addressing), for actions that need no database list or password.
func LoadStorage(getenv func(string) string) (*Settings, error) {
	e := &env{getenv: getenv}
	s := &Settings{}
	s.loadStorage(e)
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	return s, nil
}

// LoadRules reads the retention settings alone, for actions that need no
// database list (list). All problems are reported at once.
func LoadRules(getenv func(string) string) (catalog.Rules, error) {
	e := &env{getenv: getenv}
	r := loadRules(e)
	return r, errors.Join(e.errs...)
}

func prefixLines(prefix string, err error) []error {
	var out []error
	for _, l := range strings.Split(err.Error(), "\n") {
		out = append(out, errors.New(prefix+l))
	}
	return out
}

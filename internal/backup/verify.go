package backup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/klauspost/compress/gzip"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/restore"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Verifier checks the newest backup of every target: that it exists, is
// recent enough, matches its manifest (size, SHA-256), decrypts (padding),
// decompresses (the compression stream's own checks), and holds a complete
// dump (plain: pg_dump's completion line and the manifest's row counts;
// custom: pg_restore reads its table of contents). With RestoreInto it also
// restores the dump into that (empty, scratch) database and compares the
// row count of every table with the manifest.
type Verifier struct {
	Settings    *Settings
	Client      *s3.Client
	Log         *Logger
	MaxAge      time.Duration // 0: any age
	RestoreInto string        // libpq connection string of a scratch database
	// TrustDump restores with the dump's ownership and privileges and
	// lets the caller restore as a role with more rights than a database
	// owner (see restore.CheckRole).
	TrustDump bool
	// RequireLock fails a newest backup whose object is not locked (S3
	// Object Lock) for at least this long from now; 0: any.
	RequireLock time.Duration
	// Errs is filled by Run: each target's failure, nil when verified.
	Errs []error

	now func() time.Time
	// A Restorer's: commit the restore once every check passed, drop
	// what the role owns first (restore.Options.Clean), the pg_restore
	// that reads a custom dump, and the count of restored bytes.
	commit, clean bool
	pgRestore     string
	restored      *countingWriter
	// A Restorer's with -globals: the globals are restored by these
	// rules over the connection rolesConnect opens.
	roles        *restore.Roles
	rolesConnect func(context.Context) (*pgconn.PgConn, error)
}

// Check reports what makes the verification impossible before it starts:
// a restore needs one target, and for age backups an identity.
func (v *Verifier) Check() error {
	switch {
	case v.RestoreInto == "":
		return nil
	case len(v.Settings.Targets) != 1:
		return fmt.Errorf("-restore-into restores one backup: name its prefix (the list has %d)", len(v.Settings.Targets))
	case v.Settings.Encryption == "age" && !v.Settings.HasIdentity():
		return ErrNoIdentity
	}
	return nil
}

// ErrNoIdentity is Check's error of a restore of age backups without an
// identity.
var ErrNoIdentity = errors.New("-restore-into needs AGE_IDENTITY_FILE to decrypt age backups")

// Run verifies every target, logs a line for each and a summary, and
// returns an error if any failed.
func (v *Verifier) Run(ctx context.Context) error {
	if v.now == nil {
		v.now = time.Now
	}
	if err := v.Check(); err != nil {
		return err
	}
	var failed []string
	v.Errs = nil
	for _, t := range v.Settings.Targets {
		err := v.verifyOne(ctx, t)
		v.Errs = append(v.Errs, err)
		if err != nil {
			failed = append(failed, t.Prefix)
			v.Log.Failed(t, err)
		}
	}
	n := len(v.Settings.Targets)
	if len(failed) > 0 {
		v.Log.result("error: %d of %d backups failed verification (%s)", len(failed), n, strings.Join(failed, ", "))
		return fmt.Errorf("%d of %d backups failed verification", len(failed), n)
	}
	v.Log.result("%d of %d backups verified", n, n)
	return nil
}

func (v *Verifier) verifyOne(ctx context.Context, t pgpass.Entry) error {
	s := v.Settings
	cat, err := catalog.Catalog(ctx, v.Client, s.Bucket, s.KeyPrefix, t.Prefix)
	if err != nil {
		return err
	}
	// A '*' line's prefix holds the line's globals (catalog.Backup.Alone),
	// any other the dumps of its database.
	line := LineGlobals(t)
	bs := slices.DeleteFunc(slices.Clone(cat[t.Prefix]), func(b catalog.Backup) bool { return b.Alone() != line })
	switch {
	case line && v.RestoreInto != "":
		return fmt.Errorf("-restore-into: %s holds the globals of a '*' line, not a database: name one of its databases (%s.NAME)", t.Prefix, t.Prefix)
	case line && len(bs) == 0:
		return fmt.Errorf("no globals of the '*' line found at s3://%s/%s%s-*.globals.*", s.Bucket, s.KeyPrefix, t.Prefix)
	case len(bs) == 0:
		return fmt.Errorf("no backup found at s3://%s/%s%s-*", s.Bucket, s.KeyPrefix, t.Prefix)
	}
	b := bs[0]
	if b.Future(v.now()) {
		return fmt.Errorf("s3://%s/%s is dated %s UTC, %s ahead of this machine's clock: a clock was wrong when it was made, or it was copied there; it hides the real newest backup, so remove or rename it (or set this machine's clock)",
			s.Bucket, b.Key, b.Time.Format("2006-01-02 15:04:05"), strings.TrimPrefix(catalog.Age(v.now(), b.Time), "in "))
	}
	if age := v.now().Sub(b.Time); v.MaxAge > 0 && age > v.MaxAge {
		return fmt.Errorf("the newest backup, %s, is %s old: older than the allowed %s (have backups stopped?)",
			b.Key, catalog.Age(v.now(), b.Time), v.MaxAge)
	}

	// The manifests of the backup and its companions, read once: the
	// object is checked against what was checked to describe it.
	read, err := catalog.ReadManifests(ctx, v.Client, s.Bucket, bs[:1])
	if err != nil {
		return err
	}
	m, info, err := v.manifest(t, b, read, "size, SHA-256 or row counts")
	if err != nil {
		return err
	}
	lock, err := v.checkLock(ctx, b)
	if err != nil {
		return err
	}
	st, err := v.check(ctx, b, m, info)
	if err != nil {
		return err
	}
	companions, err := v.verifyCompanions(ctx, t, b, read)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s: ok: %s (%s old), %s stored, %s dump", t.Prefix, b.Key, catalog.Age(v.now(), b.Time), units.FormatSize(b.Size), units.FormatSize(st.plain))
	switch {
	case b.Alone():
		// The line's globals: no tables, as a companion's line says.
		what = fmt.Sprintf("%s: ok: %s %s (%s old), %s stored, %s dump", t.Prefix, b.Companion, b.Key, catalog.Age(v.now(), b.Time), units.FormatSize(b.Size), units.FormatSize(st.plain))
		if info != nil && info.RolePasswords != nil && !*info.RolePasswords {
			what += ", without role passwords"
		}
	case st.tables >= 0:
		what += fmt.Sprintf(", %d tables, %d rows", st.tables, st.rows)
	}
	if m != nil {
		what += ", size and sha256 match the manifest"
	}
	if st.unchecked != "" {
		// Nothing was decrypted: no dump size, rows or restore to report.
		what = fmt.Sprintf("%s: ok (stored object only): %s (%s old), %s stored, size and sha256 match the manifest; its content was NOT checked: %s",
			t.Prefix, b.Key, catalog.Age(v.now(), b.Time), units.FormatSize(b.Size), st.unchecked)
	}
	if v.RestoreInto != "" {
		what += ", restored and row counts compared"
	}
	what += companions + lock
	v.Log.result("%s", what)
	return nil
}

// checkLock reads the object lock of b and says it ("; locked GOVERNANCE
// until …"), "" for none; with RequireLock, a lock that ends sooner (or
// none) fails.
func (v *Verifier) checkLock(ctx context.Context, b catalog.Backup) (string, error) {
	l, err := s3stream.ReadLock(ctx, v.Client, v.Settings.Bucket, b.Key)
	now := v.now()
	switch {
	case err != nil && v.RequireLock > 0:
		return "", fmt.Errorf("-require-lock: %w", err)
	case err != nil:
		return "", nil // a store or credentials without object lock
	case v.RequireLock > 0 && !l.LegalHold && (l.Mode == "" || l.Until.Before(now.Add(v.RequireLock))):
		// A legal hold keeps the object until it is removed.
		state := "is not locked"
		if l.Mode != "" && l.Until.After(now) {
			state = fmt.Sprintf("is locked only until %s (%s from now)", l.Until.UTC().Format("2006-01-02 15:04:05 UTC"), l.Until.Sub(now).Round(time.Minute))
		}
		return "", fmt.Errorf("the newest backup, %s, %s: -require-lock %s wants it locked at least until %s (set %s and %s, see docs/verify-and-retention.md#immutable-backups)",
			b.Key, state, v.RequireLock, now.Add(v.RequireLock).UTC().Format("2006-01-02 15:04:05 UTC"), config.EnvLockMode, config.EnvLockDays)
	case !l.Locked(now):
		return "", nil
	}
	return "; locked: " + l.String(), nil
}

type streamStats struct {
	plain        int64
	tables, rows int64
	unchecked    string // why the content was not checked (decrypt.go's checkStored); "" when it was
}

// check streams the object through decryption and decompression into the
// completeness checks (and the restore).
func (v *Verifier) check(ctx context.Context, b catalog.Backup, m *s3stream.Manifest, info *catalog.Info) (st streamStats, err error) {
	st.tables = -1
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := v.Settings
	r, err := s3stream.NewReader(ctx, v.Client, s.Bucket, b.Key, s3stream.ReaderOptions{Verify: m})
	if err != nil {
		return st, err
	}
	defer r.Close()

	dec, err := v.newDecrypter(r, b, info)
	var nokey *noKeyError
	if errors.As(err, &nokey) {
		return v.checkStored(r, b, m, st, nokey)
	}
	if err != nil {
		return st, checksumFirst(r, m, err)
	}
	c, ok := catalog.CompressionNamed(b.Compression)
	if !ok {
		return st, fmt.Errorf("unknown compression %q", b.Compression)
	}
	dump, release, err := c.NewReader(dec)
	if err != nil {
		return st, decompressErr(err)
	}
	defer release()

	var sink io.Writer
	var counter *dumpstat.Counter
	var plain *restore.Plain
	var tool *exec.Cmd
	var toolIn io.WriteCloser
	toolErr := &tailBuffer{max: 4096}
	switch {
	case v.RestoreInto != "" && b.Companion == "":
		// Not psql, not pg_restore into the database: the dump's
		// statements are sent one by one into one transaction, which is
		// rolled back once the rows are counted, and nothing of the dump
		// acts but SQL into the target (package restore). A custom dump
		// becomes that SQL through pg_restore, which connects nowhere.
		conn, err := restore.Connect(ctx, v.RestoreInto)
		if err != nil {
			return st, fmt.Errorf("connecting to the scratch database: %w", err)
		}
		if plain, err = restore.NewPlain(ctx, conn, restore.Options{Trusted: v.TrustDump, Ending: dumpstat.Complete, Clean: v.clean}); err != nil {
			return st, err
		}
	case v.roles != nil && b.Companion == globalsName:
		// The globals, by the rules of restore.Roles, on a connection
		// whose role may create roles.
		conn, err := v.rolesConnect(ctx)
		if err != nil {
			return st, fmt.Errorf("connecting to restore the roles: %w", err)
		}
		if plain, err = restore.NewPlain(ctx, conn, restore.Options{Trusted: v.TrustDump, Ending: dumpstat.ClusterComplete, Roles: v.roles}); err != nil {
			return st, err
		}
	}
	if plain != nil {
		defer plain.Close()
		counter = plain.Counter()
	}
	switch {
	case plain != nil && b.Format == "plain":
		sink = plain
	case b.Format == "plain":
		counter = dumpstat.NewCounterEnding(completion(b))
		sink = counter
	case plain != nil:
		sink = io.Discard
		args := []string{"--file=-"}
		if !v.TrustDump {
			args = append(args, "--no-owner", "--no-privileges")
		}
		tool = exec.CommandContext(ctx, cmp.Or(v.pgRestore, "pg_restore"), args...)
	default:
		sink = io.Discard
		// pg_restore --list stops after the table of contents; writing
		// the whole archive as SQL to nowhere reads every data block.
		tool = exec.CommandContext(ctx, "pg_restore", "--file=/dev/null")
	}
	if tool != nil {
		tool.Env = restoreEnv()
		tool.Stdout = io.Discard
		if plain != nil {
			tool.Stdout = plain
		}
		tool.Stderr = toolErr
		if toolIn, err = tool.StdinPipe(); err != nil {
			return st, err
		}
		if err := tool.Start(); err != nil {
			return st, fmt.Errorf("starting %s: %w", tool.Args[0], err)
		}
		defer func() {
			if tool.ProcessState == nil {
				tool.Process.Kill()
				tool.Wait()
			}
		}()
		sink = io.MultiWriter(sink, toolIn)
	}

	if v.restored != nil {
		sink = io.MultiWriter(v.restored, sink)
	}
	n, copyErr := io.CopyBuffer(onlyWriter{sink}, onlyReader{dump}, make([]byte, 256<<10))
	st.plain = n
	if copyErr != nil {
		if tool != nil && errors.Is(copyErr, syscall.EPIPE) {
			// The restore tool stopped reading: its error says why, or
			// the restore it wrote into (read only once it has exited).
			if err := tool.Wait(); err != nil {
				if plain != nil && plain.Err() != nil {
					return st, checksumFirst(r, m, fmt.Errorf("restoring: %w", plain.Err()))
				}
				return st, fmt.Errorf("%s failed (%v)%s", tool.Args[0], err, toolErr.lastLine(": "))
			}
		}
		if tool == nil && plain != nil && plain.Err() != nil {
			return st, checksumFirst(r, m, fmt.Errorf("restoring: %w", plain.Err()))
		}
		return st, checksumFirst(r, m, streamErr(copyErr))
	}
	// The decompressor may stop at the end of its stream: read the rest so
	// the padding and the whole object's checksum are checked.
	if _, err := io.Copy(io.Discard, dec); err != nil {
		return st, checksumFirst(r, m, streamErr(err))
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return st, streamErr(err)
	}
	res := r.Result()
	if m != nil {
		if err := m.Check(res.Size, res.SHA256); err != nil {
			return st, err
		}
	}
	if tool != nil {
		toolIn.Close()
		if err := tool.Wait(); err != nil {
			if plain != nil && plain.Err() != nil {
				return st, fmt.Errorf("restoring: %w", plain.Err())
			}
			return st, fmt.Errorf("%s failed (%v)%s", tool.Args[0], err, toolErr.lastLine(": "))
		}
	}
	if counter != nil {
		if !counter.Complete() {
			return st, fmt.Errorf("the dump is incomplete: it does not end with %q", completion(b))
		}
		if err := counter.Problem(); err != nil {
			return st, fmt.Errorf("the dump holds %v, which pg_dump never writes and psql would read otherwise than it is written", err)
		}
		if err := counter.Uncounted(); err != nil {
			return st, err
		}
		rows := counter.Rows()
		st.tables = int64(len(rows))
		for _, c := range rows {
			st.rows += c
		}
		if info != nil && info.Rows != nil {
			if err := compareRows("the dump", rows, info.Rows); err != nil {
				return st, err
			}
		}
		if plain != nil {
			got, err := plain.CountRows(counter.Tables())
			if err != nil {
				return st, fmt.Errorf("restoring: %w", err)
			}
			if err := compareRows("the restored database", got, rows); err != nil {
				return st, err
			}
		}
	}
	if info != nil && info.PlainSize != 0 && info.PlainSize != st.plain {
		return st, fmt.Errorf("the dump has %d bytes, the manifest says %d", st.plain, info.PlainSize)
	}
	if v.commit && plain != nil {
		if err := plain.Commit(); err != nil {
			return st, fmt.Errorf("restoring: %w", err)
		}
	}
	return st, nil
}

// checksumFirst reports a mismatch with the manifest, when there is one,
// rather than the decryption or decompression error it caused: it names
// the cause (the object changed) instead of a symptom.
func checksumFirst(r *s3stream.Reader, m *s3stream.Manifest, err error) error {
	if m == nil {
		return err
	}
	var ce *s3stream.ChecksumError
	if errors.As(err, &ce) {
		return err
	}
	if _, derr := io.Copy(io.Discard, r); derr != nil {
		if errors.As(derr, &ce) {
			return fmt.Errorf("%w; %v", derr, err)
		}
		return err
	}
	res := r.Result()
	if cerr := m.Check(res.Size, res.SHA256); cerr != nil {
		return fmt.Errorf("%w; %v", cerr, err)
	}
	return err
}

func compareRows(what string, got, want map[string]int64) error {
	var diffs []string
	for _, n := range dumpstat.SortedTables(want) {
		if g, ok := got[n]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s missing", n))
		} else if g != want[n] {
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, want %d", n, g, want[n]))
		}
	}
	for _, n := range dumpstat.SortedTables(got) {
		if _, ok := want[n]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s not in the manifest", n))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return fmt.Errorf("row counts of %s differ from the manifest: %s", what, strings.Join(diffs, "; "))
}

// restoreEnv is the environment of the restore tools: the operator's libpq
// settings (the scratch database's password comes from PGPASSWORD or a
// pgpass file, never from the command line) without the job's secrets.
func restoreEnv() []string {
	env := childEnv("")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PG") && !strings.HasPrefix(name, "PGSSL") &&
			name != config.EnvPgpassBase64 && name != config.EnvPgpassFile && name != config.EnvPgDump && name != config.EnvPgDumpArgs {
			env = append(env, kv)
		}
	}
	return env
}

func decryptErr(err error) error {
	if errors.Is(err, osslenc.ErrBadMagic) {
		return fmt.Errorf("not an openssl enc file (no Salted__ header): %w", err)
	}
	return err
}

func decompressErr(err error) error {
	if isAgeError(err) {
		return err // age names what failed, before the decompressor saw a byte
	}
	return fmt.Errorf("decompressing failed (%v): wrong password or corrupt object", err)
}

// streamErr names the likely cause of an error in the middle of the stream.
func streamErr(err error) error {
	var ce *s3stream.ChecksumError
	switch {
	case errors.As(err, &ce):
		return err
	case isAgeError(err):
		return err
	case errors.Is(err, osslenc.ErrBadDecrypt):
		return fmt.Errorf("%v (checked the padding of the last block)", err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "flate"), strings.Contains(err.Error(), "zstd"):
		return decompressErr(err)
	}
	return err
}

// CheckConnString refuses a connection string that holds a password: it
// would be visible in the process list of the restore tools.
func CheckConnString(s string) error {
	if s == "" {
		return nil
	}
	l := strings.ToLower(s)
	if regexp.MustCompile(`password\s*=`).MatchString(l) {
		return errors.New("-restore-into: the connection string holds a password; give it in PGPASSWORD or a pgpass file instead")
	}
	if strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
		rest := s[strings.Index(s, "://")+3:]
		if at := strings.IndexByte(rest, '@'); at >= 0 && strings.Contains(rest[:at], ":") {
			return errors.New("-restore-into: the URI holds a password; give it in PGPASSWORD or a pgpass file instead")
		}
	}
	return nil
}

// manifest returns the manifest of b's object from read (catalog.ReadManifests)
// and the job's facts in it (nil when it has none). An object without a
// manifest is checked as a stream alone, with a warning that names what
// cannot be compared. A manifest that describes another object fails: a
// copy of an older backup under a newer name would pass for the newest.
// Its size is compared with the object's bytes as they are read (check),
// whose error names a changed object as such.
func (v *Verifier) manifest(t pgpass.Entry, b catalog.Backup, read map[string]catalog.ManifestRead, uncompared string) (*s3stream.Manifest, *catalog.Info, error) {
	r, ok := read[b.Key]
	if !ok {
		v.Log.PrefixWarn(t.Prefix, fmt.Sprintf("%s has no manifest; checking the stream alone (no %s to compare)", b.Key, uncompared))
		return nil, nil, nil
	}
	if why := catalog.ManifestNames(b, r.M, r.Info); why != "" {
		return nil, nil, fmt.Errorf("s3://%s/%s: %s: it is not the backup its name says (a copy under another name?); remove or rename it",
			v.Settings.Bucket, b.Key, why)
	}
	return r.M, r.Info, nil
}

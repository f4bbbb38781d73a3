// Command iron-streaming-backup is the backup job: for every database of a
// pgpass list it streams pg_dump through compression and openssl-compatible
// (or age) encryption into an S3 object. In runner mode it runs an IronIO payload.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/restore"
	"github.com/philips-labs/iron-streaming-backup/internal/runner"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

const tool = "iron-streaming-backup"

const usage = `Usage:
    iron-streaming-backup [backup] [PREFIX]
    iron-streaming-backup verify [-max-age DURATION] [-restore-into CONNSTRING [-trust-dump]] [PREFIX]
    iron-streaming-backup list [-json] [PREFIX]
    iron-streaming-backup prune [-dry-run] [PREFIX]
    iron-streaming-backup runner [-payload FILE]

Backs up every database of the pgpass list, or only the one named PREFIX
(or the part of the list SHARD selects):
pg_dump → gzip (or zstd) → AES-256-CBC as 'openssl enc' writes it → one S3
object s3://$S3_BUCKET/[$S3_PREFIX]<prefix>-<UTC YYYYmmddHHMMSS>.gz.aes and,
once it is complete, <object>.manifest.json beside it. An object exists only
if pg_dump exited 0 and every stage finished; a failed backup leaves nothing.
With ENCRYPTION=age the stream is encrypted to public keys instead, as
'age' does (objects end in .gz.age): the job then needs no password and
holds nothing that decrypts a backup.

'runner' runs an IronIO payload file (JSON with version, cmd and env; named
by -payload or $PAYLOAD_FILE): it adds the payload's env to the environment,
runs its cmd (e.g. ["/app/backup.sh", "db1"]) and exits with its status.
siderite's other payload fields (type, token, auth, upstream, mode) are
ignored; an unknown or missing version is a warning, a missing cmd an error.

'verify' checks the newest backup of every database of the list (or of
PREFIX), with the same environment as a backup: it streams the object
through download, decryption and decompression and checks the manifest's
size and SHA-256, the padding (openssl) or each chunk's authentication
(age), the compression stream, and that the dump is complete (plain:
pg_dump's last line and the row count of every table; custom: pg_restore
reads it), and checks the backup's globals the same way (pg_dumpall's last
line; with DUMP_GLOBALS=true a backup without them fails). A missing
manifest is a warning; the stream is still checked. A manifest that
describes another object (another key's name, or a start time more than
5 minutes from the key's) fails: a copy of an older backup under a newer
name does not pass for the newest. An age backup is decrypted with
AGE_IDENTITY_FILE; without it verify checks only the size and SHA-256 of
the objects against their manifests and says that the content was not
checked.
    -max-age DURATION    fail when the newest backup is older, e.g. 26h,
                         so that a scheduler notices backups that stopped
    -restore-into CONNSTRING
                         also restore it into this empty scratch database
                         (libpq connection string without a password: use
                         PGPASSWORD or a pgpass file), count the rows of
                         every table inside the restore's one transaction,
                         and roll it back; neither psql nor pg_restore
                         connects: backslash commands and statements that
                         reach beyond the target (CREATE/DROP DATABASE,
                         roles, ALTER SYSTEM, COPY … PROGRAM, DO) are
                         refused. Connect as a role that owns the scratch
                         database and nothing else, and is no superuser,
                         has no CREATEROLE or REPLICATION and no
                         pg_execute_server_program, pg_*_server_files,
                         pg_signal_backend or pg_create_subscription: the
                         dump's functions and checks run as that role.
                         Ownership and privileges are left out, as
                         pg_restore --no-owner --no-privileges does
    -trust-dump          restore as any role, superuser included, with the
                         dump's ownership and privileges: only when you trust
                         everyone who could change the dumped database

'list' prints the backups in the bucket (S3_BUCKET, S3_PREFIX), newest first
per prefix: start time, age, size, whether a manifest exists (MISMATCH,
with a warning, when it describes another object), whether it has
globals (a GLOBALS column, when any backup has them), and the key.
It needs no database list or password. -json prints a JSON array. With
retention rules set, a RETENTION column (JSON: keep, kept_by) says whether
the rules keep each backup and which rule does ('-' for a prefix that is
not in the environment's list, which is never pruned).

Retention (off unless a KEEP_ setting is set; restic forget's rules): after
each backup that was committed with its manifest, the job deletes that
prefix's backups that no rule keeps, with their manifests and companion
objects. A backup is kept when any rule keeps it; each rule counts on its
own. Periods are UTC, from the time in the key, and count from the
backups that exist, not from the clock. The newest backup with a manifest
is always kept, and so is the backup this run made; a backup dated ahead
of the clock, or whose manifest describes another object, is never
counted or deleted; a failed backup prunes nothing of its prefix. Only
keys [S3_PREFIX]<prefix>-<UTC YYYYmmddHHMMSS><endings> of the list's
prefixes are candidates. A delete the store refuses is a warning and
never fails a backup (prune exits 1). KEEP_ values of 0 are the same as
unset.
    KEEP_LAST=n          the n newest backups
    KEEP_HOURLY=n, KEEP_DAILY=n, KEEP_WEEKLY=n, KEEP_MONTHLY=n, KEEP_YEARLY=n
                         the newest backup of each of the n newest hours,
                         days, ISO weeks, months, years that have one
    KEEP_WITHIN=DURATION every backup newer than the newest minus DURATION:
                         years y, months m, days d, hours h (36h, 30d, 1y2m)

'prune' applies the rules to the backups of every prefix of the list (or
of PREFIX) without backing up, with the same environment as a backup
(it reads no encryption password or age identity).
Without any KEEP_ setting it refuses to run (exit 2).
    -dry-run             print the keys it would delete on stdout, one per
                         line, and delete nothing

Environment (the original image's):
    PGPASS_FILE_BASE64   the pgpass list, base64: host:port:database:user:password:prefix[:ignore]
    PGPASS_FILE          a file holding the list, instead of PGPASS_FILE_BASE64
    PASS_FILE_BASE64     the encryption password, base64 (first line counts)
    PASSWORD_FILE        a file holding the password, instead of PASS_FILE_BASE64
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                         S3 credentials (or any source of the AWS SDK's chain)
    S3_BUCKET            the bucket

Optional settings (default):
    S3_PREFIX            folder for the objects, e.g. nightly/ (none)
    S3_PATH_STYLE        true for path-style S3 addressing (false)
    S3_STORAGE_CLASS     storage class of the objects (the bucket's default)
    S3_SSE, S3_SSE_KMS_KEY_ID
                         server-side encryption: AES256 or aws:kms [key id] (none)
    AWS_REGION (AWS_DEFAULT_REGION), AWS_ENDPOINT_URL (AWS_ENDPOINT_URL_S3),
    AWS_PROFILE          as for every AWS tool (region found from the bucket)
    COMPRESSION          gzip or zstd; zstd objects end in .zst.aes (gzip)
    COMPRESSION_LEVEL    gzip 1-9, zstd 1-4 (gzip 3, zstd 2)
    ENCRYPTION_KDF       ENCRYPTION=openssl: evp (openssl enc's default key
                         derivation) or pbkdf2 (evp)
    ENCRYPTION_ITER      ENCRYPTION=openssl: PBKDF2 iterations (600000)
    ENCRYPTION           openssl or age; age objects end in .gz.age and need no
                         password, only recipients (openssl)
    AGE_RECIPIENTS       ENCRYPTION=age: public keys, one per line: age1... (from
                         age-keygen), ssh-ed25519 or ssh-rsa; # comments (none)
    AGE_RECIPIENTS_FILE  a file holding them, instead of AGE_RECIPIENTS (none)
    AGE_IDENTITY_FILE    verify only: an age identities file or OpenSSH private
                         key that decrypts age backups; never give it to a
                         backup (none: age backups are checked by size and SHA-256)
    PARALLEL             databases backed up at once (1)
    DUMP_FORMAT          plain or custom; custom objects end in .dump.gz.aes (plain)
    PG_DUMP_ARGS         extra pg_dump options, --name=value, split at spaces (none)
    PG_DUMP              one pg_dump for every server (the installed client
                         that fits each server; pg_dump from PATH where none)
    DUMP_GLOBALS         true: with each dump also store pg_dumpall --globals-only
                         of its server (roles, memberships, role settings,
                         tablespaces) as
                         <prefix>-<same time>.globals.gz.aes; without role
                         passwords where the login may not read them (false)
    S3_MAX_MEMORY        cap on one upload's part buffers; objects up to about
                         4096 x half of it fit (256MiB: about 1 TiB) (256MiB)
    SHARD                INDEX/COUNT (0-based, e.g. 2/8): back up only this
                         part of the list (none)
    SHARD_COUNT          the number of parts, when JOB_COMPLETION_INDEX (a
                         Kubernetes Indexed Job) gives the index (none)
    LOG_FORMAT           text or json (text)
    PROGRESS_INTERVAL    how often a running backup logs progress; 0: never (1m)

Monitoring (optional, each independent; backup and verify report to them,
and a monitor that fails is a warning, never a failed run):
    HEALTHCHECK_URL      pinged (POST) at URL/start, then at URL when every
                         database succeeded or URL/fail with the result lines,
                         as healthchecks.io expects (none)
    WEBHOOK_URL          gets a JSON report of the run by POST, with a "text"
                         summary chat webhooks show (none)
    WEBHOOK_HEADERS      extra headers for it, "Name: value" a line, e.g.
                         Authorization: Bearer TOKEN (none)
    PUSHGATEWAY_URL      Prometheus Pushgateway for the run's metrics,
                         iron_streaming_backup_*, a group per prefix (none)
    METRICS_FILE         the same metrics written to this file for
                         node_exporter's textfile collector (none)

Options:
    -h                   show this help
    -version             print the version
    -cpuprofile FILE     write a Go CPU profile of the run to FILE

Exit status:
    0  every selected database was backed up (verify: every backup checked out;
       prune: every delete done)
    1  at least one backup (or verification) failed, one line each on stderr
       (prune: a listing failed or the store refused a delete)
    2  bad settings or arguments (prune: also no KEEP_ setting), found before
       any pg_dump started or any delete was made (also a bucket that does
       not exist, or credentials S3 does not accept); nothing was backed up
       or deleted
    In runner mode: the exit status of the payload's cmd.

Restore (the key in KEYFILE):
    aws s3 cp s3://BUCKET/db1-20261127060000.gz.aes - \
      | openssl enc -d -aes-256-cbc -pass file:KEYFILE | gzip -d | psql -d NEWDB
    s3get s3://BUCKET/db1-20261127060000.gz.aes \
      | osslenc -d -pass file:KEYFILE | gzip -d | psql -d NEWDB
ENCRYPTION=age (an identity of one of the recipients in key.txt):
    aws s3 cp s3://BUCKET/db1-20261127060000.gz.age - \
      | age -d -i key.txt | gzip -d | psql -d NEWDB
`

func main() {
	cli.TightGC()
	cli.Main(tool, cli.WithScrubbedArgs(withHints(run)))
}

// withHints adds to run's error the hint that names the setting behind
// its kind of S3 failure, unless it has one already.
func withHints(run cli.RunFunc) cli.RunFunc {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		err := run(ctx, args, stdin, stdout, stderr)
		if h := backup.Hint(err); h != "" && !slices.Contains(cli.Hints(err), h) {
			return cli.WithHint(err, "%s", h)
		}
		return err
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool, usage, stderr)
	version := fs.Bool("version", false, "")
	cpuprofile := fs.String("cpuprofile", "", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *version {
		fmt.Fprintln(stdout, tool, cli.Version())
		return nil
	}
	args = fs.Args()
	if len(args) > 0 {
		switch args[0] {
		case "runner":
			return runPayload(args[1:], stdin, stdout, stderr)
		case "backup":
			args = args[1:]
		case "verify":
			return runVerify(ctx, args[1:], stderr)
		case "list":
			return runList(ctx, args[1:], stdout, stderr)
		case "prune":
			return runPrune(ctx, args[1:], stdout, stderr)
		}
	}
	if len(args) > 1 {
		return cli.WithHint(cli.Usagef("too many arguments: %s", cli.Args(args)), "give at most one prefix")
	}
	only := ""
	if len(args) == 1 {
		only = args[0]
	}
	return runBackup(ctx, only, stderr)
}

// load reads the job's settings for an action and makes its S3 client. A
// nil Settings with a nil error means there is nothing to do (the selected
// prefix is marked ignore), which has been said on stderr.
func load(ctx context.Context, only, action string, stderr io.Writer) (*backup.Settings, *s3.Client, error) {
	loader := backup.Load
	switch action {
	case "back up":
		loader = backup.LoadBackup
	case "prune":
		loader = backup.LoadPrune
	}
	s, err := loader(os.Getenv, only)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	log := backup.NewLogger(stderr, tool, s.JSONLogs)
	for _, w := range s.Warnings {
		log.Warn(w)
	}
	if s.Skipped != "" {
		fmt.Fprintf(stderr, "%s: %s: nothing to %s\n", tool, s.Skipped, action)
		return nil, nil, nil
	}
	client, err := s3stream.NewClient(ctx, s3stream.Config{PathStyle: s.PathStyle, Bucket: s.Bucket})
	if err != nil {
		// The AWS configuration (profile, region, endpoint) is settings.
		return nil, nil, cli.Usage(err)
	}
	return s, client, nil
}

func runBackup(ctx context.Context, only string, stderr io.Writer) error {
	s, client, err := load(ctx, only, "back up", stderr)
	if s == nil {
		return err
	}
	job := &backup.Job{Settings: s, Client: client, Log: backup.NewLogger(stderr, tool, s.JSONLogs), Version: cli.Version()}
	mon := startMonitor(ctx, "backup", s, job.Log)
	results, err := job.Run(ctx)
	mon.finishBackup(ctx, results, err)
	var bad *backup.SettingsError
	switch {
	case err == nil:
		return nil
	case results == nil && errors.As(err, &bad):
		return cli.Usage(err) // found before anything ran
	case results == nil:
		return err
	}
	return cli.Silent(false) // every failure and the summary are logged
}

func runPayload(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" runner", usage, stderr)
	path := fs.String("payload", os.Getenv(runner.EnvPayloadFile), "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("runner takes no arguments; the payload's cmd names what to run")
	}
	if *path == "" {
		return cli.WithHint(cli.Usagef("no payload file: set %s or give -payload FILE", runner.EnvPayloadFile),
			"IronIO sets %s for every task; elsewhere pass the payload.json you scheduled", runner.EnvPayloadFile)
	}
	p, err := runner.Read(*path)
	if err != nil {
		return cli.Usage(err)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", tool, w)
	}
	code, err := p.Run(stdin, stdout, stderr)
	if err != nil {
		return err
	}
	return cli.ExitCode(code)
}

func runVerify(ctx context.Context, args []string, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" verify", usage, stderr)
	maxAge := fs.Duration("max-age", 0, "")
	into := fs.String("restore-into", "", "")
	trust := fs.Bool("trust-dump", false, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *trust && *into == "" {
		return cli.Usagef("-trust-dump is for -restore-into")
	}
	if fs.NArg() > 1 {
		return cli.Usagef("verify: too many arguments: %s", cli.Args(fs.Args()))
	}
	if *maxAge < 0 {
		return cli.Usagef("-max-age %v: must be positive", *maxAge)
	}
	if err := backup.CheckConnString(*into); err != nil {
		return cli.Usage(err)
	}
	s, client, err := load(ctx, fs.Arg(0), "verify", stderr)
	if s == nil {
		return err
	}
	if *into != "" && len(s.Targets) != 1 {
		return cli.Usagef("-restore-into restores one backup: name its prefix (the list has %d)", len(s.Targets))
	}
	if *into != "" && s.Encryption == "age" && !s.HasIdentity() {
		return cli.WithHint(cli.Usagef("-restore-into needs AGE_IDENTITY_FILE to decrypt age backups"),
			"name a file with an identity of the backups' recipients; restore on a machine that may hold it")
	}
	log := backup.NewLogger(stderr, tool, s.JSONLogs)
	if *into != "" {
		if err := checkRestoreRole(ctx, *into, *trust, log); err != nil {
			return err
		}
	}
	v := &backup.Verifier{Settings: s, Client: client, Log: log, MaxAge: *maxAge, RestoreInto: *into, TrustDump: *trust}
	mon := startMonitor(ctx, "verify", s, v.Log)
	err = v.Run(ctx)
	mon.finishVerify(ctx, v.Errs, err)
	if err != nil {
		return cli.Silent(false) // each failure is logged
	}
	return nil
}

// checkRestoreRole refuses, unless the dump is trusted, to restore as a
// role that may do more than a database owner: the dump's code runs as
// that role (see package restore).
func checkRestoreRole(ctx context.Context, conn string, trust bool, log *backup.Logger) error {
	role, err := restore.RoleOf(ctx, conn)
	if err != nil {
		return fmt.Errorf("-restore-into: %w", err)
	}
	rerr := role.Err()
	switch {
	case rerr == nil:
		return nil
	case !trust:
		return cli.WithHint(cli.Usage(rerr),
			"as a superuser: CREATE ROLE restorer LOGIN; CREATE DATABASE scratch OWNER restorer; then -restore-into 'dbname=scratch user=restorer' (docs/restore.md#restoring-safely)")
	}
	log.Warn(fmt.Sprintf("-trust-dump: restoring as %s, which %s: the dump's code runs with these rights", role.Name, strings.Join(role.Reasons, ", ")))
	return nil
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" list", usage, stderr)
	asJSON := fs.Bool("json", false, "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return cli.Usagef("list: too many arguments: %s", cli.Args(fs.Args()))
	}
	// Listing needs no database list, but a scheduled "backup.sh list"
	// may be meant as the backup of a database whose prefix is "list".
	if err := backup.CheckCommandPrefixes(os.Getenv); err != nil {
		return cli.Usage(err)
	}
	s, err := backup.LoadStorage(os.Getenv)
	rules, rerr := backup.LoadRules(os.Getenv)
	if err != nil || rerr != nil {
		return cli.Usage(errors.Join(err, rerr))
	}
	client, err := s3stream.NewClient(ctx, s3stream.Config{PathStyle: s.PathStyle, Bucket: s.Bucket})
	if err != nil {
		return cli.Usage(err)
	}
	cat, err := catalog.Catalog(ctx, client, s.Bucket, s.KeyPrefix, fs.Arg(0))
	if err != nil {
		return err
	}
	prefixes := make([]string, 0, len(cat))
	for p := range cat {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	// A key's name proves nothing: its manifest tells a copy of an older
	// backup under a newer name.
	all := make([][]catalog.Backup, len(prefixes))
	for i, p := range prefixes {
		all[i] = cat[p]
	}
	if err := catalog.CheckManifests(ctx, client, s.Bucket, all...); err != nil {
		return err
	}
	now := time.Now()
	// What the retention rules say of each backup, when rules are set.
	// With a list in the environment, only its prefixes are pruned: the
	// others' backups get no verdict.
	decided := map[string]catalog.Decision{}
	if rules.IsSet() {
		pruned := prunedPrefixes(os.Getenv)
		for p, bs := range cat {
			if pruned != nil && !pruned[p] {
				continue
			}
			for _, d := range rules.Apply(bs, now) {
				decided[d.Backup.Key] = d
			}
		}
	}
	if *asJSON {
		type entry struct {
			Prefix      string    `json:"prefix"`
			Key         string    `json:"key"`
			Started     time.Time `json:"started"`
			AgeSeconds  int64     `json:"age_seconds"`
			Size        int64     `json:"size"`
			Compression string    `json:"compression"`
			Format      string    `json:"format"`
			Encryption  string    `json:"encryption"`
			Manifest    bool      `json:"manifest"`
			Future      bool      `json:"future,omitempty"`
			// Companions are the objects stored with it: "globals".
			Companions map[string]companionEntry `json:"companions,omitempty"`
			Keep       *bool                     `json:"keep,omitempty"`    // with retention rules: whether they keep it
			KeptBy     []string                  `json:"kept_by,omitempty"` // and by which
			// ManifestMismatch says how its manifest describes another
			// object (catalog.Backup.Mismatch).
			ManifestMismatch string `json:"manifest_mismatch,omitempty"`
		}
		list := []entry{}
		for _, p := range prefixes {
			for _, b := range cat[p] {
				e := entry{b.Prefix, b.Key, b.Time, int64(now.Sub(b.Time).Seconds()), b.Size, b.Compression, b.Format, b.Encryption, b.HasManifest, b.Future(now), companionsJSON(b), nil, nil, b.Mismatch}
				if d, ok := decided[b.Key]; ok {
					e.Keep = &d.Keep
					if d.Keep {
						e.KeptBy = d.Why
					}
				}
				list = append(list, e)
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(prefixes) == 0 {
		fmt.Fprintf(stderr, "%s: no backups in s3://%s/%s\n", tool, s.Bucket, s.KeyPrefix)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	extra := companionColumns(cat, prefixes)
	retention := ""
	if rules.IsSet() {
		retention = "RETENTION\t"
	}
	fmt.Fprintln(tw, "PREFIX\tSTARTED (UTC)\tAGE\tSIZE\tMANIFEST\t"+companionHeads(extra)+retention+"KEY")
	var future []string
	var mismatched []catalog.Backup // dumps and companions, each once
	warned := map[string]bool{}
	for _, p := range prefixes {
		for _, b := range cat[p] {
			m := "no"
			if b.HasManifest {
				m = "yes"
			}
			if b.Mismatch != "" {
				m = "MISMATCH"
			}
			for _, o := range append([]catalog.Backup{b}, b.Companions...) {
				if o.Mismatch != "" && !warned[o.Key] {
					warned[o.Key] = true
					mismatched = append(mismatched, o)
				}
			}
			age := catalog.Age(now, b.Time)
			if b.Future(now) {
				age = "FUTURE: " + age
				future = append(future, b.Key)
			}
			keep := ""
			if d, ok := decided[b.Key]; ok {
				keep = keepColumn(d) + "\t"
			} else if rules.IsSet() {
				keep = "-\t" // not in the list: never pruned
			}
			// Keys are anyone's who may write to the bucket: a terminal
			// escape in one must not rewrite what the table shows.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%s%s\n", backup.Printable(b.Prefix), b.Time.Format("2006-01-02 15:04:05"), age, units.FormatSize(b.Size), m, companionCells(b, extra), keep, backup.Printable(b.Key))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range future {
		fmt.Fprintf(stderr, "%s: warning: %s is dated ahead of this machine's clock; verify fails until it is removed or renamed\n", tool, backup.Printable(k))
	}
	for _, b := range mismatched {
		fmt.Fprintf(stderr, "%s: warning: %s: %s; it is not the backup its name says: retention leaves it alone, verify fails it\n", tool, backup.Printable(b.Key), backup.Printable(b.Mismatch))
	}
	return nil
}

// Command iron-streaming-backup is the backup job: for every database of a
// pgpass list it streams pg_dump through compression and openssl-compatible
// (or age) encryption into an S3 object. In runner mode it runs an IronIO payload.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream/s3cli"
)

const tool = "iron-streaming-backup"

// usage is -h; the settings' lines come from config.Table.
var usage = `Usage:
    iron-streaming-backup [backup] [PREFIX]
    iron-streaming-backup verify [-max-age DURATION] [-require-lock DAYS] [-restore-into CONNSTRING [-trust-dump]] [PREFIX]
    iron-streaming-backup restore PREFIX -into CONNSTRING [-at TIME | -key KEY]
        [-create] [-clean] [-globals [-globals-as CONNSTRING] [-globals-passwords]]
        [-dry-run] [-force-unverified] [-trust-dump]
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
    -require-lock DAYS   fail when the newest backup's object is not locked
                         (S3 Object Lock) for at least this long from now:
                         days (7) or a duration (36h)
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

'restore' restores one backup of PREFIX into a database: the newest that
started at or before -at (now without it), or the object -key names. Only
a backup whose manifest describes it qualifies; the chosen one, and why
any other at or before -at was passed over, are logged before anything is
written. It streams like verify -restore-into, into one transaction that
is committed only when the object matched its manifest's size and SHA-256,
the dump was complete and every table's rows match the dump's; anything
less leaves the target as it was. It needs no database list.
    -into CONNSTRING     the target database (libpq connection string or
                         URI without a password: use PGPASSWORD or a pgpass
                         file); it must be empty. Connect as a role that owns
                         it and nothing else (see -restore-into above)
    -at TIME             2026-11-27T06:00:00Z, 2026-11-27T06:00 (UTC),
                         2026-11-27 (that day's newest) or how long ago: 36h, 7d
    -key KEY             this object (its name, or its key in the bucket)
    -create              create the target database when it does not exist
                         (the role needs CREATEDB); dropped again if the
                         restore fails
    -clean               drop what the restoring role owns in the target
                         first, in the same transaction
    -globals             restore the backup's roles (its .globals object,
                         DUMP_GLOBALS=true) first, committed before the
                         dump: roles that exist are left as they are; no
                         role is given SUPERUSER, CREATEROLE, REPLICATION or
                         BYPASSRLS (left out of its ALTER ROLE) or made a
                         member of a role that existed before (skipped);
                         tablespaces are skipped. Roles it created are
                         dropped if the dump fails
    -globals-as CONNSTRING
                         the connection that restores the roles: a role with
                         CREATEROLE, not a superuser unless -trust-dump
                         (default: -into's, to the postgres database)
    -globals-passwords   also change roles that exist: their attributes,
                         settings and passwords become the backup's
    -dry-run             log the choice, print the stock tools' one-liner
                         that restores it on stdout, and restore nothing
    -force-unverified    a backup without a manifest, or whose size differs
                         from it, may be chosen
    -trust-dump          as for verify: any role, the dump's ownership and
                         privileges (and the globals' roles as they are)
There is no -jobs: a parallel pg_restore needs the dump as a file on disk
and a connection per job, and cannot be rolled back as one transaction.

'list' prints the backups in the bucket (S3_BUCKET, S3_PREFIX), newest first
per prefix: start time, age, size, whether a manifest exists (MISMATCH,
with a warning, when it describes another object), whether it has
globals (a GLOBALS column, when any backup has them), its object lock (a
LOCK column, in a bucket with Object Lock), and the key.
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
` + config.Usage(config.Retention) + `
'prune' applies the rules to the backups of every prefix of the list (or
of PREFIX) without backing up, with the same environment as a backup
(it reads no encryption password or age identity).
Without any KEEP_ setting it refuses to run (exit 2).
    -dry-run             print the keys it would delete on stdout, one per
                         line, and delete nothing

Environment (the original image's):
` + config.Usage(config.Original) + `
Optional settings (default):
` + config.Usage(config.Optional) + `
Monitoring (optional, each independent; backup and verify report to them,
and a monitor that fails is a warning, never a failed run):
` + config.Usage(config.Monitoring) + `
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
       not exist, credentials S3 does not accept, or credentials that may
       not write to the bucket); nothing was backed up or deleted
    In runner mode: the exit status of the payload's cmd.

Restore, checked, in one transaction (see 'restore' above):
    iron-streaming-backup restore db1 -into 'dbname=NEWDB user=restorer' -create
With stock tools (the key in KEYFILE):
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
	cli.Main(tool, cli.WithScrubbedArgs(s3cli.WithHints(run, config.S3Words)))
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
		if c, ok := commands[args[0]]; ok {
			return c(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	return runBackup(ctx, args, stdin, stdout, stderr)
}

// commands are the job's actions by the word that selects them; without
// one, the arguments are a backup's. The words are cli.JobCommands, which
// no prefix of a list may be.
var commands = map[string]cli.RunFunc{
	"backup":  runBackup,
	"list":    runList,
	"prune":   runPrune,
	"restore": runRestore,
	"runner":  runPayload,
	"verify":  runVerify,
}

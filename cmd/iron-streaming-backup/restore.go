package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/restore"
)

// restoreArgs are restore's command line.
type restoreArgs struct {
	prefix, into, key                   string
	at                                  time.Time // zero: now
	create, clean, force, trust, dryRun bool
	globals, globalsPasswords           bool
	globalsAs                           string
}

// parseRestoreArgs reads restore's command line; the prefix may come
// before the flags, as in "restore db1 -into …".
func parseRestoreArgs(args []string, stderr io.Writer) (*restoreArgs, error) {
	a := &restoreArgs{}
	fs := cli.NewFlagSet(tool+" restore", usage, stderr)
	fs.StringVar(&a.into, "into", "", "")
	at := fs.String("at", "", "")
	fs.StringVar(&a.key, "key", "", "")
	fs.BoolVar(&a.create, "create", false, "")
	fs.BoolVar(&a.clean, "clean", false, "")
	fs.BoolVar(&a.force, "force-unverified", false, "")
	fs.BoolVar(&a.trust, "trust-dump", false, "")
	fs.BoolVar(&a.dryRun, "dry-run", false, "")
	fs.BoolVar(&a.globals, "globals", false, "")
	fs.BoolVar(&a.globalsPasswords, "globals-passwords", false, "")
	fs.StringVar(&a.globalsAs, "globals-as", "", "")
	jobs := fs.String("jobs", "", "")
	fs.Lookup("jobs").DefValue = "" // not in -h
	var prefixes []string
	for {
		if err := cli.Parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		prefixes = append(prefixes, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(prefixes) == 0:
		return nil, cli.WithHint(cli.Usagef("restore: name the prefix whose backup to restore"), "e.g. %s restore db1 -into 'dbname=db1_restored' -create", tool)
	case len(prefixes) > 1:
		return nil, cli.Usagef("restore: too many arguments: %s", cli.Args(prefixes))
	case a.into == "":
		return nil, cli.WithHint(cli.Usagef("restore: -into names the target database"), "a libpq connection string or URI without a password, e.g. -into 'host=db.example.com dbname=shop_restored user=restorer'")
	case *at != "" && a.key != "":
		return nil, cli.Usagef("restore: give -at or -key, not both")
	case *jobs != "":
		return nil, cli.WithHint(cli.Usagef("restore: -jobs: a restore streams the dump into one transaction on one connection, so that it commits whole or not at all; a parallel pg_restore needs the dump as a file on disk and a connection per job"),
			"for a parallel restore, copy the object and restore it with pg_restore -j (docs/restore.md#what-the-command-does-not-do)")
	}
	a.prefix = prefixes[0]
	if *at != "" {
		var err error
		if a.at, err = catalog.ParseAt(*at, time.Now()); err != nil {
			return nil, cli.Usage(err)
		}
	}
	return a, nil
}

// runRestore restores one backup of a prefix into a database: the newest
// at or before -at, or the one -key names.
func runRestore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	a, err := parseRestoreArgs(args, stderr)
	if err != nil {
		return err
	}
	s, client, err := load(ctx, config.ForRestore, a.prefix, "restore", stderr)
	if s == nil {
		return err
	}
	log := backup.NewLogger(stderr, tool, s.JSONLogs)
	r := &backup.Restorer{Settings: s, Client: client, Log: log, Into: a.into, At: a.at, Key: a.key, Force: a.force,
		TrustDump: a.trust, Create: a.create, Clean: a.clean, DryRun: a.dryRun,
		Globals: a.globals, GlobalsPasswords: a.globalsPasswords, GlobalsAs: a.globalsAs}
	if err := r.Check(); err != nil {
		return cli.Usage(err)
	}
	if s.Encryption == "age" && !s.HasIdentity() && !a.dryRun {
		// The backup's own encryption decides; the settings' is a
		// likely guess, checked again when the object is read.
		log.Warn(fmt.Sprintf("%s is not set: an age backup cannot be decrypted without it", config.EnvAgeIdentity))
	}
	if a.trust {
		if err := warnTrusted(ctx, a.into, a.create, log); err != nil {
			return err
		}
	}
	if a.dryRun {
		if err := r.Run(ctx); err != nil {
			return restoreErr(err, s.Targets[0].Prefix, a.trust)
		}
		fmt.Fprintln(stdout, r.StockCommand)
		return nil
	}
	mon := startMonitor(ctx, "restore", s, log)
	err = r.Run(ctx)
	mon.finishVerify(ctx, []error{err}, err)
	if err == nil {
		return nil
	}
	if rerr := restoreErr(err, s.Targets[0].Prefix, a.trust); rerr != err {
		return rerr
	}
	log.Failed(s.Targets[0], err)
	return cli.Silent(false)
}

// restoreErr is err with its exit status and hint where they are not the
// failure of a restore that started (exit 1, logged): a refusal found
// before anything was written is a usage error (exit 2).
func restoreErr(err error, prefix string, trust bool) error {
	switch {
	case errors.Is(err, restore.ErrRefused) && !trust:
		return cli.WithHint(cli.Usage(err),
			"as a superuser: CREATE ROLE restorer LOGIN CREATEDB; then restore with -into 'dbname=NAME user=restorer' -create (docs/restore.md#restoring-safely)")
	case errors.Is(err, backup.ErrTargetNotEmpty):
		return cli.Usage(err)
	case errors.Is(err, restore.ErrRefused) && errors.Is(err, backup.ErrGlobals):
		return cli.WithHint(cli.Usage(err), "as a superuser: CREATE ROLE role_admin LOGIN CREATEROLE; then restore with -globals-as 'dbname=postgres user=role_admin' (docs/restore.md#roles-with-the-restore-command)")
	case errors.Is(err, backup.ErrNoGlobals):
		return cli.WithHint(err, "'%s list %s' shows which backups have globals", tool, prefix)
	case errors.Is(err, catalog.ErrNoBackup):
		return cli.WithHint(err, "'%s list %s' shows the backups and whether their manifests match", tool, prefix)
	}
	return err
}

// warnTrusted says, for -trust-dump, what the restoring role may do that
// the dump's code may then do too.
func warnTrusted(ctx context.Context, into string, create bool, log *backup.Logger) error {
	role, err := restore.RoleOf(ctx, into)
	if err != nil {
		if create {
			return nil // the target does not exist yet; the role is checked when it does
		}
		return fmt.Errorf("-into: %w", err)
	}
	if len(role.Reasons) > 0 {
		log.Warn(fmt.Sprintf("-trust-dump: restoring as %s, which %s: the dump's code runs with these rights", role.Name, strings.Join(role.Reasons, ", ")))
	}
	return nil
}

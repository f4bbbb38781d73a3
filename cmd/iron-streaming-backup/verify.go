package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/restore"
)

// runVerify checks the newest backup of every target, or of the one
// args name, and with -restore-into restores it into a scratch database.
func runVerify(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" verify", usage, stderr)
	maxAge := fs.Duration("max-age", 0, "")
	into := fs.String("restore-into", "", "")
	trust := fs.Bool("trust-dump", false, "")
	requireLock := fs.String("require-lock", "", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var lockFor time.Duration
	if *requireLock != "" {
		d, err := config.ParseLockDuration(*requireLock)
		if err != nil {
			return cli.Usagef("-require-lock %q: %v; give how long the newest backup must still be locked, in days (7) or as a duration (7d, 36h)", *requireLock, err)
		}
		lockFor = d
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
	s, client, err := load(ctx, config.ForVerify, fs.Arg(0), "verify", stderr)
	if s == nil {
		return err
	}
	if s.Targets, err = backup.BucketTargets(ctx, client, s); err != nil {
		return err
	}
	log := backup.NewLogger(stderr, tool, s.JSONLogs)
	v := &backup.Verifier{Settings: s, Client: client, Log: log, MaxAge: *maxAge, RestoreInto: *into, TrustDump: *trust, RequireLock: lockFor}
	if err := v.Check(); errors.Is(err, backup.ErrNoIdentity) {
		return cli.WithHint(cli.Usage(err), "name a file with an identity of the backups' recipients; restore on a machine that may hold it")
	} else if err != nil {
		return cli.Usage(err)
	}
	if *into != "" {
		if err := checkRestoreRole(ctx, *into, *trust, log); err != nil {
			return err
		}
	}
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

package main

import (
	"context"
	"errors"
	"io"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
)

// runBackup backs up every target of the list, or the one args name.
func runBackup(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	if len(args) > 1 {
		return cli.WithHint(cli.Usagef("too many arguments: %s", cli.Args(args)), "give at most one prefix")
	}
	only := ""
	if len(args) == 1 {
		only = args[0]
	}
	s, client, err := load(ctx, config.ForBackup, only, "back up", stderr)
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

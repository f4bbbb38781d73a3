package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/runner"
)

// runPayload runs an IronIO payload file: its env added to the
// environment, its cmd run, its exit status returned.
func runPayload(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet(tool+" runner", usage, stderr)
	path := fs.String("payload", os.Getenv(config.EnvPayloadFile), "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("runner takes no arguments; the payload's cmd names what to run")
	}
	if *path == "" {
		return cli.WithHint(cli.Usagef("no payload file: set %s or give -payload FILE", config.EnvPayloadFile),
			"IronIO sets %s for every task; elsewhere pass the payload.json you scheduled", config.EnvPayloadFile)
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

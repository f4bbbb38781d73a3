package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// load reads the job's settings for purpose and makes its S3 client. A
// nil Settings with a nil error means there is nothing to do (the selected
// prefix is marked ignore), which has been said on stderr as "nothing to
// <action>".
func load(ctx context.Context, purpose config.Purpose, only, action string, stderr io.Writer) (*config.Settings, *s3.Client, error) {
	s, err := config.Load(os.Getenv, purpose, only, cli.JobCommands...)
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

// Command pgpass-expand is not implemented yet.
package main

import (
	"context"
	"errors"
	"io"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
)

func main() { cli.Main("pgpass-expand", run) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return cli.Usage(errors.New("not implemented"))
}

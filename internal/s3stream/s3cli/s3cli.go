// Package s3cli holds what the s3put and s3get commands share: the flags
// that select an object and an S3 service, the terminal progress line, and
// the summary line.
package s3cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/term"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// Flags are the options common to s3put and s3get.
type Flags struct {
	Bucket, Key      string
	Endpoint, Region string
	PathStyle        bool
	Concurrency      int
	Quiet, Verbose   bool
	Version          bool
}

// Register defines the common flags on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Bucket, "b", "", "")
	fs.StringVar(&f.Key, "k", "", "")
	fs.StringVar(&f.Endpoint, "endpoint", "", "")
	fs.StringVar(&f.Region, "region", "", "")
	fs.BoolVar(&f.PathStyle, "path-style", false, "")
	fs.IntVar(&f.Concurrency, "c", s3stream.DefaultConcurrency, "")
	fs.BoolVar(&f.Quiet, "q", false, "")
	fs.BoolVar(&f.Verbose, "v", false, "")
	fs.BoolVar(&f.Version, "version", false, "")
}

// Parse parses args into fs and resolves the object (Target). With
// -version it prints the version on stdout and returns done.
func (f *Flags) Parse(fs *flag.FlagSet, args []string, stdout io.Writer) (bucket, key string, done bool, err error) {
	if err := cli.Parse(fs, args); err != nil {
		return "", "", false, err
	}
	if f.Version {
		fmt.Fprintln(stdout, fs.Name(), cli.Version())
		return "", "", true, nil
	}
	bucket, key, err = f.Target(fs)
	return bucket, key, false, err
}

// Target resolves the object from s3://BUCKET/KEY or -b and -k, checks the
// other common flags, and returns usage errors for what is wrong.
func (f *Flags) Target(fs *flag.FlagSet) (bucket, key string, err error) {
	usageHint := func(err error) error { return cli.WithHint(cli.Usage(err), "run '%s -h' for usage", fs.Name()) }
	args := fs.Args()
	switch {
	case len(args) > 1:
		extra := args[1]
		if strings.HasPrefix(extra, "-") {
			return "", "", cli.WithHint(cli.Usagef("flag %s after the object URL", cli.Arg(extra)), "flags go before s3://BUCKET/KEY")
		}
		return "", "", usageHint(fmt.Errorf("unexpected argument %s", cli.Arg(extra)))
	case len(args) == 1 && (f.Bucket != "" || f.Key != ""):
		return "", "", usageHint(fmt.Errorf("give either s3://BUCKET/KEY or -b and -k, not both"))
	case len(args) == 1:
		bucket, key, err = s3stream.ParseURL(args[0])
		if err != nil {
			return "", "", usageHint(err)
		}
	case f.Bucket == "" && f.Key == "":
		return "", "", usageHint(fmt.Errorf("no object given"))
	case f.Bucket == "":
		return "", "", usageHint(fmt.Errorf("-k needs -b BUCKET"))
	case f.Key == "":
		return "", "", usageHint(fmt.Errorf("-b needs -k KEY"))
	default:
		bucket, key = f.Bucket, f.Key
		if err := s3stream.CheckBucket(bucket); err != nil {
			return "", "", usageHint(err)
		}
		if err := s3stream.CheckKey(key); err != nil {
			return "", "", usageHint(err)
		}
	}
	if f.Concurrency < 1 || f.Concurrency > 64 {
		return "", "", usageHint(fmt.Errorf("-c %d: want 1 to 64", f.Concurrency))
	}
	if f.Endpoint != "" {
		if err := s3stream.CheckEndpoint(f.Endpoint); err != nil {
			return "", "", cli.Usage(err)
		}
	}
	return bucket, key, nil
}

// Client returns the S3 client the flags and the environment select.
// S3_PATH_STYLE=true sets --path-style.
func (f *Flags) Client(ctx context.Context, bucket string) (*s3.Client, error) {
	pathStyle, err := pathStyle(f.PathStyle, os.Getenv)
	if err != nil {
		return nil, err
	}
	return s3stream.NewClient(ctx, s3stream.Config{Endpoint: f.Endpoint, Region: f.Region, PathStyle: pathStyle, Bucket: bucket})
}

// pathStyle is --path-style (flag), or else S3_PATH_STYLE, read as the
// job reads it.
func pathStyle(flag bool, getenv func(string) string) (bool, error) {
	if flag {
		return true, nil
	}
	return config.PathStyle(getenv)
}

// ParseSizeFlag reads a size flag's value as a usage error when invalid.
func ParseSizeFlag(name, v string) (int64, error) {
	n, err := units.ParseSize(v)
	if err != nil {
		return 0, cli.WithHint(cli.Usagef("-%s: %v", name, err), "sizes are bytes or a number with K, M, G (binary units), e.g. 64MiB")
	}
	return n, nil
}

// IsTerminal reports whether v is an *os.File open on a terminal (not
// merely a character device such as /dev/null).
func IsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Progress prints a progress line, rewritten in place, on a terminal.
type Progress struct {
	tool, verb string
	w          io.Writer
	mu         sync.Mutex
	shown      bool
	start      time.Time
}

// NewProgress returns a progress line for stderr, or nil when stderr is not
// a terminal or quiet is set. verb is "uploaded" or "downloaded".
func NewProgress(tool, verb string, stderr io.Writer, quiet bool) *Progress {
	if quiet || !IsTerminal(stderr) {
		return nil
	}
	return newProgress(tool, verb, stderr)
}

func newProgress(tool, verb string, w io.Writer) *Progress {
	return &Progress{tool: tool, verb: verb, w: w, start: time.Now()}
}

// Update shows p; with p.Done it clears the line. A nil *Progress does
// nothing, so it can be passed as a callback unconditionally.
func (l *Progress) Update(p s3stream.Progress) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.Done {
		if l.shown {
			fmt.Fprint(l.w, "\r\x1b[K")
			l.shown = false
		}
		return
	}
	fmt.Fprintf(l.w, "\r%s: %s\x1b[K", l.tool, Line(l.verb, p))
	l.shown = true
}

// Callback returns Update as a function, or nil for a nil *Progress.
func (l *Progress) Callback() func(s3stream.Progress) {
	if l == nil {
		return nil
	}
	return l.Update
}

// Line describes a transfer's progress in a few words.
func Line(verb string, p s3stream.Progress) string {
	var b strings.Builder
	if p.Total >= 0 {
		fmt.Fprintf(&b, "%s of %s %s", units.FormatSize(p.Bytes), units.FormatSize(p.Total), verb)
		if p.Total > 0 {
			fmt.Fprintf(&b, " (%d%%)", p.Bytes*100/p.Total)
		}
	} else {
		fmt.Fprintf(&b, "%s read, %s %s", units.FormatSize(p.Bytes), units.FormatSize(p.Transferred), verb)
	}
	fmt.Fprintf(&b, ", %d parts of %s", p.Parts, units.FormatSize(p.PartSize))
	if s := p.Elapsed.Seconds(); s > 0 {
		fmt.Fprintf(&b, ", %s/s", units.FormatSize(int64(float64(p.Bytes)/s)))
	}
	return b.String()
}

// Summary is the -v line about a finished transfer.
func Summary(verb string, r s3stream.Result, elapsed time.Duration) string {
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(" (%s/s)", units.FormatSize(int64(float64(r.Size)/s)))
	}
	parts := "1 part"
	if r.Parts != 1 {
		parts = fmt.Sprintf("%d parts", r.Parts)
	}
	return fmt.Sprintf("s3://%s/%s: %s %s in %s of up to %s, %.1fs%s, sha256 %s",
		r.Bucket, r.Key, units.FormatSize(r.Size), verb, parts, units.FormatSize(r.PartSize),
		elapsed.Seconds(), rate, r.SHA256)
}

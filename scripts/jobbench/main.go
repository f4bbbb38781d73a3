// Command jobbench times the backup job against the original image's
// pipeline on the same generated database and the same local S3 gateway,
// in one run, and prints one row per contender:
//
//	pg_dump > /dev/null                       the source's limit
//	pg_dump | gzip | openssl enc | aws s3 cp  the original pipeline
//	iron-streaming-backup                     default settings
//	iron-streaming-backup, COMPRESSION=zstd
//	iron-streaming-backup, ENCRYPTION=age     gzip as the default, age's encryption
//
// with the plain dump's MB/s, the stored size, CPU seconds (the process
// and its children; not the PostgreSQL server), peak RSS (the largest
// process), and the ratios job/original and job/pg_dump. With -levels it
// also compresses the dump (held in memory) at every gzip and zstd level.
//
// Settings: -scale (pgbench scale, default 100) and -text-mb (a table of
// barely compressible text, default 400) give a plain dump of about
// 1.5 GB. Run it with scripts/bench-job.sh (make bench).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

var (
	scale    = flag.Int("scale", 100, "pgbench scale of the generated database")
	textMB   = flag.Int("text-mb", 400, "MB of barely compressible text in the generated database")
	levels   = flag.Bool("levels", false, "also measure every compression level on the dump")
	runs     = flag.Int("runs", 1, "runs of each contender; the fastest counts")
	binDir   = flag.String("bin", "", "folder with the built commands (default: build them)")
	profile  = flag.String("profile", "", "write the job's CPU profiles into this folder")
	jobExtra = flag.String("job-env", "", "extra settings for the job runs, NAME=VALUE separated by commas")
	jobOnly  = flag.Bool("job-only", false, "time pg_dump and the job only, not the original pipeline")
	keyPass  = "bench-encryption-key"
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	testenv.StopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jobbench: error:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, "jobbench: "+format+"\n", args...) }

type row struct {
	name   string
	wall   time.Duration
	plain  int64
	stored int64
	cpu    time.Duration
	maxRSS int64 // KiB
}

func run(ctx context.Context) error {
	work, err := os.MkdirTemp("", "isb-jobbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := *binDir
	if bin == "" {
		bin = filepath.Join(work, "bin")
		say("building")
		b := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin+"/", "./cmd/...")
		b.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := b.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		return err
	}
	srv, err := testenv.StartS3(ctx, "bench")
	if err != nil {
		return err
	}
	say("generating the database: pgbench scale %d and %d MB of text", *scale, *textMB)
	t0 := time.Now()
	if err := pg.CreateDatabase(ctx, "bench"); err != nil {
		return err
	}
	if out, err := pg.Command(ctx, "pgbench", "-i", "-q", "-s", strconv.Itoa(*scale), "bench").CombinedOutput(); err != nil {
		return fmt.Errorf("pgbench: %v: %s", err, out)
	}
	rows := *textMB * 1000 * 1000 / 330
	if _, err := pg.Psql(ctx, "bench", fmt.Sprintf(`CREATE TABLE notes (id int, body text);
INSERT INTO notes SELECT i, (SELECT string_agg(md5(random()::text || g || i), ' ') FROM generate_series(1, 10) g) FROM generate_series(1, %d) i;
VACUUM ANALYZE;`, rows)); err != nil {
		return err
	}
	say("generated in %v", time.Since(t0).Round(time.Second))

	// The age contender's recipient; its identity is not needed.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	recipient := id.Recipient().String()
	keyFile := filepath.Join(work, "key")
	os.WriteFile(keyFile, []byte(keyPass+"\n"), 0o600)
	pgpass := fmt.Sprintf("%s:%d:bench:%s:%s:bench\n", pg.Host, pg.Port, pg.User, pg.Password)
	baseEnv := append(os.Environ(),
		"PATH="+bin+":"+pg.BinDir+":"+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_REGION="+srv.Region, "AWS_ENDPOINT_URL="+srv.Endpoint, "S3_PATH_STYLE=true")
	tcp := fmt.Sprintf("PGHOST=%s PGPORT=%d PGUSER=%s PGPASSWORD=%s", pg.Host, pg.Port, pg.User, pg.Password)

	var table []row
	best := func(r row, err error) error {
		if err != nil {
			return err
		}
		for i := range table {
			if table[i].name == r.name {
				if r.wall < table[i].wall {
					table[i] = r
				}
				return nil
			}
		}
		table = append(table, r)
		return nil
	}
	var plainSize int64
	for i := 0; i < *runs; i++ {
		r, err := timeShell(ctx, "pg_dump > /dev/null", baseEnv, tcp+" pg_dump bench | wc -c > "+filepath.Join(work, "size"))
		if err == nil {
			b, _ := os.ReadFile(filepath.Join(work, "size"))
			plainSize, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			r.plain = plainSize
		}
		if err := best(r, err); err != nil {
			return err
		}
		say("%s: %v", r.name, r.wall.Round(time.Millisecond))

		if *jobOnly {
			goto job
		}
		r, err = timeShell(ctx, "original: pg_dump|gzip|openssl|aws", baseEnv,
			"set -o pipefail; "+tcp+" pg_dump bench | gzip | openssl enc -aes-256-cbc -e -pass file:"+keyFile+" | aws s3 cp - s3://bench/original.gz.aes")
		r.plain = plainSize
		if err == nil {
			r.stored, err = folderSize(ctx, srv, "original.gz.aes")
		}
		if err := best(r, err); err != nil {
			return err
		}
		say("%s: %v", r.name, r.wall.Round(time.Millisecond))
	job:
		for _, c := range []struct{ name, env string }{
			{"iron-streaming-backup (gzip)", ""},
			{"iron-streaming-backup (zstd)", "COMPRESSION=zstd"},
			{"iron-streaming-backup (age)", "ENCRYPTION=age,AGE_RECIPIENTS=" + recipient},
		} {
			env := append(append([]string{}, baseEnv...),
				"PGPASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(pgpass)),
				"PASS_FILE_BASE64="+base64.StdEncoding.EncodeToString([]byte(keyPass)),
				"S3_BUCKET=bench", "S3_PREFIX="+folder(c.name))
			if err := emptyFolder(ctx, srv, folder(c.name)+"/"); err != nil {
				return err
			}
			if c.env != "" {
				env = append(env, strings.Split(c.env, ",")...)
			}
			if *jobExtra != "" {
				env = append(env, strings.Split(*jobExtra, ",")...)
			}
			var args []string
			if *profile != "" {
				args = append(args, "-cpuprofile", filepath.Join(*profile, folder(c.name)+".prof"))
			}
			r, err := timeCmd(ctx, c.name, env, filepath.Join(bin, "iron-streaming-backup"), args...)
			r.plain = plainSize
			if err == nil {
				r.stored, err = folderSize(ctx, srv, folder(c.name)+"/")
			}
			if err := best(r, err); err != nil {
				return err
			}
			say("%s: %v", r.name, r.wall.Round(time.Millisecond))
		}
	}
	printTable(table)

	if *levels {
		return compressionLevels(ctx, pg)
	}
	return nil
}

func printTable(table []row) {
	var dump, orig time.Duration = 0, 1
	for _, r := range table {
		if strings.HasPrefix(r.name, "pg_dump") {
			dump = r.wall
		}
		if strings.HasPrefix(r.name, "original") {
			orig = r.wall
		}
	}
	fmt.Printf("plain dump: %.2f GB\n", float64(table[0].plain)/1e9)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "contender\twall s\tMB/s\tstored MB\tCPU s\tpeak RSS MiB\tspeed vs original\ttime vs pg_dump\t")
	for _, r := range table {
		stored := "-"
		if r.stored > 0 {
			stored = fmt.Sprintf("%.1f", float64(r.stored)/1e6)
		}
		vsOrig := "-" // -job-only: the original was not timed
		if orig > 0 {
			vsOrig = fmt.Sprintf("%.2fx", orig.Seconds()/r.wall.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%s\t%.2f\t%.0f\t%s\t%.2fx\t\n", r.name, r.wall.Seconds(),
			float64(r.plain)/1e6/r.wall.Seconds(), stored, r.cpu.Seconds(), float64(r.maxRSS)/1024,
			vsOrig, r.wall.Seconds()/dump.Seconds())
	}
	tw.Flush()
}

func timeShell(ctx context.Context, name string, env []string, script string) (row, error) {
	return timeCmd(ctx, name, env, "bash", "-c", script)
}

func timeCmd(ctx context.Context, name string, env []string, prog string, args ...string) (row, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := row{name: name, wall: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("%s: %v\n%s", name, err, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.maxRSS = ru.Maxrss
	}
	return r, nil
}

// folderSize adds up the objects whose key starts with prefix, manifests
// left out.
func folderSize(ctx context.Context, srv *testenv.S3Server, prefix string) (int64, error) {
	out, err := srv.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bench"), Prefix: aws.String(prefix)})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, o := range out.Contents {
		if !strings.HasSuffix(aws.ToString(o.Key), ".manifest.json") {
			n += aws.ToInt64(o.Size)
		}
	}
	return n, nil
}

// folder is the key folder of a job contender: "gzip", "zstd" or "age".
func folder(name string) string { return strings.Trim(strings.Fields(name)[1], "()") }

func emptyFolder(ctx context.Context, srv *testenv.S3Server, prefix string) error {
	c := srv.Client()
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bench"), Prefix: aws.String(prefix)})
	if err != nil {
		return err
	}
	for _, o := range out.Contents {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bench"), Key: o.Key}); err != nil {
			return err
		}
	}
	return nil
}

// compressionLevels holds the dump in memory and compresses it at every
// level with each implementation, single-threaded and parallel.
func compressionLevels(ctx context.Context, pg *testenv.Postgres) error {
	say("dumping into memory for the level sweep")
	dump, err := pg.Command(ctx, "pg_dump", "bench").Output()
	if err != nil {
		return err
	}
	fmt.Printf("\ncompression of the %.2f GB dump (one run each):\n", float64(len(dump))/1e9)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "compressor\tlevel\tMB/s\tstored MB\tratio\t")
	measure := func(name string, level int, newW func(io.Writer) (io.WriteCloser, error)) error {
		var n countWriter
		start := time.Now()
		w, err := newW(&n)
		if err != nil {
			return err
		}
		if _, err := w.Write(dump); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		d := time.Since(start)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.1f%%\t\n", name, level, float64(len(dump))/1e6/d.Seconds(), float64(n)/1e6, 100*float64(n)/float64(len(dump)))
		return nil
	}
	gnu := func(level int) error {
		cmd := exec.CommandContext(ctx, "gzip", "-"+strconv.Itoa(level))
		cmd.Stdin = bytes.NewReader(dump)
		var n countWriter
		cmd.Stdout = &n
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return err
		}
		d := time.Since(start)
		fmt.Fprintf(tw, "GNU gzip\t%d\t%.0f\t%.1f\t%.1f%%\t\n", level, float64(len(dump))/1e6/d.Seconds(), float64(n)/1e6, 100*float64(n)/float64(len(dump)))
		return nil
	}
	for _, l := range []int{1, 6} {
		if err := gnu(l); err != nil {
			return err
		}
	}
	for l := 1; l <= 9; l++ {
		if err := measure("klauspost gzip", l, func(w io.Writer) (io.WriteCloser, error) { return kgzip.NewWriterLevel(w, l) }); err != nil {
			return err
		}
	}
	for l := 1; l <= 9; l++ {
		if err := measure("pgzip", l, func(w io.Writer) (io.WriteCloser, error) { return pgzip.NewWriterLevel(w, l) }); err != nil {
			return err
		}
	}
	if err := measure("compress/gzip", 6, func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, 6) }); err != nil {
		return err
	}
	for l := 1; l <= 4; l++ {
		if err := measure("zstd", l, func(w io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevel(l)))
		}); err != nil {
			return err
		}
	}
	return tw.Flush()
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

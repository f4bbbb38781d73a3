// Package backup implements the backup job: for every target of a pgpass
// list it runs pg_dump and streams its output through compression and
// encryption (openssl-compatible, or age's) into one S3 object, which it commits only
// after pg_dump exited 0 and every stage flushed without error. A manifest
// object next to it records what was stored and how to restore it.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/discover"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
	"github.com/philips-labs/iron-streaming-backup/internal/iox"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Job backs up the targets of its settings.
type Job struct {
	Settings *Settings
	Client   *s3.Client
	Log      *Logger
	Version  string // this program's version, for the manifest

	now     func() time.Time  // test hook
	dir     string            // private folder for the libpq password files
	clients []pgclient.Client // the pg_dump programs to choose from, oldest first; found by preflight
	connect discover.Connect  // test hook; nil: discover.DefaultConnect
}

// Result is the outcome of one target.
type Result struct {
	Target   pgpass.Entry
	Key      string
	Manifest *catalog.Info
	Globals  *catalog.Info // the globals' manifest, when they were saved (DUMP_GLOBALS)
	Err      error
}

// Run backs up every target, Settings.Parallel at a time, and returns one
// result per target in list order. A failed target does not stop the
// others. The error is non-nil when any target failed.
//
// Before the first pg_dump starts, Run checks that pg_dump runs and that
// the bucket is reachable with the credentials; when that fails it returns
// no results and the reason, a *SettingsError when the settings must
// change, and nothing has been logged.
func (j *Job) Run(ctx context.Context) ([]Result, error) {
	if j.now == nil {
		j.now = time.Now
	}
	// Passwords left behind by a run that was killed go first; see
	// private.go for the folder and its password files.
	removed, err := removeDeadDirs(os.TempDir())
	for _, d := range removed {
		j.Log.Warn(fmt.Sprintf("removed %s, the private folder of an earlier run that did not end normally (killed?)", d))
	}
	if err != nil {
		j.Log.Warn(fmt.Sprintf("removing private folders of earlier runs: %v", err))
	}
	if err := j.preflight(ctx); err != nil {
		return nil, err
	}
	dir, err := makePrivateDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("making the private folder: %w", err)
	}
	defer dir.Close()
	j.dir = dir.path

	start := j.now()
	targets, failedLines, err := j.resolve(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(targets), len(targets)+len(failedLines))
	sem := make(chan struct{}, j.Settings.Parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		// A '*' line's globals come before its databases (resolve), and
		// take their time here, before any of those starts.
		at := j.now()
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// A panic fails this database, not the process: the other
			// uploads are still aborted or committed, and the private
			// folder removed. (backupOne's own defers abort its upload.)
			defer func() {
				if r := recover(); r != nil {
					results[i] = Result{Target: t, Err: fmt.Errorf("internal error: %v", r)}
					j.Log.Failed(t, results[i].Err)
				}
			}()
			if LineGlobals(t) {
				results[i] = j.backupLineGlobals(ctx, t, at)
				return
			}
			results[i] = j.backupOne(ctx, t)
		}()
	}
	wg.Wait()
	results = append(results, failedLines...)
	pruned := j.prune(ctx, results)

	var failed []string
	var plain, stored int64
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Target.Prefix)
			continue
		}
		plain += r.Manifest.PlainSize
		stored += r.Manifest.StoredSize
	}
	d := j.now().Sub(start)
	ok := len(results) - len(failed)
	j.Log.Summary(len(results), ok, failed, plain, stored, d, pruned)
	if len(failed) > 0 {
		return results, fmt.Errorf("%d of %d backups failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return results, nil
}

func (j *Job) backupOne(ctx context.Context, t pgpass.Entry) (res Result) {
	res.Target = t
	start := j.now()
	res.Key = j.Settings.ObjectKey(t.Prefix, start)
	j.Log.Start(t, j.Settings.Bucket, res.Key)
	defer func() {
		if res.Err != nil {
			j.Log.Failed(t, res.Err)
		}
	}()

	// This target's password, for psql and then pg_dump; removed once
	// pg_dump has read it, at the latest here.
	pass, err := writePassFile(j.dir, t)
	if err != nil {
		res.Err = err
		return res
	}
	defer pass.remove()
	client, serverVer, err := j.chooseClient(ctx, t, pass)
	if err != nil {
		res.Err = err
		return res
	}

	info := j.newInfo(t, res.Key, start, client, serverVer)
	info.Format = j.Settings.Format
	if err := j.stream(ctx, t, dumpCommand{name: "pg_dump", path: client.PgDump, args: j.dumpArgs(t), complete: dumpstat.Complete}, info, pass); err != nil {
		res.Err = err
		return res
	}
	res.Manifest = info
	j.Log.Done(t, info)
	if j.Settings.DumpGlobals && t.ListPrefix == "" {
		// After the dump, so that no globals are stored without one; a
		// failure here fails the prefix but keeps the dump (globals.go).
		// A found database's globals are its line's (backupLineGlobals).
		res.Globals, res.Err = j.backupGlobals(ctx, t, client, info)
	}
	return res
}

// chooseClient asks the server of t for its version, over the password
// file pass, and chooses the pg_dump (and pg_dumpall) for it.
// newInfo is the manifest's facts of an object the job is about to store
// for t, started at start: what the settings, the client and the server
// say; the caller adds what is its own.
func (j *Job) newInfo(t pgpass.Entry, key string, start time.Time, client pgclient.Client, serverVer pgclient.Version) *catalog.Info {
	info := &catalog.Info{
		Database: t.Database, Host: t.Host, Port: t.Port, User: t.User, Prefix: t.Prefix, ListPrefix: t.ListPrefix,
		Bucket: j.Settings.Bucket, Key: key, Started: start.UTC(),
		Compression: j.Settings.Compression, CompressionLevel: j.Settings.Level,
		PgDumpVersion: client.Version.String(), ServerVersion: serverVer.String(),
		Tool: "iron-streaming-backup " + j.Version,
	}
	setEncryption(info, j.Settings)
	info.ObjectLock = j.lockInfo(start)
	return info
}

func (j *Job) chooseClient(ctx context.Context, t pgpass.Entry, pass *passFile) (pgclient.Client, pgclient.Version, error) {
	serverVer, err := j.serverVersion(ctx, t, pgclient.Newest(j.clients).Psql(), pass)
	if err != nil {
		return pgclient.Client{}, serverVer, err
	}
	client, err := pgclient.Choose(j.clients, serverVer, j.Settings.PgDump != "")
	if err != nil && j.Settings.PgDump == "" {
		err = fmt.Errorf("%v or set %s", err, config.EnvPgDump)
	}
	if err != nil {
		return client, serverVer, err
	}
	j.Log.Client(t, serverVer, client)
	return client, serverVer, nil
}

// client is chooseClient with a password file of its own, removed on
// return.
func (j *Job) client(ctx context.Context, t pgpass.Entry) (pgclient.Client, pgclient.Version, error) {
	pass, err := writePassFile(j.dir, t)
	if err != nil {
		return pgclient.Client{}, pgclient.Version{}, err
	}
	defer pass.remove()
	return j.chooseClient(ctx, t, pass)
}

// dumpCommand is the program stream runs, pg_dump or pg_dumpall, and the
// comment that ends its complete plain output.
type dumpCommand struct {
	name, path string
	args       []string
	complete   string
	stderr     *tailBuffer // its stderr's end; stream makes one when nil
}

// stream runs the dump command into the pipeline and commits the object
// only when everything succeeded.
func (j *Job) stream(ctx context.Context, t pgpass.Entry, d dumpCommand, info *catalog.Info, pass *passFile) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	up, err := j.newUpload(ctx, info)
	if err != nil {
		return err
	}
	// Every return below without a commit aborts the upload: no object, no
	// unfinished multipart upload.
	committed := false
	defer func() {
		if !committed {
			if aerr := up.Abort(err); aerr != nil {
				err = fmt.Errorf("%w (and aborting the upload failed: %v)", err, aerr)
			}
		}
	}()

	enc, err := j.newEncrypter(up)
	if err != nil {
		return err
	}
	c, _ := catalog.CompressionNamed(j.Settings.Compression)
	comp, err := c.NewWriter(enc, j.Settings.Level)
	if err != nil {
		return err
	}

	cmd := exec.CommandContext(ctx, d.path, d.args...)
	cmd.Env = childEnv(pass.path)
	cmd.WaitDelay = 10 * time.Second
	stderr := d.stderr
	if stderr == nil {
		stderr = &tailBuffer{max: 4096}
	}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stopWatch := pass.removeAfterRead()
	defer stopWatch()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", d.name, err)
	}
	growPipe(stdout)
	counted := &countingWriter{}
	sinks := []io.Writer{comp, counted}
	var rows *dumpstat.Counter
	if info.Format == "plain" {
		// Row counts per table for the manifest (verify compares them), and
		// the end of the stream for the completeness check.
		rows = dumpstat.NewCounterEnding(d.complete)
		sinks = append(sinks, rows)
	}
	stopProgress := j.progress(t, info, counted, up.Stored)
	// Read up to 8 MiB ahead, so that pg_dump (and the server behind it)
	// keep going while the compressor is busy with a burst.
	// pg_dump writes nothing before it has connected, so its first byte
	// means libpq is done with the password file, where inotify did not
	// already say so.
	// When the pipeline fails (the upload, most likely), pg_dump is killed
	// and CopyAhead returns only once its reads of the pipe have ended:
	// Wait closes the pipe, so it must come after the last read.
	kill := func() { cmd.Process.Kill() }
	plain, copyErr := iox.CopyAhead(io.MultiWriter(sinks...), &firstByte{r: stdout, f: pass.remove}, 1<<20, 8, kill)
	stopProgress()
	waitErr := cmd.Wait()
	pass.remove()
	info.PlainSize = plain
	switch {
	case ctx.Err() != nil && copyErr == nil && waitErr != nil:
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case waitErr != nil && copyErr == nil:
		return fmt.Errorf("%s failed (%v)%s", d.name, waitErr, redactEntry(stderr.lastLine(": "), t))
	case copyErr != nil:
		return fmt.Errorf("streaming the dump: %w", copyErr)
	}
	if rows != nil && !rows.Complete() {
		return fmt.Errorf("%s exited 0 but its output lacks %q: it is incomplete", d.name, d.complete)
	}
	if rows != nil {
		info.Rows = rows.Rows()
		if err := rows.Err(); err != nil {
			j.Log.PrefixWarn(t.Prefix, fmt.Sprintf("%v; its rows are counted under that name", err))
		}
	}
	if err := comp.Close(); err != nil {
		return fmt.Errorf("compressing: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encrypting: %w", err)
	}
	if err := up.Close(); err != nil {
		return fmt.Errorf("completing the upload: %w", err)
	}
	committed = true
	info.Finished = j.now().UTC()
	r := up.Result()
	info.StoredSize, info.SHA256, info.Parts = r.Size, r.SHA256, r.Parts
	info.RestoreCommand = info.StockRestore()
	if err := j.verifyLock(ctx, info, info.Key); err != nil {
		return fmt.Errorf("the backup s3://%s/%s was stored, but %w (check that the store supports S3 Object Lock)", info.Bucket, info.Key, err)
	}
	if err := j.writeManifest(ctx, r, info); err != nil {
		return fmt.Errorf("the backup s3://%s/%s is complete, but writing its manifest failed: %w", info.Bucket, info.Key, err)
	}
	return nil
}

func (j *Job) dumpArgs(t pgpass.Entry) []string {
	args := []string{"--host", t.Host, "--port", t.Port, "--username", t.User, "--dbname", dbnameArg(t.Database), "--no-password"}
	if j.Settings.Format == "custom" {
		// The stream is compressed by the job; compressing twice only burns CPU.
		args = append(args, "--format=custom", "--compress=0")
	}
	return append(args, j.Settings.PgDumpArgs...)
}

// dbnameArg is a database's name as a libpq connection string that names
// only it: libpq reads a --dbname with '=' in it (or a URI) as a
// connection string, and a database's name is its owner's to choose (a
// '*' line's tenant could name one "host=elsewhere").
func dbnameArg(name string) string { return "dbname=" + pgpass.ConnValue(name) }

// childEnv is the environment of pg_dump, pg_dumpall and psql: the job's
// own without anything secret or anything that could redirect the
// connection, plus the private password file. Their messages are in
// English (LC_MESSAGES=C), as the job reads their error lines.
func childEnv(pgpassFile string) []string {
	env := []string{"LC_MESSAGES=C"}
	if pgpassFile != "" {
		env = append(env, "PGPASSFILE="+pgpassFile)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "LC_MESSAGES", name == "LC_ALL":
			// LC_ALL would override LC_MESSAGES.
		case name == "PATH", name == "HOME", name == "TZ", name == "TMPDIR", name == "LANG",
			strings.HasPrefix(name, "LC_"):
			env = append(env, kv)
		case strings.HasPrefix(name, "PGSSL"), name == "PGCONNECT_TIMEOUT", name == "PGAPPNAME",
			name == "PGTARGETSESSIONATTRS", name == "PGGSSENCMODE", name == "PGREQUIRESSL":
			// TLS and connection behaviour the operator may set for RDS.
			env = append(env, kv)
		}
	}
	return env
}

// serverVersion asks the server for its version with psql (installed with
// pg_dump), over the same connection pg_dump will use.
func (j *Job) serverVersion(ctx context.Context, t pgpass.Entry, psql string, pass *passFile) (pgclient.Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "--no-psqlrc", "--no-password", "--tuples-only", "--no-align",
		"--host", t.Host, "--port", t.Port, "--username", t.User, "--dbname", dbnameArg(t.Database),
		"--command", "SELECT current_setting('server_version_num') || ' ' || current_setting('server_version')")
	cmd.Env = childEnv(pass.path)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return pgclient.Version{}, fmt.Errorf("psql not found next to pg_dump or on PATH: install the PostgreSQL client")
		}
		return pgclient.Version{}, fmt.Errorf("cannot connect to %s:%s/%s as %s%s", t.Host, t.Port, t.Database, t.User, stderr.lastLine(": "))
	}
	num, text, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.Atoi(num)
	if err != nil {
		return pgclient.Version{}, fmt.Errorf("unexpected server version %q", strings.TrimSpace(string(out)))
	}
	if f := strings.Fields(text); len(f) > 0 {
		text = f[0]
	}
	// server_version_num is major*10000+minor since PostgreSQL 10, and
	// 9xxyy before it, where the major version was 9.x: both give 9 here.
	return pgclient.Version{Major: n / 10000, Text: text}, nil
}

// progress logs a line every Settings.Progress until the returned function
// is called.
func (j *Job) progress(t pgpass.Entry, info *catalog.Info, plain *countingWriter, stored func() int64) (stop func()) {
	return every(j.Settings.Progress, func() { j.Log.Progress(t, plain.n.Load(), stored(), j.now().Sub(info.Started)) })
}

// every calls f every interval from another goroutine, until the returned
// function is called (which waits for a call under way); never for an
// interval of 0.
func every(interval time.Duration, f func()) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				f()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// countingWriter counts what passes, for progress lines from another
// goroutine.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// lastLine returns, after sep, the last line written that reports an
// error (libpq and pg_dump write "error:" or "FATAL:" lines, followed by
// detail lines), or else the last non-empty line; "" when nothing was
// written.
func (t *tailBuffer) lastLine(sep string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.Contains(l, "error:") || strings.Contains(l, "FATAL:") {
			return sep + l
		}
	}
	l := strings.TrimSpace(lines[len(lines)-1])
	if l == "" {
		return ""
	}
	return sep + l
}

// onlyReader and onlyWriter hide ReaderFrom/WriterTo so that io.CopyBuffer
// uses the given buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

package backup

// The globals: with DUMP_GLOBALS=true, the backup of every database also
// holds pg_dumpall --globals-only of its server (the roles, their
// memberships and settings, the tablespaces), stored beside the dump as
// the companion "globals" (codec.go), <prefix>-<the dump's time>.globals
// and the dump's compression and encryption endings, with a manifest of
// its own. A database dump restores its tables but not the roles that own
// them: restored into a new server it fails on ALTER … OWNER TO and GRANT
// unless the roles are there first.
//
// pg_dumpall reads the roles' passwords from pg_authid, which only a
// superuser may read, and managed services (RDS, Cloud SQL, Azure) give a
// login that is not one. When pg_dumpall fails for that reason, it runs
// again with --no-role-passwords (which reads pg_roles instead): the
// roles are saved without passwords, and the log and the manifest say so.
//
// The globals are stored only after the dump was, and fail the prefix
// without touching the dump: a backup whose globals are missing is still
// a backup of the database.
//
// A '*' line's databases share one server, and so its globals: they are
// stored once per run for the line (LineGlobals), under the line's own
// prefix, <line prefix>-<time>.globals…, where no dump of the job's ever
// is (the list reserves the line's prefix and its range), so that the
// catalog takes them for backups of their own (catalog.Backup.Alone), and
// prune keeps them even where dumps came later (catalog.Leftover). They start before the line's databases: the globals of a
// found database's dump are the newest of its line at or before the
// dump's time. Their failure fails the line's prefix, not its databases.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/units"
)

// globalsName is the companion's name in codec.go's table.
const globalsName = "globals"

// globalsArgs are pg_dumpall's arguments. It connects to the target's own
// database (--database), as a managed service's login may not be allowed
// into "postgres".
func globalsArgs(t pgpass.Entry, rolePasswords bool) []string {
	args := []string{"--globals-only", "--host", t.Host, "--port", t.Port, "--username", t.User, "--database", dbnameArg(t.Database), "--no-password"}
	if !rolePasswords {
		args = append(args, "--no-role-passwords")
	}
	return args
}

// mayNotReadPasswords reports whether pg_dumpall failed because the login
// may not read pg_authid, the catalog of the roles' passwords: its error
// names that table. The server's words are in its own lc_messages, the
// table's name in none; the client's are C (childEnv), and the line that
// quotes the failed query, which names pg_authid whatever went wrong, is
// not the error.
func mayNotReadPasswords(stderr *tailBuffer) bool {
	stderr.mu.Lock()
	defer stderr.mu.Unlock()
	for _, l := range strings.Split(string(stderr.buf), "\n") {
		// "pg_dumpall: query failed:" before PostgreSQL 12.
		failed := strings.HasPrefix(l, "pg_dumpall: error: query failed: ") || strings.HasPrefix(l, "pg_dumpall: query failed: ")
		if failed && strings.Contains(l, "pg_authid") {
			return true
		}
	}
	return false
}

// backupGlobals stores the globals of the server of t beside its dump,
// whose manifest is dump, and returns their manifest. Its error says that
// the dump is kept.
func (j *Job) backupGlobals(ctx context.Context, t pgpass.Entry, client pgclient.Client, dump *catalog.Info) (*catalog.Info, error) {
	// The dump's facts (connection, compression, encryption, versions),
	// with the globals' own key and stream.
	info := *dump
	info.Key = j.Settings.CompanionKey(t.Prefix, dump.Started, globalsName)
	info.Companion = globalsName
	info.Format = "plain"
	info.Started = j.now().UTC()
	info.PlainSize, info.StoredSize, info.SHA256, info.Parts, info.Rows, info.RestoreCommand = 0, 0, "", 0, nil, ""
	if err := j.dumpGlobals(ctx, t, client, &info); err != nil {
		return nil, fmt.Errorf("globals: %w; the dump s3://%s/%s is complete and kept", err, dump.Bucket, dump.Key)
	}
	return &info, nil
}

// dumpGlobals runs pg_dumpall --globals-only against the server of t into
// the object of info, and again without the roles' passwords when the
// login may not read them.
func (j *Job) dumpGlobals(ctx context.Context, t pgpass.Entry, client pgclient.Client, info *catalog.Info) error {
	for _, withPasswords := range []bool{true, false} {
		info.RolePasswords = &withPasswords
		d := dumpCommand{name: "pg_dumpall", path: client.PgDumpall(), args: globalsArgs(t, withPasswords),
			complete: dumpstat.ClusterComplete, stderr: &tailBuffer{max: 4096}}
		err := j.streamGlobals(ctx, t, d, info)
		if err == nil {
			j.Log.GlobalsDone(t, info)
			return nil
		}
		if withPasswords && ctx.Err() == nil && mayNotReadPasswords(d.stderr) {
			j.Log.GlobalsWithoutPasswords(t)
			continue
		}
		return err
	}
	panic("unreachable")
}

// LineGlobals reports whether t is the target of a '*' line's globals:
// the line's own prefix (ListPrefix), which no database of it has.
func LineGlobals(t pgpass.Entry) bool { return t.ListPrefix != "" && t.Prefix == t.ListPrefix }

// lineGlobalsTarget is the target of the globals of a '*' line, whose
// pg_dumpall connects to database, one that the line's user may connect
// to (a managed service's login may not be allowed into "postgres").
func lineGlobalsTarget(line pgpass.Entry, database string) pgpass.Entry {
	t := line
	t.Database, t.ListPrefix, t.Discover = database, line.Prefix, false
	return t
}

// backupLineGlobals stores the globals of the server of a '*' line once,
// under the line's prefix, started at (before the line's databases), and
// returns them as the line's result: Key and Manifest are theirs.
func (j *Job) backupLineGlobals(ctx context.Context, t pgpass.Entry, at time.Time) (res Result) {
	res.Target = t
	key := j.Settings.CompanionKey(t.Prefix, at, globalsName)
	j.Log.GlobalsStarted(t, j.Settings.Bucket, key)
	defer func() {
		if res.Err != nil {
			j.Log.Failed(t, res.Err)
		}
	}()
	client, serverVer, err := j.client(ctx, t)
	if err != nil {
		res.Err = err
		return res
	}
	info := j.newInfo(t, key, at, client, serverVer)
	info.Database, info.Companion, info.Format = "*", globalsName, "plain"
	if err := j.dumpGlobals(ctx, t, client, info); err != nil {
		res.Err = fmt.Errorf("globals: %w", err)
		return res
	}
	res.Key, res.Manifest, res.Globals = key, info, info
	return res
}

// streamGlobals runs one pg_dumpall into the globals' object, with a
// password file of its own: the dump's went once pg_dump had read it.
func (j *Job) streamGlobals(ctx context.Context, t pgpass.Entry, d dumpCommand, info *catalog.Info) error {
	pass, err := writePassFile(j.dir, t)
	if err != nil {
		return err
	}
	defer pass.remove()
	return j.stream(ctx, t, d, info, pass)
}

// verifyCompanions checks the companion objects of b (its globals) as the
// dump is checked: manifest, decryption, decompression, and that pg_dumpall's
// output is complete. It returns what the ok line says of them. With
// DUMP_GLOBALS set, a backup without its globals fails: its run could not
// store them, and said so then. A '*' line's databases have none of their
// own: the line's are verified under its prefix (LineGlobals).
func (v *Verifier) verifyCompanions(ctx context.Context, t pgpass.Entry, b catalog.Backup, read map[string]catalog.ManifestRead) (string, error) {
	s := v.Settings
	has := false
	for _, c := range b.Companions {
		has = has || c.Companion == globalsName
	}
	if s.DumpGlobals && !has && t.ListPrefix == "" {
		return "", fmt.Errorf("%s has no globals beside it (%s=true): the run that made it could not store them, or ran without %s", b.Key, config.EnvDumpGlobals, config.EnvDumpGlobals)
	}
	var what strings.Builder
	for _, c := range b.Companions {
		m, info, err := v.manifest(t, c, read, "size or SHA-256")
		if err != nil {
			return "", err
		}
		st, err := v.check(ctx, c, m, info)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", c.Companion, c.Key, err)
		}
		if st.unchecked != "" {
			// Not decrypted (decrypt.go's checkStored): the dump's line says why.
			fmt.Fprintf(&what, "; %s ok (stored object only): %s, %s stored, size and sha256 match its manifest", c.Companion, c.Key, units.FormatSize(c.Size))
			continue
		}
		fmt.Fprintf(&what, "; %s ok: %s, %s stored, %s dump", c.Companion, c.Key, units.FormatSize(c.Size), units.FormatSize(st.plain))
		if info != nil && info.RolePasswords != nil && !*info.RolePasswords {
			what.WriteString(", without role passwords")
		}
		if m != nil {
			what.WriteString(", size and sha256 match its manifest")
		}
	}
	return what.String(), nil
}

// completion is the comment that ends the complete plain output of b's
// object: pg_dumpall's for the globals, pg_dump's for a dump.
func completion(b catalog.Backup) string {
	if b.Companion == globalsName {
		return dumpstat.ClusterComplete
	}
	return dumpstat.Complete
}

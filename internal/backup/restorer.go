package backup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/restore"
)

// Restorer restores one backup of one target into a database: the newest
// that started at or before At and qualifies (catalog.Pick), or the one
// named Key. The backup streams through the checks verify makes into one
// transaction (package restore), which is committed only when the object
// matched its manifest, the dump was complete and every table's rows in
// the restored database match the dump's: anything less leaves the
// target as it was.
type Restorer struct {
	Settings *Settings // one target
	Client   *s3.Client
	Log      *Logger
	Into     string    // libpq connection string of the target database, without a password
	At       time.Time // zero: now
	Key      string    // one object, instead of At
	// Force lets a backup without a manifest, or with one of another
	// size, be chosen (-force-unverified).
	Force bool
	// TrustDump restores as any role, with the dump's ownership and
	// privileges (see Verifier.TrustDump).
	TrustDump bool
	// Create creates the target database when it does not exist; Clean
	// drops what the restoring role owns in it, in the restore's
	// transaction. Without Clean a target that holds anything is refused.
	Create, Clean bool
	// DryRun chooses the backup and says how it would be restored, and
	// restores nothing.
	DryRun bool
	// Globals restores the backup's globals first, by restore.Roles'
	// rules, as the role of GlobalsAs (a libpq connection string; empty:
	// Into's, to its server's postgres database), which must be able to
	// create roles. GlobalsPasswords changes the roles that exist too
	// (restore.Roles.AlterExisting).
	Globals, GlobalsPasswords bool
	GlobalsAs                 string

	// Chosen is the backup Run chose, and StockCommand the stock tools'
	// one-liner that restores it (its manifest's restore command, into
	// the target).
	Chosen       catalog.Backup
	StockCommand string

	now func() time.Time
}

// ErrTargetNotEmpty is wrapped by the error of a target database that
// holds something, without Clean (or still does after it).
var ErrTargetNotEmpty = restore.ErrNotEmpty

// Check reports, before anything is read, what makes the restore
// impossible.
func (r *Restorer) Check() error {
	s := r.Settings
	switch {
	case len(s.Targets) != 1:
		return fmt.Errorf("restore restores one backup: name its prefix (the list has %d)", len(s.Targets))
	case r.Into == "":
		return errors.New("restore: -into names the target database")
	case (r.GlobalsPasswords || r.GlobalsAs != "") && !r.Globals:
		return errors.New("-globals-passwords and -globals-as go with -globals")
	case r.Clean && r.TrustDump:
		return errors.New("-clean drops what the restoring role owns, which for a role with more rights than a database owner is more than the target's contents: drop and create the target instead (-create), or restore as its owner without -trust-dump")
	}
	if err := CheckConnString(r.Into); err != nil {
		return err
	}
	if _, err := restore.Database(r.Into); err != nil {
		return fmt.Errorf("-into: %v", err)
	}
	if r.GlobalsAs != "" {
		if err := CheckConnString(r.GlobalsAs); err != nil {
			return fmt.Errorf("-globals-as: %w", err)
		}
	}
	return nil
}

// ErrNoGlobals is the error of -globals for a backup without globals.
var ErrNoGlobals = errors.New("no globals")

// Run chooses the backup, says which and why, and restores it (or, with
// DryRun, says how it would).
func (r *Restorer) Run(ctx context.Context) error {
	if r.now == nil {
		r.now = time.Now
	}
	if err := r.Check(); err != nil {
		return err
	}
	s := r.Settings
	t := s.Targets[0]
	at := r.At
	if at.IsZero() {
		at = r.now()
	}
	cat, err := catalog.Catalog(ctx, r.Client, s.Bucket, s.KeyPrefix, t.Prefix)
	if err != nil {
		return err
	}
	bs := cat[t.Prefix]
	read, err := catalog.ReadManifests(ctx, r.Client, s.Bucket, bs)
	if err != nil {
		return err
	}
	key := r.Key
	if key != "" && !strings.Contains(key, "/") && s.KeyPrefix != "" {
		key = s.KeyPrefix + key // a name in the folder
	}
	b, skipped, newer, err := catalog.Pick(bs, read, key, at, r.now(), r.Force)
	for _, sk := range skipped {
		r.Log.PrefixWarn(t.Prefix, fmt.Sprintf("skipped %s: %s", Printable(sk.Backup.Key), Printable(sk.Why)))
	}
	if err != nil {
		if len(bs) == 0 {
			return fmt.Errorf("%w: no backup of %s at s3://%s/%s%s-*", catalog.ErrNoBackup, t.Prefix, s.Bucket, s.KeyPrefix, t.Prefix)
		}
		return err
	}
	if b.Alone() {
		return fmt.Errorf("%w: s3://%s/%s is the %s of a '*' line, not a database: restore one of its databases (%s.NAME) with -globals", catalog.ErrNoBackup, s.Bucket, b.Key, b.Companion, t.Prefix)
	}
	r.Chosen = b
	var info *catalog.Info
	if m, ok := read[b.Key]; ok {
		info = m.Info
	}
	dbname, _ := restore.Database(r.Into)
	var globals catalog.Backup
	if r.Globals {
		for _, c := range b.Companions {
			if c.Companion == globalsName {
				globals = c
			}
		}
		if globals.Key == "" && info != nil && info.ListPrefix != "" && info.ListPrefix != t.Prefix {
			if globals, err = r.lineGlobals(ctx, t, b, info.ListPrefix, read); err != nil {
				return err
			}
		}
		if globals.Key == "" {
			return fmt.Errorf("%w: %s has no globals beside it: the run that made it had no %s=true, or could not store them; restore without -globals", ErrNoGlobals, b.Key, config.EnvDumpGlobals)
		}
	}
	r.StockCommand = stockCommand(s, b, info, r.Into)
	if r.Globals {
		var ginfo *catalog.Info
		if m, ok := read[globals.Key]; ok {
			ginfo = m.Info
		}
		r.StockCommand = stockCommand(s, globals, ginfo, "") + "\n" + r.StockCommand
	}
	r.Log.RestoreChosen(t, s.Bucket, b, info, dbname, newer, r.now())

	pgRestore, err := r.pgRestore(b, info)
	if err != nil {
		return err
	}
	if r.DryRun {
		return nil
	}
	v := &Verifier{Settings: s, Client: r.Client, Log: r.Log, RestoreInto: r.Into, TrustDump: r.TrustDump,
		now: r.now, commit: true, clean: r.Clean, pgRestore: pgRestore, restored: &countingWriter{}}
	if r.Globals {
		v.roles = &restore.Roles{AlterExisting: r.GlobalsPasswords}
		v.rolesConnect = r.rolesConnect
		if err := r.checkRoles(ctx); err != nil {
			return err
		}
	}
	created, err := r.prepare(ctx, dbname)
	if err != nil {
		return err
	}
	started := r.now()
	if r.Globals {
		err := r.restoreRoles(ctx, v, t, globals, read)
		if err != nil {
			if created {
				r.dropCreated(dbname)
			}
			return err
		}
	}
	var m = read[b.Key]
	stop := r.progress(t, v.restored, started)
	st, err := v.check(ctx, b, m.M, info)
	stop()
	if err != nil {
		if created {
			r.dropCreated(dbname)
		}
		if v.roles != nil {
			r.dropRoles(v.roles.Created)
		}
		return err
	}
	r.Log.RestoreDone(t, s.Bucket, b.Key, dbname, st.plain, st.tables, st.rows, r.now().Sub(started))
	return nil
}

// lineGlobals chooses the globals of a database a '*' line found (its
// manifest names the line, list): the newest globals of the line that
// started at or before the dump b and qualify as a dump does
// (catalog.Pick), those of b's run when they were stored. Their manifests
// are added to read.
func (r *Restorer) lineGlobals(ctx context.Context, t pgpass.Entry, b catalog.Backup, line string, read map[string]catalog.ManifestRead) (catalog.Backup, error) {
	s := r.Settings
	cat, err := catalog.Catalog(ctx, r.Client, s.Bucket, s.KeyPrefix, line)
	if err != nil {
		return catalog.Backup{}, err
	}
	gs := slices.DeleteFunc(cat[line], func(g catalog.Backup) bool { return g.Companion != globalsName })
	gread, err := catalog.ReadManifests(ctx, r.Client, s.Bucket, gs)
	if err != nil {
		return catalog.Backup{}, err
	}
	maps.Copy(read, gread)
	g, skipped, newer, err := catalog.Pick(gs, gread, "", b.Time, r.now(), r.Force)
	for _, sk := range skipped {
		r.Log.PrefixWarn(t.Prefix, fmt.Sprintf("skipped the globals %s: %s", Printable(sk.Backup.Key), Printable(sk.Why)))
	}
	if err != nil && newer > 0 {
		// The line's retention counts its globals, not the dumps that
		// need them: an older dump kept (a database since dropped, or
		// one that failed on some runs) may outlive every globals up to
		// its time. The oldest later ones then give the roles, with
		// those created since.
		for i := len(gs) - 1; i >= 0; i-- {
			if !gs[i].Time.After(b.Time) {
				continue
			}
			if later, _, _, lerr := catalog.Pick(gs, gread, gs[i].Key, b.Time, r.now(), r.Force); lerr == nil {
				r.Log.PrefixWarn(t.Prefix, fmt.Sprintf("no globals of the '*' line %s at or before %s UTC are left; using the oldest later ones, %s, which may hold roles created since", line, b.Time.Format("2006-01-02 15:04:05"), Printable(later.Key)))
				return later, nil
			}
		}
	}
	if err != nil {
		return catalog.Backup{}, fmt.Errorf("%w: %s was found by the '*' line %s, whose globals are stored once for the line, and none qualifies at or before %s UTC (%v): the runs had no %s=true, or could not store them; restore without -globals",
			ErrNoGlobals, b.Key, line, b.Time.Format("2006-01-02 15:04:05"), err, config.EnvDumpGlobals)
	}
	return g, nil
}

// rolesConnect connects to restore the globals: as GlobalsAs, or as Into
// to its server's postgres database.
func (r *Restorer) rolesConnect(ctx context.Context) (*pgconn.PgConn, error) {
	if r.GlobalsAs != "" {
		return restore.Connect(ctx, r.GlobalsAs)
	}
	return restore.ConnectTo(ctx, r.Into, "postgres")
}

// checkRoles checks, before anything is written, that the globals'
// connection may create roles (restore.Roles).
func (r *Restorer) checkRoles(ctx context.Context) error {
	conn, err := r.rolesConnect(ctx)
	if err != nil {
		return fmt.Errorf("%w: connecting to restore the roles: %w", ErrGlobals, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := (&restore.Roles{}).Check(ctx, conn, r.TrustDump); err != nil {
		if errors.Is(err, restore.ErrCannotCreateRoles) && r.GlobalsAs == "" {
			return fmt.Errorf("%w: %w: give -globals-as the connection of a role with CREATEROLE, e.g. -globals-as 'dbname=postgres user=role_admin'", ErrGlobals, err)
		}
		return fmt.Errorf("%w: %w", ErrGlobals, err)
	}
	return nil
}

// ErrGlobals is wrapped by the errors of the connection -globals restores
// the roles over, found before anything is written.
var ErrGlobals = errors.New("-globals")

// restoreRoles restores the globals, committed before the dump is
// restored (its ownership names their roles), and logs what they created
// and left out.
func (r *Restorer) restoreRoles(ctx context.Context, v *Verifier, t pgpass.Entry, g catalog.Backup, read map[string]catalog.ManifestRead) error {
	m, info, err := v.manifest(t, g, read, "size or SHA-256")
	if err == nil && m == nil && !r.Force {
		err = fmt.Errorf("%s has no manifest: its size and SHA-256 cannot be checked (-force-unverified restores it anyway)", g.Key)
	}
	if err != nil {
		return fmt.Errorf("globals: %w", err)
	}
	if info != nil && info.RolePasswords != nil && !*info.RolePasswords {
		r.Log.PrefixWarn(t.Prefix, "the globals hold no role passwords (the backup's login could not read them): set them before the roles' users log in")
	}
	if _, err := v.check(ctx, g, m, info); err != nil {
		return fmt.Errorf("globals %s: %w", g.Key, err)
	}
	for _, note := range v.roles.Notes {
		r.Log.PrefixWarn(t.Prefix, "globals: "+Printable(note))
	}
	r.Log.RestoreRoles(t, r.Settings.Bucket, g.Key, v.roles.Created, v.roles.Skipped)
	return nil
}

// dropRoles drops the roles the globals created, for a restore that
// failed after they were committed.
func (r *Restorer) dropRoles(created []string) {
	if len(created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := r.rolesConnect(ctx)
	if err == nil {
		defer conn.Close(ctx)
		err = restore.DropRoles(ctx, conn, created)
	}
	if err != nil {
		r.Log.Warn(fmt.Sprintf("the restore created the roles %s and could not drop them again: %v", Printable(strings.Join(created, ", ")), err))
	}
}

// prepare makes sure the target exists (creating it with Create) and,
// without Clean, that it is empty. Unless the dump is trusted, the role
// is checked first, before anything is created. It reports whether it
// created the target.
func (r *Restorer) prepare(ctx context.Context, dbname string) (created bool, err error) {
	if r.Create {
		admin, err := restore.ConnectTo(ctx, r.Into, "postgres")
		if err != nil {
			return false, fmt.Errorf("-create: connecting to the server's postgres database: %w", err)
		}
		if err := r.checkRole(ctx, admin); err != nil {
			admin.Close(context.WithoutCancel(ctx))
			return false, err
		}
		created, err = restore.CreateDatabase(ctx, admin, dbname)
		admin.Close(context.WithoutCancel(ctx))
		if err != nil {
			return false, fmt.Errorf("-create: %w", err)
		}
	}
	err = r.checkTarget(ctx, dbname)
	if err != nil && created {
		r.dropCreated(dbname)
		created = false
	}
	return created, err
}

// checkTarget checks the role on the target and, without Clean, that
// the target is empty.
func (r *Restorer) checkTarget(ctx context.Context, dbname string) error {
	conn, err := restore.Connect(ctx, r.Into)
	if err != nil {
		return fmt.Errorf("connecting to the target database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := r.checkRole(ctx, conn); err != nil {
		return err
	}
	if r.Clean {
		return nil
	}
	c, err := restore.ReadContents(ctx, conn)
	if err != nil {
		return err
	}
	if !c.Empty() {
		return fmt.Errorf("%w: %s holds %s; restore into an empty database (-create makes one), or give -clean to replace what the restoring role owns there", ErrTargetNotEmpty, dbname, c)
	}
	return nil
}

// checkRole refuses, unless the dump is trusted, a role that may do more
// than a database owner (restore.CheckRole).
func (r *Restorer) checkRole(ctx context.Context, conn *pgconn.PgConn) error {
	if r.TrustDump {
		return nil
	}
	role, err := restore.CheckRole(ctx, conn)
	if err != nil {
		return err
	}
	return role.Err()
}

// dropCreated drops the database a failed restore created, which the
// rolled-back restore left empty.
func (r *Restorer) dropCreated(dbname string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := restore.ConnectTo(ctx, r.Into, "postgres")
	if err == nil {
		err = restore.DropDatabase(ctx, admin, dbname)
		admin.Close(ctx)
	}
	if err != nil {
		r.Log.Warn(fmt.Sprintf("the restore created database %s and could not drop it again: %v", dbname, err))
	}
}

// pgRestore chooses the pg_restore that reads a custom dump: one at least
// as new as the pg_dump that wrote it (an older one refuses the archive),
// among the installed clients, else the one on PATH.
func (r *Restorer) pgRestore(b catalog.Backup, info *catalog.Info) (string, error) {
	if b.Format != "custom" {
		return "", nil
	}
	need := 0
	if info != nil {
		fmt.Sscanf(info.PgDumpVersion, "%d", &need)
	}
	clients, err := pgclient.Find(context.Background(), pgclient.Root, r.Settings.PgDump, childEnv(""))
	if err != nil || len(clients) == 0 {
		return "pg_restore", nil
	}
	newest := pgclient.Newest(clients)
	if need > newest.Version.Major {
		return "", fmt.Errorf("the backup was made by pg_dump %s, and the newest client here is %s: pg_restore %s cannot read it; install the PostgreSQL %d client (postgresql-client-%d)",
			info.PgDumpVersion, newest.Version, newest.Version, need, need)
	}
	return filepath.Join(filepath.Dir(newest.PgDump), "pg_restore"), nil
}

// progress logs how far the restore got every Settings.Progress, until
// the returned function is called.
func (r *Restorer) progress(t pgpass.Entry, restored *countingWriter, started time.Time) (stop func()) {
	return every(r.Settings.Progress, func() { r.Log.RestoreProgress(t, restored.n.Load(), r.now().Sub(started)) })
}

// stockCommand is the stock tools' one-liner that restores b into the
// target: its manifest's, or what the job would have written.
func stockCommand(s *Settings, b catalog.Backup, info *catalog.Info, into string) string {
	i := info
	if i == nil {
		i = &catalog.Info{Format: b.Format, Compression: b.Compression}
		setEncryption(i, s)
	} else {
		c := *info
		i = &c
	}
	i.Bucket, i.Key, i.Companion = s.Bucket, b.Key, b.Companion
	cmd := i.StockRestore()
	if b.Companion != "" {
		return cmd
	}
	target := shellQuote(into)
	if b.Format == "plain" {
		return strings.Replace(cmd, "psql -d NEWDB", "psql -X -v ON_ERROR_STOP=1 --single-transaction -d "+target, 1)
	}
	return strings.Replace(cmd, "pg_restore --no-owner -d NEWDB", "pg_restore --no-owner --no-privileges --single-transaction --exit-on-error -d "+target, 1)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

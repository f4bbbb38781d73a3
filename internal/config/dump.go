package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
)

// checkPrograms finds the programs a backup runs as it will run them:
// pg_dump (pgDump, else the installed clients, else pg_dump on path) and
// psql beside it or on path, and with globals pg_dumpall beside each
// pg_dump the job may choose, or on path. explicit says PG_DUMP named
// pgDump.
func checkPrograms(path, pgDump string, explicit, globals bool) []error {
	dumps := []string{pgDump}
	if pgDump == "" {
		dumps = pgclient.Installed(pgclient.Root)
	}
	var errs []error
	if len(dumps) == 0 || pgDump != "" {
		// Installed clients are each asked for their version when the
		// job starts; otherwise pg_dump and psql must be found now.
		if pgDump == "" {
			pgDump = "pg_dump"
		}
		found, err := pgclient.Lookup(pgDump, path)
		switch {
		case err != nil && !explicit:
			return []error{fmt.Errorf("pg_dump not found in %s/*/bin or on PATH: install the PostgreSQL client or set %s", pgclient.Root, EnvPgDump)}
		case err != nil:
			return []error{fmt.Errorf("%s=%q: %v: install the PostgreSQL client or set %s to its pg_dump", EnvPgDump, pgDump, err, EnvPgDump)}
		}
		if !besideOrOnPath("psql", found, path) {
			errs = append(errs, fmt.Errorf("psql not found beside %s or on PATH: install the PostgreSQL client (the job asks the server for its version with it)", found))
		}
		dumps = []string{found}
	}
	if !globals {
		return errs
	}
	for _, d := range dumps {
		if !besideOrOnPath("pg_dumpall", d, path) {
			return append(errs, fmt.Errorf("%s=true: pg_dumpall not found beside %s or on PATH: install the PostgreSQL client", EnvDumpGlobals, d))
		}
	}
	return errs
}

// besideOrOnPath reports whether the program name is installed beside the
// program found, or on path: where the job will look for it.
func besideOrOnPath(name, found, path string) bool {
	if pgclient.Executable(filepath.Join(filepath.Dir(found), name)) == nil {
		return true
	}
	_, err := pgclient.Lookup(name, path)
	return err == nil
}

// checkDumpArg refuses a pg_dump argument that would change what the job
// relies on: where the dump goes, its format, compression, the connection.
// pg_dump accepts unambiguous abbreviations of long options, so a prefix
// of a forbidden option is refused too; and a word that is not an option
// would be taken as the database name, so options must be written
// --name=value.
//
// For the plain format it also refuses --clean and --create: such a dump
// starts with DROP DATABASE, CREATE DATABASE and \connect to the database
// it was made from, so restoring it anywhere replaces that database. The
// archive formats ignore both (pg_restore decides).
func checkDumpArg(a, format string) error {
	if !strings.HasPrefix(a, "-") {
		return fmt.Errorf("%s: %q is not an option; write options with their value as --name=value", EnvPgDumpArgs, a)
	}
	plain := format == "plain"
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		for _, long := range []string{"file", "format", "host", "port", "username", "dbname", "password", "no-password", "compress", "jobs"} {
			if len(name) >= 2 && strings.HasPrefix(long, name) {
				return fmt.Errorf("%s: %q (--%s) is set by the job itself and cannot be overridden", EnvPgDumpArgs, a, long)
			}
		}
		for _, long := range []string{"clean", "create"} {
			if plain && len(name) >= 2 && strings.HasPrefix(long, name) {
				return dropsDatabase(a, "--"+long)
			}
		}
		return nil
	}
	// Short options, possibly bundled: -Fp, -vf x, -cC.
	for _, c := range a[1:] {
		if strings.ContainsRune("fFhpUdWwZj", c) {
			return fmt.Errorf("%s: %q (-%c) is set by the job itself and cannot be overridden", EnvPgDumpArgs, a, c)
		}
		if plain && (c == 'c' || c == 'C') {
			return dropsDatabase(a, "-"+string(c))
		}
		if !strings.ContainsRune("abBcCORsvx", c) {
			break // an option with a value: the rest is the value
		}
	}
	return nil
}

func dropsDatabase(arg, opt string) error {
	return fmt.Errorf("%s: %q (%s) is refused with %s=plain: the dump would drop or create its database and connect to it by name, so a restore would replace the live database instead of filling the one it was meant for; create the target database before restoring instead",
		EnvPgDumpArgs, arg, opt, EnvFormat)
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/discover"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// ErrNoList is returned by List when neither variable of the list is set.
var ErrNoList = fmt.Errorf("no pgpass list: set %s or %s", EnvPgpassBase64, EnvPgpassFile)

// List returns the pgpass list the environment names, and a description
// of where it came from for messages. PGPASS_FILE_BASE64 is used when it
// is not empty, else the file named by PGPASS_FILE. The base64 form comes
// first because the original image required it and used PGPASS_FILE as
// the place to write it, so a setting that has both must keep meaning the
// base64 form.
func List(getenv func(string) string) (data []byte, from string, err error) {
	return list(&env{getenv: getenv})
}

func list(e *env) (data []byte, from string, err error) {
	if s := e.get(EnvPgpassBase64); s != "" {
		from = "$" + EnvPgpassBase64
		data, err := pgpass.DecodeBase64(s)
		if err != nil {
			return nil, from, fmt.Errorf("%s: %w", from, err)
		}
		return data, from, nil
	}
	if name := e.get(EnvPgpassFile); name != "" {
		from = fmt.Sprintf("$%s (%s)", EnvPgpassFile, name)
		data, err := pgpass.ReadFile(name)
		if err != nil {
			return nil, from, fmt.Errorf("%s: %w", EnvPgpassFile, err)
		}
		return data, from, nil
	}
	return nil, "", ErrNoList
}

// CheckCommandPrefixes refuses a pgpass list in the environment that has
// one of commands (the job's command words) as a prefix, for actions that
// otherwise need no list: a scheduled "backup.sh list" meant to back up
// the database of the line "list" would list the bucket instead and
// succeed. Without a list, or with one that cannot be read, it says
// nothing: those actions do not need it.
func CheckCommandPrefixes(getenv func(string) string, commands ...string) error {
	data, from, err := List(getenv)
	if err != nil {
		return nil
	}
	_, err = pgpass.Parse(bytes.NewReader(data), commands...)
	joined, _ := err.(interface{ Unwrap() []error })
	if joined == nil {
		return nil
	}
	var errs []error
	for _, e := range joined.Unwrap() {
		if errors.Is(e, pgpass.ErrCommand) {
			errs = append(errs, fmt.Errorf("%s: %w", from, e))
		}
	}
	return errors.Join(errs...)
}

// Prunes tells the prefixes a backup or prune with this environment
// prunes: the list's, without its ignored lines, and those of the
// databases its '*' lines find (which DATABASES_INCLUDE and
// DATABASES_EXCLUDE keep); nil when the environment has no list that
// reads (list needs none).
func Prunes(getenv func(string) string) func(prefix string) bool {
	data, _, err := List(getenv)
	if err != nil {
		return nil
	}
	entries, err := pgpass.Parse(strings.NewReader(string(data)))
	if err != nil {
		return nil
	}
	targets, err := pgpass.Targets(entries, "")
	if err != nil {
		return nil
	}
	e := &env{getenv: getenv}
	var f discover.Filter
	f.Include, _ = discover.ParseGlobs(e.get(EnvDatabasesInclude))
	f.Exclude, _ = discover.ParseGlobs(e.get(EnvDatabasesExclude))
	return func(prefix string) bool {
		for _, t := range targets {
			if t.Prefix == prefix {
				return true
			}
			if name, ok := discover.Of(t.Prefix, prefix); t.Discover && ok && f.Keeps(name) {
				return true
			}
		}
		return false
	}
}

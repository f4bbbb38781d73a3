package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// A Skip is a backup a restore passed over, and why.
type Skip struct {
	Backup Backup
	Why    string
}

// ErrNoBackup is wrapped by Pick's error when no backup qualifies.
var ErrNoBackup = errors.New("no backup to restore")

// Pick chooses the backup a restore takes from bs (one prefix's, newest
// first, with their manifests read): the newest started at or before at,
// or, with key, that one. A backup qualifies when its manifest describes
// it (name and start time) and has its size; without a manifest, or with
// one of another size, only force lets it qualify, and a manifest that
// names another object never qualifies (a copy under another name). A
// backup dated ahead of now (beyond the allowed clock skew) never
// qualifies. It returns the backups at or before at that it passed over
// and how many are newer than at.
func Pick(bs []Backup, read map[string]ManifestRead, key string, at, now time.Time, force bool) (chosen Backup, skipped []Skip, newer int, err error) {
	for _, b := range bs {
		if key != "" && b.Key != key {
			continue
		}
		if key == "" && b.Time.After(at) && !b.Future(now) {
			newer++
			continue
		}
		why := unqualified(b, read, now, force)
		if why == "" {
			return b, skipped, newer, nil
		}
		skipped = append(skipped, Skip{b, why})
		if key != "" {
			return Backup{}, skipped, newer, fmt.Errorf("%w: %s: %s", ErrNoBackup, key, why)
		}
	}
	before := 0 // the skipped ones at or before at
	for _, s := range skipped {
		if !s.Backup.Future(now) {
			before++
		}
	}
	switch {
	case key != "":
		return Backup{}, nil, 0, fmt.Errorf("%w: no backup %s", ErrNoBackup, key)
	case before > 0:
		return Backup{}, skipped, newer, fmt.Errorf("%w: none of the %d backups at or before %s qualifies", ErrNoBackup, before, at.UTC().Format(time.RFC3339))
	case newer > 0:
		return Backup{}, skipped, newer, fmt.Errorf("%w: all %d backups started after %s (the oldest: %s)", ErrNoBackup, newer, at.UTC().Format(time.RFC3339), bs[len(bs)-1].Time.Format(time.RFC3339))
	}
	return Backup{}, skipped, 0, fmt.Errorf("%w: there are no backups", ErrNoBackup)
}

// unqualified says why b may not be restored, "" when it may.
func unqualified(b Backup, read map[string]ManifestRead, now time.Time, force bool) string {
	if b.Future(now) {
		return "it is dated ahead of this machine's clock"
	}
	if b.Size == 0 {
		return "the object is empty"
	}
	r, ok := read[b.Key]
	if !ok {
		if force {
			return ""
		}
		return "it has no manifest, so its size and SHA-256 cannot be checked (-force-unverified restores it)"
	}
	if why := ManifestNames(b, r.M, r.Info); why != "" {
		return why + ": it is not the backup its name says"
	}
	if r.M.Size != b.Size && !force {
		return fmt.Sprintf("the object has %d bytes, its manifest says %d (-force-unverified restores it)", b.Size, r.M.Size)
	}
	return ""
}

var (
	dateOnly   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	dateMinute = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$`)
	dateSecond = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$`)
)

// ParseAt reads a restore's point in time, relative to now: RFC 3339
// (2026-11-27T06:00:00Z, with an offset or Z); a UTC date and time
// without a zone (2026-11-27T06:00, 2026-11-27 06:00:30); a UTC date
// (2026-11-27: the end of that day, so that its backups count); or a
// duration before now (36h, 90m, 7d; days d, hours h, minutes m, seconds
// s). A time ahead of now is an error.
func ParseAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	switch {
	case s == "":
		return now, nil
	case dateOnly.MatchString(s):
		t, err = time.Parse("2006-01-02", s)
		t = t.Add(24*time.Hour - time.Second)
	case dateMinute.MatchString(s):
		t, err = time.Parse("2006-01-02T15:04", strings.Replace(s, " ", "T", 1))
	case dateSecond.MatchString(s):
		t, err = time.Parse("2006-01-02T15:04:05", strings.Replace(s, " ", "T", 1))
	case strings.Contains(s, "-") && strings.Contains(s, ":"):
		t, err = time.Parse(time.RFC3339, s)
	default:
		d, derr := parseAgo(s)
		if derr != nil {
			return time.Time{}, fmt.Errorf("-at %q: want a time (2026-11-27T06:00:00Z, 2026-11-27T06:00 UTC, 2026-11-27) or how long ago (36h, 7d)", s)
		}
		return now.Add(-d), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("-at %q: %v", s, err)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("-at %s is in the future (now is %s): no backup can be from then", t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return t, nil
}

var agoRE = regexp.MustCompile(`^(\d+)([dhms])`)

// parseAgo reads a duration of days, hours, minutes and seconds (7d12h).
func parseAgo(s string) (time.Duration, error) {
	var d time.Duration
	if s == "" {
		return 0, errors.New("empty")
	}
	for s != "" {
		m := agoRE.FindStringSubmatch(s)
		if m == nil {
			return 0, errors.New("not a duration")
		}
		var n int64
		fmt.Sscan(m[1], &n)
		if n > 1e6 {
			return 0, errors.New("too long")
		}
		unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}[m[2]]
		d += time.Duration(n) * unit
		s = s[len(m[0]):]
	}
	return d, nil
}

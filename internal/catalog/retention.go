package catalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The retention settings; names and meaning are restic forget's. Unset (or
// 0) rules keep nothing by themselves; with none set nothing is pruned.
const (
	envKeepLast    = "KEEP_LAST"    // the n newest backups
	envKeepHourly  = "KEEP_HOURLY"  // the newest of each of the n newest hours with a backup
	envKeepDaily   = "KEEP_DAILY"   // … days
	envKeepWeekly  = "KEEP_WEEKLY"  // … ISO weeks
	envKeepMonthly = "KEEP_MONTHLY" // … months
	envKeepYearly  = "KEEP_YEARLY"  // … years
	envKeepWithin  = "KEEP_WITHIN"  // every backup newer than the newest minus this
	// MaxKeep is the largest count a rule takes.
	MaxKeep = 1_000_000
)

// Rules are the retention rules. A backup is kept when any rule keeps it,
// and each rule counts on its own: a backup that KEEP_LAST keeps still
// fills its day for KEEP_DAILY. Everything counts from the backups of one
// prefix, never from the clock.
type Rules struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within                                       Within
}

// Within is KEEP_WITHIN: years, months, days and hours, as restic writes
// it ("1y2m", "30d", "36h"; m is months).
type Within struct{ Years, Months, Days, Hours int }

// IsZero reports whether w is unset.
func (w Within) IsZero() bool { return w == Within{} }

func (w Within) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{w.Years, "y"}, {w.Months, "m"}, {w.Days, "d"}, {w.Hours, "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	return b.String()
}

// since is the time w before t: calendar years, months and days, then
// hours, as restic counts them, except that a day the month arrived at
// does not have is its last day (1m before 31 March is 28 February):
// AddDate would carry it into the next month (3 March) and keep less.
func (w Within) since(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y-w.Years, m-time.Month(w.Months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1-w.Days).Add(-time.Duration(w.Hours) * time.Hour)
}

// ParseWithin reads a KEEP_WITHIN value: one or more whole numbers, each
// followed by its unit, y, m (months), d or h, each unit at most once.
func ParseWithin(s string) (Within, error) {
	var w Within
	seen := map[byte]bool{}
	rest := s
	if rest == "" {
		return w, fmt.Errorf("empty duration")
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return Within{}, fmt.Errorf("not a number followed by y, m, d or h")
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > MaxKeep {
			return Within{}, fmt.Errorf("%s is too large", rest[:i])
		}
		unit := rest[i]
		if seen[unit] {
			return Within{}, fmt.Errorf("%c given twice", unit)
		}
		seen[unit] = true
		switch unit {
		case 'y':
			w.Years = n
		case 'm':
			w.Months = n
		case 'd':
			w.Days = n
		case 'h':
			w.Hours = n
		default:
			return Within{}, fmt.Errorf("unknown unit %q", unit)
		}
		rest = rest[i+1:]
	}
	return w, nil
}

// IsSet reports whether any rule is set: without one, nothing is pruned.
func (r Rules) IsSet() bool {
	return r.Last > 0 || r.Hourly > 0 || r.Daily > 0 || r.Weekly > 0 || r.Monthly > 0 || r.Yearly > 0 || !r.Within.IsZero()
}

// String names the rules that are set, as settings: "KEEP_DAILY=7 KEEP_WEEKLY=5".
func (r Rules) String() string {
	var parts []string
	for _, c := range r.counts() {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c.env, c.n))
		}
	}
	if !r.Within.IsZero() {
		parts = append(parts, envKeepWithin+"="+r.Within.String())
	}
	return strings.Join(parts, " ")
}

// A count is one of the counting rules: how many periods (or backups) it
// keeps and the period a backup falls in.
type count struct {
	env    string
	name   string // the reason a kept backup shows
	n      int
	period func(t time.Time, i int) int64
}

func (r Rules) counts() []count {
	return []count{
		{envKeepLast, "last", r.Last, func(_ time.Time, i int) int64 { return int64(i) }},
		{envKeepHourly, "hourly", r.Hourly, func(t time.Time, _ int) int64 {
			return int64(t.Year())*1_000_000 + int64(t.Month())*10_000 + int64(t.Day())*100 + int64(t.Hour())
		}},
		{envKeepDaily, "daily", r.Daily, func(t time.Time, _ int) int64 {
			return int64(t.Year())*10_000 + int64(t.Month())*100 + int64(t.Day())
		}},
		{envKeepWeekly, "weekly", r.Weekly, func(t time.Time, _ int) int64 {
			y, w := t.ISOWeek()
			return int64(y)*100 + int64(w)
		}},
		{envKeepMonthly, "monthly", r.Monthly, func(t time.Time, _ int) int64 { return int64(t.Year())*100 + int64(t.Month()) }},
		{envKeepYearly, "yearly", r.Yearly, func(t time.Time, _ int) int64 { return int64(t.Year()) }},
	}
}

// Reasons a backup is kept beyond the rules, or left alone.
const (
	// ReasonNewest keeps the newest backup that has a manifest, whatever
	// the rules say: the last good backup is never deleted.
	ReasonNewest = "newest with manifest"
	// ReasonFuture leaves alone a backup dated ahead of the clock (see
	// Backup.Future): the rules neither count nor delete it.
	ReasonFuture = "dated in the future"
	// ReasonMismatch leaves alone a backup whose manifest (or a
	// companion's) does not describe it (see Backup.Mismatched): the
	// rules neither count nor delete it.
	ReasonMismatch = "manifest does not match its object"
	// ReasonThisRun keeps the backup the run just made, whatever else the
	// bucket holds: keys dated after it cannot make its own run delete it.
	ReasonThisRun = "this run's backup"
)

// A Decision is what the rules say about one backup.
type Decision struct {
	Backup Backup
	Keep   bool
	// Why: the rules that keep it ("last", "daily", "within", ReasonNewest,
	// ReasonFuture, ReasonMismatch, ReasonThisRun), or, for a backup that
	// goes, why it is no backup when that is the reason ("empty").
	Why []string
	// Locked: the rules do not keep it, and its object lock does (set by
	// Pruner.Prune).
	Locked bool
}

// Apply decides, for the backups of one prefix, which the rules keep; the
// decisions are in the order of bs. now serves only to tell a backup dated
// in the future (see Backup.Future): such a backup is never counted, never
// taken as the newest, and never deleted; a clock that jumped ahead cannot
// make the rules delete real backups, and a copied or forged key cannot
// push them out. A backup whose manifest is known not to describe it
// (Backup.Mismatched: a copy under a newer name) is left alone the same
// way. An empty object (0 bytes) is no backup: it fills no
// period of a rule and is not kept. While a counting rule has periods
// left, it also keeps the oldest backup, as restic does. Without rules,
// every backup is kept.
//
// Periods are UTC hours, days, ISO weeks, months and years of the start
// time in the key. KEEP_WITHIN counts back from the newest backup that
// counts, not from now, so backups that stopped keep what they had.
func (r Rules) Apply(bs []Backup, now time.Time) []Decision { return r.apply(bs, now, "") }

// apply is Apply for a run that just made the backup committed (its key;
// "" for none): that backup is kept even when no rule keeps it
// (ReasonThisRun).
func (r Rules) apply(bs []Backup, now time.Time, committed string) []Decision {
	ds := make([]Decision, len(bs))
	if !r.IsSet() {
		// No rules, no pruning (restic's empty policy keeps everything).
		for i, b := range bs {
			ds[i] = Decision{Backup: b, Keep: true, Why: []string{"no rules"}}
		}
		return ds
	}
	// Newest first, as Catalog lists them, whatever the caller's order.
	order := make([]int, 0, len(bs))
	for i, b := range bs {
		ds[i].Backup = b
		switch {
		case b.Future(now):
			ds[i].Keep, ds[i].Why = true, []string{ReasonFuture}
		case b.Mismatched() != "":
			ds[i].Keep, ds[i].Why = true, []string{ReasonMismatch}
		case b.Size == 0:
			ds[i].Why = []string{"empty"}
		default:
			order = append(order, i)
		}
	}
	sortNewestFirst(order, bs)
	counts := r.counts()
	last := make([]int64, len(counts))
	left := make([]int, len(counts))
	for k, c := range counts {
		last[k], left[k] = -1, c.n
	}
	var newest time.Time
	if len(order) > 0 {
		newest = bs[order[0]].Time
	}
	newestManifest := true
	for nr, i := range order {
		b := bs[i]
		d := &ds[i]
		for k, c := range counts {
			if left[k] <= 0 {
				continue
			}
			// While a rule has periods left, it keeps the oldest backup
			// too (as restic does): the longest history it can.
			if p := c.period(b.Time.UTC(), nr); p != last[k] || nr == len(order)-1 {
				last[k] = p
				left[k]--
				d.Keep, d.Why = true, append(d.Why, c.name)
			}
		}
		if !r.Within.IsZero() && b.Time.After(r.Within.since(newest)) {
			d.Keep, d.Why = true, append(d.Why, "within")
		}
		if newestManifest && b.HasManifest {
			newestManifest = false
			if !d.Keep {
				d.Keep, d.Why = true, []string{ReasonNewest}
			}
		}
	}
	for i := range ds {
		if committed != "" && ds[i].Backup.Key == committed && !ds[i].Keep {
			ds[i].Keep, ds[i].Why = true, []string{ReasonThisRun}
		}
	}
	return ds
}

// sortNewestFirst orders the indexes of bs by time, newest first, and by
// key among backups of the same second, as Catalog does.
func sortNewestFirst(order []int, bs []Backup) {
	sort.SliceStable(order, func(i, j int) bool {
		a, b := bs[order[i]], bs[order[j]]
		if !a.Time.Equal(b.Time) {
			return a.Time.After(b.Time)
		}
		return a.Key > b.Key
	})
}

package catalog

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// at parses "2026-03-31 06:00" as UTC.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// history makes one backup a day at 06:00 UTC from first to last, newest
// first, each with a manifest and a size.
func history(t *testing.T, first, last string) []Backup {
	var bs []Backup
	for d := at(t, last+" 06:00"); !d.Before(at(t, first+" 06:00")); d = d.AddDate(0, 0, -1) {
		bs = append(bs, testBackup(d, true))
	}
	return bs
}

func testBackup(tm time.Time, manifest bool) Backup {
	return Backup{Prefix: "db1", Key: ObjectName("db1", tm, ".gz", ".aes"), Time: tm, Size: 100, HasManifest: manifest,
		Compression: "gzip", Format: "plain", Encryption: "openssl"}
}

// kept lists the decisions that keep a backup as "2006-01-02 15:04 why,why".
func kept(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		if d.Keep {
			out = append(out, d.Backup.Time.Format("2006-01-02 15:04")+" "+strings.Join(d.Why, ","))
		}
	}
	return out
}

// TestRulesApply checks the rules against cases worked out by hand (the
// weekdays and ISO weeks from date(1)).
func TestRulesApply(t *testing.T) {
	now := at(t, "2026-12-01 12:00")
	times := func(bs ...string) []Backup {
		var out []Backup
		for _, s := range bs {
			out = append(out, testBackup(at(t, s), true))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		rules Rules
		bs    []Backup
		now   time.Time
		want  []string
	}{
		{
			// The recommendation of docs/verify-and-retention.md over 90
			// daily backups: the 7 newest days; the newest of 5 ISO weeks
			// (Tue 31 March is in week 14, Sundays 29, 22, 15 and 8 March
			// end weeks 13 to 10); the newest of each month; and, as only 3
			// of 12 months exist, the oldest.
			name:  "daily 7 weekly 5 monthly 12",
			rules: Rules{Daily: 7, Weekly: 5, Monthly: 12},
			bs:    history(t, "2026-01-01", "2026-03-31"),
			want: []string{
				"2026-03-31 06:00 daily,weekly,monthly",
				"2026-03-30 06:00 daily", "2026-03-29 06:00 daily,weekly", "2026-03-28 06:00 daily",
				"2026-03-27 06:00 daily", "2026-03-26 06:00 daily", "2026-03-25 06:00 daily",
				"2026-03-22 06:00 weekly", "2026-03-15 06:00 weekly", "2026-03-08 06:00 weekly",
				"2026-02-28 06:00 monthly", "2026-01-31 06:00 monthly", "2026-01-01 06:00 monthly",
			},
		},
		{
			// Each rule counts on its own: the newest backup fills both the
			// first of KEEP_LAST and the first day of KEEP_DAILY, so the
			// second day is the 26th, not the 25th.
			name:  "last and daily count on their own",
			rules: Rules{Last: 2, Daily: 2},
			bs:    times("2026-11-27 06:00", "2026-11-27 00:30", "2026-11-26 18:00", "2026-11-26 06:00", "2026-11-25 06:00"),
			want:  []string{"2026-11-27 06:00 last,daily", "2026-11-27 00:30 last", "2026-11-26 18:00 daily"},
		},
		{
			name:  "hourly",
			rules: Rules{Hourly: 3},
			bs:    times("2026-11-27 10:50", "2026-11-27 10:10", "2026-11-27 09:59", "2026-11-27 09:00", "2026-11-27 07:30", "2026-11-27 06:00"),
			want:  []string{"2026-11-27 10:50 hourly", "2026-11-27 09:59 hourly", "2026-11-27 07:30 hourly"},
		},
		{
			// 2026 has 53 ISO weeks: Thu 31 December 2026 and Sun 3 January
			// 2027 are both in 2026-W53, Mon 4 January starts 2027-W01.
			name:  "weekly across the new year",
			rules: Rules{Weekly: 2},
			bs:    times("2027-01-04 06:00", "2027-01-03 06:00", "2026-12-31 06:00", "2026-12-27 06:00"),
			now:   at(t, "2027-01-05 00:00"),
			want:  []string{"2027-01-04 06:00 weekly", "2027-01-03 06:00 weekly"},
		},
		{
			name:  "yearly across the new year",
			rules: Rules{Yearly: 2},
			bs:    times("2027-01-04 06:00", "2027-01-03 06:00", "2026-12-31 06:00", "2026-12-27 06:00"),
			now:   at(t, "2027-01-05 00:00"),
			want:  []string{"2027-01-04 06:00 yearly", "2026-12-31 06:00 yearly"},
		},
		{
			// Backups stopped on 27 November; the clock says 1 December.
			// KEEP_WITHIN counts from the newest backup: 2 days before
			// 27 November 06:00 is 25 November 06:00, which is not newer.
			name:  "within counts from the newest backup, not the clock",
			rules: Rules{Within: Within{Days: 2}},
			bs:    history(t, "2026-11-20", "2026-11-27"),
			want:  []string{"2026-11-27 06:00 within", "2026-11-26 06:00 within"},
		},
		{
			name:  "daily counts the days that have a backup",
			rules: Rules{Daily: 3},
			bs:    times("2026-11-27 06:00", "2026-10-02 06:00", "2026-10-01 06:00", "2026-09-30 06:00"),
			want:  []string{"2026-11-27 06:00 daily", "2026-10-02 06:00 daily", "2026-10-01 06:00 daily"},
		},
		{
			// 1y2m before 31 March 2026 06:00 is 31 January 2025 06:00.
			name:  "within years and months",
			rules: Rules{Within: Within{Years: 1, Months: 2}},
			bs:    times("2026-03-31 06:00", "2025-01-31 07:00", "2025-01-31 06:00", "2024-12-01 06:00"),
			want:  []string{"2026-03-31 06:00 within", "2025-01-31 07:00 within"},
		},
		{
			// 1 month before 31 March is 28 February, the last day that
			// month has, not "31 February" carried into 3 March: the
			// backups of 1 to 3 March and the end of February are within.
			name:  "within a month from the end of a longer month",
			rules: Rules{Within: Within{Months: 1}},
			bs:    times("2026-03-31 06:00", "2026-03-02 06:00", "2026-03-01 06:00", "2026-02-28 07:00", "2026-02-28 06:00"),
			want:  []string{"2026-03-31 06:00 within", "2026-03-02 06:00 within", "2026-03-01 06:00 within", "2026-02-28 07:00 within"},
		},
		{
			// 1 year before 29 February 2028 is 28 February 2027; 1 month
			// and 1 day before 31 March 2026 is 27 February.
			name:  "within a year from a leap day",
			rules: Rules{Within: Within{Years: 1}},
			bs:    times("2028-02-29 06:00", "2027-03-01 06:00", "2027-02-28 07:00", "2027-02-28 06:00"),
			now:   at(t, "2028-03-01 00:00"),
			want:  []string{"2028-02-29 06:00 within", "2027-03-01 06:00 within", "2027-02-28 07:00 within"},
		},
		{
			name:  "within months and days past the end of a month",
			rules: Rules{Within: Within{Months: 1, Days: 1}},
			bs:    times("2026-03-31 06:00", "2026-02-28 06:00", "2026-02-27 07:00", "2026-02-27 06:00"),
			want:  []string{"2026-03-31 06:00 within", "2026-02-28 06:00 within", "2026-02-27 07:00 within"},
		},
		{
			// The largest values the settings take overflow nothing.
			name:  "within the largest durations",
			rules: Rules{Within: Within{MaxKeep, MaxKeep, MaxKeep, MaxKeep}, Last: MaxKeep},
			bs:    times("2026-03-31 06:00", "0001-01-01 00:00"),
			want:  []string{"2026-03-31 06:00 last,within", "0001-01-01 00:00 last,within"},
		},
		{
			name:  "last keeps the oldest while it has some left",
			rules: Rules{Last: 5},
			bs:    times("2026-11-27 06:00", "2026-11-26 06:00"),
			want:  []string{"2026-11-27 06:00 last", "2026-11-26 06:00 last"},
		},
		{
			// The rules keep a backup without a manifest (the original
			// image's); the newest backup with one is kept anyway.
			name:  "the newest backup with a manifest is kept",
			rules: Rules{Last: 1},
			bs: []Backup{
				testBackup(at(t, "2026-11-27 06:00"), false),
				testBackup(at(t, "2026-11-26 06:00"), true),
				testBackup(at(t, "2026-11-25 06:00"), true),
			},
			want: []string{"2026-11-27 06:00 last", "2026-11-26 06:00 " + ReasonNewest},
		},
		{
			// A backup dated ahead of the clock is neither counted nor
			// deleted: the real newest backup still fills KEEP_LAST.
			name:  "future",
			rules: Rules{Last: 1, Within: Within{Hours: 1}},
			bs:    times("2099-01-01 00:00", "2026-11-27 06:00", "2026-11-26 06:00"),
			want:  []string{"2099-01-01 00:00 " + ReasonFuture, "2026-11-27 06:00 last,within"},
		},
		{
			// An empty object is no backup: it takes no one's place.
			name:  "empty object",
			rules: Rules{Last: 2},
			bs: func() []Backup {
				bs := times("2026-11-27 06:00", "2026-11-26 06:00", "2026-11-25 06:00", "2026-11-24 06:00")
				bs[0].Size = 0
				return bs
			}(),
			want: []string{"2026-11-26 06:00 last", "2026-11-25 06:00 last"},
		},
		{
			name: "no rules keep everything",
			bs:   times("2026-11-27 06:00", "2026-11-26 06:00"),
			want: []string{"2026-11-27 06:00 no rules", "2026-11-26 06:00 no rules"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := now
			if !tc.now.IsZero() {
				n = tc.now
			}
			ds := tc.rules.Apply(tc.bs, n)
			if got := kept(ds); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for i, d := range ds {
				if d.Backup.Key != tc.bs[i].Key {
					t.Fatalf("decision %d is for %s, want %s: not in the given order", i, d.Backup.Key, tc.bs[i].Key)
				}
			}
			// The order of the input does not matter.
			rev := make([]Backup, len(tc.bs))
			for i, b := range tc.bs {
				rev[len(rev)-1-i] = b
			}
			var again []string
			ds = tc.rules.Apply(rev, n)
			for i := len(ds) - 1; i >= 0; i-- {
				if ds[i].Keep {
					again = append(again, ds[i].Backup.Time.Format("2006-01-02 15:04")+" "+strings.Join(ds[i].Why, ","))
				}
			}
			if !reflect.DeepEqual(again, tc.want) {
				t.Errorf("oldest first, kept:\n  %s", strings.Join(again, "\n  "))
			}
		})
	}
}

// TestRulesTwoYears: two years of daily backups under the recommended
// rules keep 7 + 4 more weeks + the months before them + the oldest.
func TestRulesTwoYears(t *testing.T) {
	bs := history(t, "2025-01-01", "2026-12-31")
	ds := Rules{Daily: 7, Weekly: 5, Monthly: 12}.Apply(bs, at(t, "2027-01-01 00:00"))
	got := kept(ds)
	// Thu 31 December 2026 is in 2026-W53 (28 Dec to 3 Jan); Sundays 27,
	// 20, 13 and 6 December end W52 to W49; Monthly: the last day of each
	// month back to January 2026 (31 December already kept).
	want := []string{
		"2026-12-31 06:00 daily,weekly,monthly", "2026-12-30 06:00 daily", "2026-12-29 06:00 daily",
		"2026-12-28 06:00 daily", "2026-12-27 06:00 daily,weekly", "2026-12-26 06:00 daily", "2026-12-25 06:00 daily",
		"2026-12-20 06:00 weekly", "2026-12-13 06:00 weekly", "2026-12-06 06:00 weekly",
		"2026-11-30 06:00 monthly", "2026-10-31 06:00 monthly", "2026-09-30 06:00 monthly", "2026-08-31 06:00 monthly",
		"2026-07-31 06:00 monthly", "2026-06-30 06:00 monthly", "2026-05-31 06:00 monthly", "2026-04-30 06:00 monthly",
		"2026-03-31 06:00 monthly", "2026-02-28 06:00 monthly", "2026-01-31 06:00 monthly",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(ds)-len(got) != 730-21 {
		t.Errorf("%d backups go, want %d", len(ds)-len(got), 730-21)
	}
}

func TestParseWithin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Within
	}{
		{"36h", Within{Hours: 36}},
		{"30d", Within{Days: 30}},
		{"1y2m", Within{Years: 1, Months: 2}},
		{"1y5m7d2h", Within{1, 5, 7, 2}},
		{"2h1y", Within{Years: 1, Hours: 2}},
	} {
		got, err := ParseWithin(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseWithin(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "h", "3", "3x", "1d1d", "-1d", "1.5d", "36H", "30 d", "1y ", "99999999999d"} {
		if w, err := ParseWithin(in); err == nil {
			t.Errorf("ParseWithin(%q) = %+v, want an error", in, w)
		}
	}
}

func TestRulesApplyMismatch(t *testing.T) {
	now := at(t, "2026-11-30 06:10")
	bs := history(t, "2026-11-26", "2026-11-30")
	for _, s := range []string{"2026-11-30 06:13", "2026-11-30 06:14"} {
		b := testBackup(at(t, s), true)
		b.Mismatch = "its manifest describes db1-20261126060000.gz.aes, started 2026-11-26 06:00:00 UTC"
		bs = append([]Backup{b}, bs...)
	}
	// A real backup whose globals' manifest describes other globals is
	// not counted either.
	bs[3].Companions = []Backup{{Key: "db1-20261129060000.globals.gz.aes", Companion: "globals", Mismatch: "its manifest describes x"}}
	for _, tc := range []struct {
		name  string
		rules Rules
		want  []string
	}{
		{"last", Rules{Last: 2}, []string{
			"2026-11-30 06:14 " + ReasonMismatch, "2026-11-30 06:13 " + ReasonMismatch,
			"2026-11-30 06:00 last", "2026-11-29 06:00 " + ReasonMismatch, "2026-11-28 06:00 last"}},
		{"hourly", Rules{Hourly: 1}, []string{
			"2026-11-30 06:14 " + ReasonMismatch, "2026-11-30 06:13 " + ReasonMismatch,
			"2026-11-30 06:00 hourly", "2026-11-29 06:00 " + ReasonMismatch}},
		{"daily", Rules{Daily: 2}, []string{
			"2026-11-30 06:14 " + ReasonMismatch, "2026-11-30 06:13 " + ReasonMismatch,
			"2026-11-30 06:00 daily", "2026-11-29 06:00 " + ReasonMismatch, "2026-11-28 06:00 daily"}},
		{"within", Rules{Within: Within{Hours: 1}}, []string{
			"2026-11-30 06:14 " + ReasonMismatch, "2026-11-30 06:13 " + ReasonMismatch,
			"2026-11-30 06:00 within", "2026-11-29 06:00 " + ReasonMismatch}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kept(tc.rules.Apply(bs, now)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
	// Not the newest backup with a manifest: that is the newest that
	// matches it.
	old := history(t, "2026-11-26", "2026-11-28")
	for i := range old {
		old[i].HasManifest = i > 0
	}
	forged := testBackup(at(t, "2026-11-30 06:14"), true)
	forged.Mismatch = "its manifest describes db1-20261127060000.gz.aes"
	want := []string{"2026-11-30 06:14 " + ReasonMismatch, "2026-11-28 06:00 last", "2026-11-27 06:00 " + ReasonNewest}
	if got := kept(Rules{Last: 1}.Apply(append([]Backup{forged}, old...), now)); !reflect.DeepEqual(got, want) {
		t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestRulesApplyThisRun: the backup a run just made is kept by that run,
// whatever newer keys fill the rules; the others are decided as always.
func TestRulesApplyThisRun(t *testing.T) {
	now := at(t, "2026-11-30 06:01")
	bs := history(t, "2026-11-28", "2026-11-30")
	// Copies whose manifests were rewritten to match their names: nothing
	// tells them from backups.
	bs = append([]Backup{testBackup(at(t, "2026-11-30 06:05"), true), testBackup(at(t, "2026-11-30 06:04"), true)}, bs...)
	committed := bs[2].Key
	want := []string{"2026-11-30 06:05 last", "2026-11-30 06:04 last", "2026-11-30 06:00 " + ReasonThisRun}
	if got := kept(Rules{Last: 2}.apply(bs, now, committed)); !reflect.DeepEqual(got, want) {
		t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Kept by a rule, it shows the rule.
	want = []string{"2026-11-30 06:05 daily", "2026-11-29 06:00 daily"}
	if got := kept(Rules{Daily: 2}.apply(bs, now, bs[3].Key)); !reflect.DeepEqual(got, want) {
		t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	want = []string{"2026-11-30 06:05 daily", "2026-11-30 06:00 " + ReasonThisRun, "2026-11-29 06:00 daily"}
	if got := kept(Rules{Daily: 2}.apply(bs, now, committed)); !reflect.DeepEqual(got, want) {
		t.Errorf("kept:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

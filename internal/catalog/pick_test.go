package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

func TestPick(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	mk := func(ts string, size int64) Backup {
		tm, _ := time.Parse(time.RFC3339, ts)
		return Backup{Prefix: "db1", Key: "f/db1-" + tm.Format("20060102150405") + ".gz.aes", Time: tm, Size: size, HasManifest: true}
	}
	// Newest first, as Catalog lists them.
	future := mk("2026-11-30T12:10:00Z", 10)
	newest := mk("2026-11-30T06:00:00Z", 10)
	noManifest := mk("2026-11-29T06:00:00Z", 10)
	forged := mk("2026-11-28T06:00:00Z", 10)
	wrongSize := mk("2026-11-27T06:00:00Z", 10)
	oldest := mk("2026-11-26T06:00:00Z", 10)
	bs := []Backup{future, newest, noManifest, forged, wrongSize, oldest}
	read := map[string]ManifestRead{}
	for _, b := range bs {
		read[b.Key] = ManifestRead{M: &s3stream.Manifest{Key: b.Key, Size: b.Size}, Info: &Info{Started: b.Time.Add(time.Second)}}
	}
	delete(read, noManifest.Key)
	read[forged.Key] = ManifestRead{M: &s3stream.Manifest{Key: oldest.Key, Size: 10}, Info: &Info{Started: oldest.Time}}
	read[wrongSize.Key].M.Size = 11

	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, tc := range []struct {
		name   string
		key    string
		at     time.Time
		force  bool
		want   Backup
		skips  []string // the reasons, in order
		newer  int
		errHas string
	}{
		{name: "now", at: now, want: newest, skips: []string{"ahead of this machine's clock"}},
		{name: "the boundary second", at: newest.Time, want: newest, skips: []string{"ahead"}},
		{name: "a second before", at: newest.Time.Add(-time.Second), want: oldest, newer: 1,
			skips: []string{"ahead", "has no manifest", "its manifest describes f/db1-20261126060000.gz.aes", "the object has 10 bytes, its manifest says 11"}},
		{name: "force takes the unverified", at: at("2026-11-29T23:00:00Z"), force: true, want: noManifest, newer: 1, skips: []string{"ahead"}},
		{name: "force never takes a forged copy", at: at("2026-11-28T23:00:00Z"), force: true, want: wrongSize, newer: 2, skips: []string{"ahead", "not the backup its name says"}},
		{name: "before all", at: at("2026-11-01T00:00:00Z"), newer: 5, errHas: "all 5 backups started after 2026-11-01T00:00:00Z (the oldest: 2026-11-26T06:00:00Z)"},
		{name: "key", key: wrongSize.Key, force: true, want: wrongSize},
		{name: "key unverified", key: noManifest.Key, errHas: noManifest.Key + ": it has no manifest"},
		{name: "unknown key", key: "f/db1-20200101000000.gz.aes", errHas: "no backup f/db1-20200101000000.gz.aes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, newer, err := Pick(bs, read, tc.key, tc.at, now, tc.force)
			if tc.errHas != "" {
				if err == nil || !errors.Is(err, ErrNoBackup) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err %v, want one with %q", err, tc.errHas)
				}
				return
			}
			if err != nil || got.Key != tc.want.Key {
				t.Fatalf("picked %s (%v), want %s", got.Key, err, tc.want.Key)
			}
			if newer != tc.newer {
				t.Errorf("%d newer, want %d", newer, tc.newer)
			}
			if len(skipped) != len(tc.skips) {
				t.Fatalf("skipped %v, want %d", skipped, len(tc.skips))
			}
			for i, s := range skipped {
				if !strings.Contains(s.Why, tc.skips[i]) {
					t.Errorf("skip %d: %q, want %q", i, s.Why, tc.skips[i])
				}
			}
		})
	}
	if _, _, _, err := Pick(nil, nil, "", now, now, false); err == nil || !strings.Contains(err.Error(), "there are no backups") {
		t.Errorf("no backups: %v", err)
	}
}

func TestParseAt(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"":                          "2026-11-30T12:00:00Z",
		"2026-11-27T06:00:00Z":      "2026-11-27T06:00:00Z",
		"2026-11-27T07:00:00+01:00": "2026-11-27T06:00:00Z",
		"2026-11-27T06:00":          "2026-11-27T06:00:00Z",
		"2026-11-27 06:00:30":       "2026-11-27T06:00:30Z",
		"2026-11-27":                "2026-11-27T23:59:59Z",
		"36h":                       "2026-11-29T00:00:00Z",
		"7d":                        "2026-11-23T12:00:00Z",
		"1d2h30m":                   "2026-11-29T09:30:00Z",
	} {
		got, err := ParseAt(in, now)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("ParseAt(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"2026-12-01":           "is in the future",
		"2027-01-01T00:00:00Z": "is in the future",
		"yesterday":            "want a time",
		"36":                   "want a time",
		"-36h":                 "want a time",
		"2026-13-01":           "month out of range",
		"2026-11-27T25:00":     "hour out of range",
	} {
		if _, err := ParseAt(in, now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAt(%q): %v, want %q", in, err, want)
		}
	}
}

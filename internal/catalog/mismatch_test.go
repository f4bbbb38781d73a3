package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// TestManifestMismatch: a manifest describes its object when it names the
// object's key (by name, in any folder or bucket), its size, and, when it
// is the job's, a start time that fits the time in the key.
func TestManifestMismatch(t *testing.T) {
	keyTime := mustTime("2026-11-30T06:00:00Z")
	dump := Backup{Prefix: "db1", Key: "nightly/db1-20261130060000.gz.aes", Time: keyTime, Size: 1000, HasManifest: true}
	globals := dump
	globals.Key, globals.Companion = "nightly/db1-20261130060000.globals.gz.aes", "globals"
	manifest := func(key string, size int64, started string) (*s3stream.Manifest, *Info) {
		m := &s3stream.Manifest{Version: 1, Bucket: "backups", Key: key, Size: size, SHA256: "00"}
		if started == "" {
			return m, nil // s3put's: no backup object
		}
		info := &Info{Started: mustTime(started)}
		b, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		m.Backup = b
		got, err := manifestInfo(key, m)
		if err != nil || !got.Started.Equal(info.Started) {
			t.Fatalf("manifestInfo: %+v, %v", got, err)
		}
		return m, got
	}
	for _, tc := range []struct {
		name    string
		b       Backup
		key     string
		size    int64
		started string // "": a manifest without "backup"
		want    string // part of the mismatch; "" for none
	}{
		{"the job's", dump, dump.Key, 1000, "2026-11-30T06:00:00.73Z", ""},
		{"moved to another folder", dump, "db1-20261130060000.gz.aes", 1000, "2026-11-30T06:00:00Z", ""},
		{"copied from another folder", dump, "old/daily/db1-20261130060000.gz.aes", 1000, "2026-11-30T06:00:00Z", ""},
		{"another key", dump, "nightly/db1-20261128060000.gz.aes", 1000, "2026-11-28T06:00:00Z",
			"its manifest describes nightly/db1-20261128060000.gz.aes, started 2026-11-28 06:00:00 UTC"},
		{"another key with the same time", dump, "nightly/db1-20261130060000.gz.age", 1000, "2026-11-30T06:00:00Z", "describes nightly/db1-20261130060000.gz.age"},
		{"another prefix", dump, "nightly/db2-20261130060000.gz.aes", 1000, "2026-11-30T06:00:00Z", "describes nightly/db2-"},
		{"no key", dump, "", 1000, "2026-11-30T06:00:00Z", "its manifest describes an object without a key"},
		{"s3put's manifest", dump, dump.Key, 1000, "", ""},
		{"s3put's manifest of another key", dump, "db1-20261128060000.gz.aes", 1000, "", "its manifest describes db1-20261128060000.gz.aes"},
		{"another size", dump, dump.Key, 999, "2026-11-30T06:00:00Z", "its manifest says 999 bytes, the object has 1000"},
		{"s3put's manifest of another size", dump, dump.Key, 1001, "", "its manifest says 1001 bytes"},
		// The key's time and the manifest's start are the same clock's;
		// they may differ by the skew allowed, no more.
		{"started within the skew after", dump, dump.Key, 1000, "2026-11-30T06:05:00Z", ""},
		{"started within the skew before", dump, dump.Key, 1000, "2026-11-30T05:55:00Z", ""},
		{"started after the skew", dump, dump.Key, 1000, "2026-11-30T06:05:01Z", "started 2026-11-30 06:05:01 UTC"},
		{"started before the skew", dump, dump.Key, 1000, "2026-11-30T05:54:59Z", "started 2026-11-30 05:54:59 UTC"},
		// A companion starts after its dump, whose time is in its key.
		{"globals", globals, globals.Key, 1000, "2026-11-30T06:41:00Z", ""},
		{"globals within the skew before", globals, globals.Key, 1000, "2026-11-30T05:55:00Z", ""},
		{"globals before the skew", globals, globals.Key, 1000, "2026-11-30T05:54:59Z", "started 2026-11-30 05:54:59 UTC"},
		{"globals of another dump", globals, "nightly/db1-20261129060000.globals.gz.aes", 1000, "2026-11-30T06:41:00Z", "describes nightly/db1-20261129060000.globals.gz.aes"},
		{"globals for the dump", globals, dump.Key, 1000, "2026-11-30T06:00:00Z", "describes nightly/db1-20261130060000.gz.aes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, info := manifest(tc.key, tc.size, tc.started)
			got := manifestMismatch(tc.b, m, info)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("manifestMismatch = %q, want %q", got, tc.want)
			}
			// verify compares the size with what it reads instead.
			if names := ManifestNames(tc.b, m, info); tc.size != tc.b.Size && names != "" {
				t.Errorf("ManifestNames = %q for a manifest of the same object", names)
			}
		})
	}
	// A '*' line's globals have their own start in their name, as a
	// dump has: a manifest that started later describes another run's.
	line := Backup{Prefix: "shop", Key: "shop-20261130060000.globals.gz.aes", Time: keyTime, Size: 1000, HasManifest: true, Companion: "globals"}
	for started, want := range map[string]string{"2026-11-30T06:00:00.5Z": "", "2026-11-30T06:41:00Z": "started 2026-11-30 06:41:00 UTC"} {
		m := &s3stream.Manifest{Key: line.Key, Size: 1000}
		if got := ManifestNames(line, m, &Info{Started: mustTime(started), Database: "*"}); got != want && !strings.Contains(got, want) || want == "" && got != "" {
			t.Errorf("the line's globals started %s: ManifestNames = %q, want %q", started, got, want)
		}
	}
	if _, err := manifestInfo("k", &s3stream.Manifest{Backup: json.RawMessage(`{"started": "yesterday"}`)}); err == nil {
		t.Error("manifestInfo of a start time that is not one: no error")
	}
}

// TestMismatched: a backup is mismatched when its manifest or a
// companion's is.
func TestMismatched(t *testing.T) {
	b := testBackup(at(t, "2026-11-30 06:00"), true)
	g := Backup{Key: "db1-20261130060000.globals.gz.aes", Companion: "globals", HasManifest: true}
	b.Companions = []Backup{g}
	if why := b.Mismatched(); why != "" {
		t.Errorf("Mismatched = %q, want none", why)
	}
	b.Companions[0].Mismatch = "its manifest describes x"
	if why := b.Mismatched(); why != "globals db1-20261130060000.globals.gz.aes: its manifest describes x" {
		t.Errorf("Mismatched = %q", why)
	}
	b.Mismatch = "its manifest describes y"
	if why := b.Mismatched(); why != "its manifest describes y" {
		t.Errorf("Mismatched = %q", why)
	}
}

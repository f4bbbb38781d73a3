package backup

import (
	"testing"
	"time"
)

// TestKeysRoundTrip: every combination of endings names a key that
// ParseKey reads back, for prefixes with dashes, dots and digits.
func TestKeysRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	n := 0
	for _, f := range formats {
		for _, c := range compressions {
			for _, e := range encryptions {
				for _, prefix := range []string{"db1", "my-db-2", "a.dump", "x-20261127060000", "ünï"} {
					name := objectName(prefix, at, f, c, e)
					b, ok := ParseKey(name)
					want := Backup{Prefix: prefix, Time: at.UTC(), Compression: c.name, Format: f.name, Encryption: e.name}
					if !ok || b != want {
						t.Errorf("%s: %+v, %v; want %+v", name, b, ok, want)
					}
					n++
				}
			}
		}
	}
	if n != len(formats)*len(compressions)*len(encryptions)*5 {
		t.Fatal("no combinations")
	}
	s := &Settings{KeyPrefix: "nightly/", Format: "custom", Compression: "zstd"}
	if k := s.ObjectKey("db1", at); k != "nightly/db1-20261127050000.dump.zst.aes" {
		t.Errorf("ObjectKey: %q", k)
	}
}

func TestParseKeyRefuses(t *testing.T) {
	for _, name := range []string{
		"db1-20261127060000.gz", // no encryption
		"db1-20261127060000.aes",
		"db1-20261127060000.bz2.aes",
		"db1-2026112706000.gz.aes",  // 13 digits
		"db1-20261327060000.gz.aes", // month 13
		"db1-2026112706000x.gz.aes",
		"db1_20261127060000.gz.aes",
		"-20261127060000.gz.aes", // no prefix
		"20261127060000.gz.aes",
		"db1-20261127060000.gz.aes.manifest.json",
		"db1-+2026112706000.gz.aes",
		"",
	} {
		if b, ok := ParseKey(name); ok {
			t.Errorf("%q read as %+v", name, b)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("db1-20261127060000.dump.zst.aes")
	f.Fuzz(func(t *testing.T, name string) {
		b, ok := ParseKey(name)
		if !ok {
			return
		}
		c, _ := compressionNamed(b.Compression)
		fm, _ := formatNamed(b.Format)
		e, _ := lookup(encryptions, func(e encryption) string { return e.name }, b.Encryption)
		if again := objectName(b.Prefix, b.Time, fm, c, e); again != name {
			t.Errorf("%q read as %+v, which names %q", name, b, again)
		}
	})
}

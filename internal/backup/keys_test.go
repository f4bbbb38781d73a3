package backup

import (
	"reflect"
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
					name := objectName(prefix, at, f.ext, c.ext, e.ext)
					b, ok := ParseKey(name)
					want := Backup{Prefix: prefix, Time: at.UTC(), Compression: c.name, Format: f.name, Encryption: e.name}
					if !ok || !reflect.DeepEqual(b, want) {
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
	for _, k := range companions {
		for _, c := range compressions {
			for _, e := range encryptions {
				name := objectName("db-1.globals", at, k.ext, c.ext, e.ext)
				b, ok := ParseKey(name)
				want := Backup{Prefix: "db-1.globals", Time: at.UTC(), Compression: c.name, Format: "plain", Encryption: e.name, Companion: k.name}
				if !ok || !reflect.DeepEqual(b, want) {
					t.Errorf("%s: %+v, %v; want %+v", name, b, ok, want)
				}
			}
		}
	}
	s := &Settings{KeyPrefix: "nightly/", Format: "custom", Compression: "zstd"}
	if k := s.ObjectKey("db1", at); k != "nightly/db1-20261127050000.dump.zst.aes" {
		t.Errorf("ObjectKey: %q", k)
	}
	// A companion takes the format's place: its content is plain SQL.
	if k := s.CompanionKey("db1", at, "globals"); k != "nightly/db1-20261127050000.globals.zst.aes" {
		t.Errorf("CompanionKey: %q", k)
	}
	s.Encryption, s.Format, s.Compression = "age", "plain", "gzip"
	if k := s.ObjectKey("db1", at); k != "nightly/db1-20261127050000.gz.age" {
		t.Errorf("ObjectKey with age: %q", k)
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
		"db1-20261127060000.globals.dump.gz.aes", // a companion is plain SQL
		"db1-20261127060000.dump.globals.gz.aes",
		"db1-20261127060000.globals.gz",
		"db1-20261127060000.gz.aes.age",
		"db1-20261127060000.gz.age.manifest.json",
		"",
	} {
		if b, ok := ParseKey(name); ok {
			t.Errorf("%q read as %+v", name, b)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("db1-20261127060000.dump.zst.aes")
	f.Add("db1-20261127060000.globals.gz.age")
	f.Fuzz(func(t *testing.T, name string) {
		b, ok := ParseKey(name)
		if !ok {
			return
		}
		c, _ := compressionNamed(b.Compression)
		slot, _ := formatNamed(b.Format)
		if k, ok := companionNamed(b.Companion); ok {
			slot.ext = k.ext
		}
		e, _ := encryptionNamed(b.Encryption)
		if again := objectName(b.Prefix, b.Time, slot.ext, c.ext, e.ext); again != name {
			t.Errorf("%q read as %+v, which names %q", name, b, again)
		}
	})
}

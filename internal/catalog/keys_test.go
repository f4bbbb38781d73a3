package catalog

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
	for _, f := range Formats {
		for _, c := range Compressions {
			for _, e := range Encryptions {
				for _, prefix := range []string{"db1", "my-db-2", "a.dump", "x-20261127060000", "ünï"} {
					name := ObjectName(prefix, at, f.Ext, c.Ext, e.Ext)
					b, ok := ParseKey(name)
					want := Backup{Prefix: prefix, Time: at.UTC(), Compression: c.Name, Format: f.Name, Encryption: e.Name}
					if !ok || !reflect.DeepEqual(b, want) {
						t.Errorf("%s: %+v, %v; want %+v", name, b, ok, want)
					}
					n++
				}
			}
		}
	}
	if n != len(Formats)*len(Compressions)*len(Encryptions)*5 {
		t.Fatal("no combinations")
	}
	for _, k := range Companions {
		for _, c := range Compressions {
			for _, e := range Encryptions {
				name := ObjectName("db-1.globals", at, k.Ext, c.Ext, e.Ext)
				b, ok := ParseKey(name)
				want := Backup{Prefix: "db-1.globals", Time: at.UTC(), Compression: c.Name, Format: "plain", Encryption: e.Name, Companion: k.Name}
				if !ok || !reflect.DeepEqual(b, want) {
					t.Errorf("%s: %+v, %v; want %+v", name, b, ok, want)
				}
			}
		}
	}
	if k := DumpKey("nightly/", "db1", at, "custom", "zstd", "openssl"); k != "nightly/db1-20261127050000.dump.zst.aes" {
		t.Errorf("DumpKey: %q", k)
	}
	// A companion takes the format's place: its content is plain SQL.
	if k := CompanionKey("nightly/", "db1", at, "globals", "zstd", "openssl"); k != "nightly/db1-20261127050000.globals.zst.aes" {
		t.Errorf("CompanionKey: %q", k)
	}
	if k := DumpKey("nightly/", "db1", at, "plain", "gzip", "age"); k != "nightly/db1-20261127050000.gz.age" {
		t.Errorf("DumpKey with age: %q", k)
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
		c, _ := CompressionNamed(b.Compression)
		slot, _ := FormatNamed(b.Format)
		if k, ok := CompanionNamed(b.Companion); ok {
			slot.Ext = k.Ext
		}
		e, _ := EncryptionNamed(b.Encryption)
		if again := ObjectName(b.Prefix, b.Time, slot.Ext, c.Ext, e.Ext); again != name {
			t.Errorf("%q read as %+v, which names %q", name, b, again)
		}
	})
}

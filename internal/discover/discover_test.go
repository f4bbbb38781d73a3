package discover

import (
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

func TestEscape(t *testing.T) {
	for name, want := range map[string]string{
		"orders": "orders", "b-c": "b-c", "a_b": "a_b", "x.y": "x.2ey", "with space": "with.20space",
		"Ünïcode": ".c3.9cn.c3.afcode", ".": ".2e", ".2e": ".2e2e", "a/b": "a.2fb", "\x00": ".00",
	} {
		if got := Escape(name); got != want {
			t.Errorf("Escape(%q) = %q, want %q", name, got, want)
		}
		if back, err := Unescape(want); err != nil || back != name {
			t.Errorf("Unescape(%q) = %q, %v", want, back, err)
		}
		if err := pgpass.CheckPrefix(Prefix("p", name), nil); err != nil {
			t.Errorf("Prefix(p, %q): %v", name, err)
		}
	}
	for _, bad := range []string{"", ".", ".2", ".zz", ".41", "a b", "a.2Eb"} {
		if got, err := Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) = %q, want an error", bad, got)
		}
	}
	if name, ok := Of("shop", "shop.x.2ey"); !ok || name != "x.y" {
		t.Errorf("Of: %q %v", name, ok)
	}
	for _, p := range []string{"shop", "shopx.a", "shop.", "shop.a b", "other.a"} {
		if name, ok := Of("shop", p); ok {
			t.Errorf("Of(shop, %q) = %q", p, name)
		}
	}
}

// FuzzEscape: every name has one prefix, and it reads back as the name.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a", "x.y", "Ünïcode", ".2e", "with space"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		e := Escape(name)
		back, err := Unescape(e)
		if err != nil || back != name {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", name, back, err)
		}
	})
}

func TestFilter(t *testing.T) {
	f := Filter{Include: []string{"app_*", "billing"}, Exclude: []string{"app_test*"}}
	for name, want := range map[string]bool{"app_1": true, "billing": true, "app_test": false, "app_test2": false, "other": false} {
		if got := f.Keeps(name); got != want {
			t.Errorf("Keeps(%q) = %v", name, got)
		}
	}
	if !(Filter{}).Keeps("anything") {
		t.Error("an empty filter keeps nothing")
	}
	if globs, err := ParseGlobs(" a , b*,, "); err != nil || len(globs) != 2 {
		t.Errorf("ParseGlobs: %q %v", globs, err)
	}
	if _, err := ParseGlobs("a,[x"); err == nil {
		t.Error("ParseGlobs took a bad pattern")
	}
}

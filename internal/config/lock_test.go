package config

import (
	"strings"
	"testing"
	"time"
)

// TestLockSettings: the object lock settings, read and refused.
func TestLockSettings(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want Lock
		err  string
	}{
		{map[string]string{}, Lock{}, ""},
		{map[string]string{"OBJECT_LOCK_MODE": "governance", "OBJECT_LOCK_DAYS": "30"}, Lock{Mode: "GOVERNANCE", Retain: 30 * 24 * time.Hour}, ""},
		{map[string]string{"OBJECT_LOCK_MODE": "COMPLIANCE", "OBJECT_LOCK_RETAIN": "36h", "OBJECT_LOCK_LEGAL_HOLD": "true"}, Lock{Mode: "COMPLIANCE", Retain: 36 * time.Hour, LegalHold: true}, ""},
		{map[string]string{"OBJECT_LOCK_LEGAL_HOLD": "true"}, Lock{LegalHold: true}, ""},
		{map[string]string{"OBJECT_LOCK_MODE": "WORM", "OBJECT_LOCK_DAYS": "1"}, Lock{}, `OBJECT_LOCK_MODE="WORM": use GOVERNANCE or COMPLIANCE`},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE"}, Lock{}, "OBJECT_LOCK_MODE=GOVERNANCE needs OBJECT_LOCK_DAYS"},
		{map[string]string{"OBJECT_LOCK_RETAIN": "1d"}, Lock{}, "OBJECT_LOCK_RETAIN needs OBJECT_LOCK_MODE"},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE", "OBJECT_LOCK_DAYS": "-1"}, Lock{}, "whole number of days from 1 to 36500"},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE", "OBJECT_LOCK_DAYS": "36501"}, Lock{}, "whole number of days from 1 to 36500"},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE", "OBJECT_LOCK_RETAIN": "0s"}, Lock{}, "from 1s to 100 years"},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE", "OBJECT_LOCK_RETAIN": "36501d"}, Lock{}, "from 1s to 100 years"},
		{map[string]string{"OBJECT_LOCK_MODE": "GOVERNANCE", "OBJECT_LOCK_DAYS": "1", "OBJECT_LOCK_RETAIN": "1d"}, Lock{}, "are the same setting"},
	} {
		e := &env{getenv: func(k string) string { return c.env[k] }}
		got := loadLock(e)
		var errs []string
		for _, err := range e.errs {
			errs = append(errs, err.Error())
		}
		if c.err == "" && (len(errs) > 0 || got != c.want) || c.err != "" && (len(errs) != 1 || !strings.Contains(errs[0], c.err)) {
			t.Errorf("%v: %+v, %q; want %+v, %q", c.env, got, errs, c.want, c.err)
		}
	}
	l := Lock{Mode: "GOVERNANCE", Retain: 30 * 24 * time.Hour}
	start := mustTime("2026-11-27T06:00:00Z").Add(300 * time.Millisecond)
	if u := l.Until(start); !u.Equal(mustTime("2026-12-27T06:00:01Z")) {
		t.Errorf("Until: %s, want the next whole second", u)
	}
	if s := l.String(); s != "OBJECT_LOCK_MODE=GOVERNANCE OBJECT_LOCK_DAYS=30" {
		t.Errorf("String: %q", s)
	}
	for in, want := range map[string]time.Duration{"7": 7 * 24 * time.Hour, "7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if d, err := ParseLockDuration(in); err != nil || d != want {
			t.Errorf("ParseLockDuration(%q) = %v, %v", in, d, err)
		}
	}
	for _, in := range []string{"", "0", "-1d", "soon", "36501"} {
		if _, err := ParseLockDuration(in); err == nil {
			t.Errorf("ParseLockDuration(%q): no error", in)
		}
	}
}

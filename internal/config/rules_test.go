package config

import (
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// TestLoadRules: every bad value is one line naming its setting.
func TestLoadRules(t *testing.T) {
	env := map[string]string{
		"KEEP_LAST": "3", "KEEP_DAILY": "7", "KEEP_WEEKLY": "five", "KEEP_MONTHLY": "-1",
		"KEEP_YEARLY": "0", "KEEP_HOURLY": "", "KEEP_WITHIN": "2w",
	}
	_, err := LoadRules(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `KEEP_WEEKLY="five"`) || !strings.HasPrefix(lines[1], `KEEP_MONTHLY="-1"`) ||
		!strings.HasPrefix(lines[2], `KEEP_WITHIN="2w": unknown unit 'w'`) {
		t.Errorf("errors:\n%v", err)
	}
	env["KEEP_WEEKLY"], env["KEEP_MONTHLY"], env["KEEP_WITHIN"] = "5", "12", "1y2m"
	r, err := LoadRules(func(k string) string { return env[k] })
	if err != nil || r != (catalog.Rules{Last: 3, Daily: 7, Weekly: 5, Monthly: 12, Within: catalog.Within{Years: 1, Months: 2}}) || !r.IsSet() {
		t.Errorf("LoadRules: %+v, %v", r, err)
	}
	if s := r.String(); s != "KEEP_LAST=3 KEEP_DAILY=7 KEEP_WEEKLY=5 KEEP_MONTHLY=12 KEEP_WITHIN=1y2m" {
		t.Errorf("String: %q", s)
	}
	if r, err := LoadRules(func(string) string { return "" }); err != nil || r.IsSet() {
		t.Errorf("unset: %+v, %v", r, err)
	}
	if r, _ := LoadRules(func(k string) string { return map[string]string{"KEEP_LAST": "0"}[k] }); r.IsSet() {
		t.Errorf("KEEP_LAST=0 alone sets a rule")
	}
}

// TestRulesApplyMismatch: backups whose manifest describes another object
// (copies of an older backup under newer names) are left alone: they fill
// no period, are not the newest backup with a manifest, and KEEP_WITHIN
// does not count from them.

package config

import (
	"fmt"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// keepSettings are the counting retention rules, by their setting.
func keepSettings(r *catalog.Rules) []struct {
	name string
	v    *int
} {
	return []struct {
		name string
		v    *int
	}{{EnvKeepLast, &r.Last}, {EnvKeepHourly, &r.Hourly}, {EnvKeepDaily, &r.Daily}, {EnvKeepWeekly, &r.Weekly}, {EnvKeepMonthly, &r.Monthly}, {EnvKeepYearly, &r.Yearly}}
}

// loadRules reads the retention settings; each bad value is one error.
func loadRules(e *env) catalog.Rules {
	var r catalog.Rules
	for _, k := range keepSettings(&r) {
		e.int(k.name, 0, catalog.MaxKeep, k.v)
	}
	if v := e.trimmed(EnvKeepWithin); v != "" {
		w, err := catalog.ParseWithin(v)
		if err != nil {
			e.bad("%s=%q: %v; use a duration of years (y), months (m), days (d) and hours (h) such as 36h, 30d or 1y2m", EnvKeepWithin, v, err)
		} else {
			r.Within = w
		}
	}
	return r
}

// DescribeRules names the rules that are set, as settings:
// "KEEP_DAILY=7 KEEP_WEEKLY=5".
func DescribeRules(r catalog.Rules) string {
	var parts []string
	for _, k := range keepSettings(&r) {
		if *k.v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k.name, *k.v))
		}
	}
	if !r.Within.IsZero() {
		parts = append(parts, EnvKeepWithin+"="+r.Within.String())
	}
	return strings.Join(parts, " ")
}

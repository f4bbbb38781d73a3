package backup

import (
	"errors"
	"fmt"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// The retention settings; names and meaning are restic forget's (see
// catalog.Rules).
const (
	envKeepLast    = "KEEP_LAST"
	envKeepHourly  = "KEEP_HOURLY"
	envKeepDaily   = "KEEP_DAILY"
	envKeepWeekly  = "KEEP_WEEKLY"
	envKeepMonthly = "KEEP_MONTHLY"
	envKeepYearly  = "KEEP_YEARLY"
	envKeepWithin  = "KEEP_WITHIN"
	maxKeep        = catalog.MaxKeep
)

// loadRules reads the retention settings; each bad value is one error.
func loadRules(getenv func(string) string) (catalog.Rules, []error) {
	var r catalog.Rules
	var errs []error
	for _, f := range []struct {
		env string
		v   *int
	}{{envKeepLast, &r.Last}, {envKeepHourly, &r.Hourly}, {envKeepDaily, &r.Daily}, {envKeepWeekly, &r.Weekly}, {envKeepMonthly, &r.Monthly}, {envKeepYearly, &r.Yearly}} {
		if err := envInt(getenv, f.env, 0, maxKeep, f.v); err != nil {
			errs = append(errs, err)
		}
	}
	if v := strings.TrimSpace(getenv(envKeepWithin)); v != "" {
		w, err := catalog.ParseWithin(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %v; use a duration of years (y), months (m), days (d) and hours (h) such as 36h, 30d or 1y2m", envKeepWithin, v, err))
		} else {
			r.Within = w
		}
	}
	return r, errs
}

// LoadRules reads the retention settings alone, for actions that need no
// database list (list). All problems are reported at once.
func LoadRules(getenv func(string) string) (catalog.Rules, error) {
	r, errs := loadRules(getenv)
	return r, errors.Join(errs...)
}

package monitor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// The metrics: per database (label prefix), gauges named
// iron_streaming_backup_<name> for a backup and
// iron_streaming_backup_verify_<name> for a verify. The ones marked
// success are sent only for a success, so that a failure keeps the last
// success's values (with a Pushgateway: a failure is POSTed, which
// replaces only the names sent).
var metricDefs = []struct {
	name    string
	action  string // "": both
	success bool
	help    string
	value   func(r *Report, d *Database) float64
}{
	{"last_run_timestamp_seconds", "", false, "When the last run of this database ended, in seconds since the epoch.",
		func(r *Report, d *Database) float64 { return unixSeconds(d.finished(r)) }},
	{"last_run_success", "", false, "1 if the last run of this database succeeded, else 0.",
		func(r *Report, d *Database) float64 { return map[bool]float64{true: 1}[d.Error == ""] }},
	{"last_success_timestamp_seconds", "", true, "When the last successful run of this database ended, in seconds since the epoch.",
		func(r *Report, d *Database) float64 { return unixSeconds(d.finished(r)) }},
	{"dump_bytes", Backup, true, "Size of pg_dump's output in the last successful backup.",
		func(r *Report, d *Database) float64 { return float64(d.PlainSize) }},
	{"stored_bytes", Backup, true, "Size of the stored (compressed, encrypted) object of the last successful backup.",
		func(r *Report, d *Database) float64 { return float64(d.StoredSize) }},
	{"duration_seconds", Backup, true, "How long the last successful backup took.",
		func(r *Report, d *Database) float64 { return d.duration().Seconds() }},
	// Sent only for a backup with an object lock (locked below).
	{"locked_until_timestamp_seconds", Backup, true, "Until when the S3 Object Lock keeps the objects of the last successful backup, in seconds since the epoch.",
		func(r *Report, d *Database) float64 { return unixSeconds(d.LockedUntil) }},
}

// locked names the metrics sent only for a backup with an object lock.
var locked = map[string]bool{"locked_until_timestamp_seconds": true}

// jobName is the Pushgateway's job label of an action's metrics, and
// their names' prefix.
func jobName(action string) string {
	if action == Backup {
		return "iron_streaming_backup"
	}
	return "iron_streaming_backup_" + action
}

// families are d's metrics, with a prefix label when labelled (the
// Pushgateway sets it from the group's URL instead), sorted by name.
func families(r *Report, d *Database, labelled bool) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, def := range metricDefs {
		if def.action != "" && def.action != r.Action || def.success && d.Error != "" || locked[def.name] && d.LockedUntil.IsZero() {
			continue
		}
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(def.value(r, d))}}
		if labelled {
			m.Label = []*dto.LabelPair{{Name: proto.String("prefix"), Value: proto.String(d.Prefix)}}
		}
		out = append(out, &dto.MetricFamily{
			Name: proto.String(jobName(r.Action) + "_" + def.name), Help: proto.String(def.help),
			Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{m},
		})
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func encodeText(fams []*dto.MetricFamily) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// push sends each database's metrics to the Pushgateway as its own group,
// /metrics/job/<job>/prefix/<prefix>: a success by PUT, which replaces the
// group, a failure by POST, which keeps the last success's values. All
// pushes share one budget.
func (m *Monitor) push(ctx context.Context, r *Report) {
	ctx, cancel := context.WithTimeout(ctx, m.budget)
	defer cancel()
	h := http.Header{"Content-Type": {string(expfmt.NewFormat(expfmt.TypeTextPlain))}}
	for i := range r.Databases {
		d := &r.Databases[i]
		if ctx.Err() != nil {
			m.warn(fmt.Sprintf("pushgateway: %s: not pushed: the Pushgateway did not answer in time", d.Prefix))
			continue
		}
		body, err := encodeText(families(r, d, false))
		if err != nil {
			m.warn(fmt.Sprintf("pushgateway: %s: %v", d.Prefix, err))
			continue
		}
		method := http.MethodPut
		if d.Error != "" {
			method = http.MethodPost
		}
		m.deliverWithin(ctx, "pushgateway", method, m.s.Pushgateway.JoinPath(groupPath(jobName(r.Action), d.Prefix)...), body, h)
	}
}

// groupPath is a group's path below the Pushgateway's URL. A prefix that
// path cleaning would change ("." and "..") is sent base64-encoded, the
// Pushgateway's way for such label values.
func groupPath(job, prefix string) []string {
	if prefix == "" || prefix == "." || prefix == ".." || strings.ContainsAny(prefix, "/%") {
		return []string{"metrics", "job", job, "prefix@base64", base64.URLEncoding.EncodeToString([]byte(prefix))}
	}
	return []string{"metrics", "job", job, "prefix", prefix}
}

// writeMetricsFile replaces the file at path with r's metrics, keeping
// what the file held for other databases and names: the previous success's
// values when r is a failure, other prefixes, the other action's metrics.
// The file is replaced atomically (node_exporter never reads half of it).
// What another user may have planted there is refused: see metricsfile.go.
func writeMetricsFile(path string, r *Report) error {
	t, err := findMetricsFile(path)
	if err != nil {
		return err
	}
	old := map[string]*dto.MetricFamily{}
	perm := fs.FileMode(0o644)
	switch {
	case t.st == nil:
	case !t.st.Mode().IsRegular():
		// A named pipe, /dev/stdout: nothing to carry over, and reading
		// it would wait for a writer.
	case t.follow:
		// Stdout redirected to a file since deleted: there is no name
		// to replace it by.
		return fmt.Errorf("%s leads to a file that has no name: not replaced", path)
	default:
		data, st, err := readMetricsFile(t.path)
		if err != nil {
			return err
		}
		perm = st.Mode().Perm()
		p := expfmt.NewTextParser(model.UTF8Validation)
		if old, err = p.TextToMetricFamilies(bytes.NewReader(data)); err != nil {
			return notTextFormat(err)
		}
	}
	for i := range r.Databases {
		d := &r.Databases[i]
		for _, f := range families(r, d, true) {
			o := old[f.GetName()]
			if o == nil {
				old[f.GetName()] = f
				continue
			}
			o.Metric = slices.DeleteFunc(o.Metric, func(m *dto.Metric) bool { return prefixOf(m) == d.Prefix })
			o.Metric = append(o.Metric, f.Metric...)
			o.Help, o.Type = f.Help, f.Type
		}
	}
	var fams []*dto.MetricFamily
	for _, f := range old {
		slices.SortFunc(f.Metric, func(a, b *dto.Metric) int { return cmp.Compare(prefixOf(a), prefixOf(b)) })
		fams = append(fams, f)
	}
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	out, err := encodeText(fams)
	if err != nil {
		return err
	}
	if t.st != nil && !t.st.Mode().IsRegular() {
		return writeInPlace(t, out)
	}
	return replaceFile(path, t.path, perm, out)
}

// notTextFormat says where the file is not in the text format. The
// parser's messages quote what they stumbled on, and the file may be any
// the job can read: they are left out, and so is any other error's text.
func notTextFormat(err error) error {
	var pe expfmt.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("the file there is not in Prometheus's text format (line %d): not replaced", pe.Line)
	}
	return errors.New("the file there is not in Prometheus's text format: not replaced")
}

func prefixOf(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == "prefix" {
			return l.GetValue()
		}
	}
	return ""
}

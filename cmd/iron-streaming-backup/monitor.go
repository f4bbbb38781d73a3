package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/backup"
	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/monitor"
)

// runMonitor reports one backup or verify run to the monitors of the
// settings. A nil *runMonitor (no monitor set) reports nothing.
type runMonitor struct {
	m       *monitor.Monitor
	action  string
	started time.Time
	s       *backup.Settings
}

// startMonitor pings the healthcheck's start (in the background) and has
// log's result and summary lines kept for the last ping.
func startMonitor(ctx context.Context, action string, s *backup.Settings, log *backup.Logger) *runMonitor {
	if !s.Monitor.Enabled() {
		return nil
	}
	m := monitor.New(s.Monitor, cli.Version(), log.Warn)
	log.TeeResults(m.Log())
	m.Start(ctx)
	return &runMonitor{m: m, action: action, started: time.Now(), s: s}
}

// finishBackup reports a backup's results; with none, err failed every
// database before any started.
func (r *runMonitor) finishBackup(ctx context.Context, results []backup.Result, err error) {
	if r == nil {
		return
	}
	rep := r.report()
	if results == nil {
		r.failAll(rep, err)
	}
	for _, res := range results {
		d := monitor.Database{Prefix: res.Target.Prefix}
		// A dump stored before a failure (of its globals) is reported
		// with it: it is kept.
		if i := res.Manifest; i != nil {
			d.Key, d.PlainSize, d.StoredSize, d.Started, d.Finished = res.Key, i.PlainSize, i.StoredSize, i.Started, i.Finished
			if i.ObjectLock != nil && res.Err == nil {
				d.LockedUntil = i.ObjectLock.RetainUntil
			}
		}
		if res.Err != nil {
			d.Error = oneLine(res.Err)
		}
		rep.Databases = append(rep.Databases, d)
	}
	r.m.Finish(ctx, rep)
}

// finishVerify reports a verify: errs has each target's outcome, or is
// empty when err failed them all.
func (r *runMonitor) finishVerify(ctx context.Context, errs []error, err error) {
	if r == nil {
		return
	}
	rep := r.report()
	if len(errs) != len(r.s.Targets) {
		r.failAll(rep, err)
	}
	for i, e := range errs {
		d := monitor.Database{Prefix: r.s.Targets[i].Prefix}
		if e != nil {
			d.Error = oneLine(e)
		}
		rep.Databases = append(rep.Databases, d)
	}
	r.m.Finish(ctx, rep)
}

func (r *runMonitor) report() *monitor.Report {
	host, _ := os.Hostname()
	return &monitor.Report{Action: r.action, Started: r.started, Finished: time.Now(), Version: cli.Version(), Host: host}
}

// failAll reports err, which the log has not shown (main prints it last),
// as every database's failure, and adds its line to the healthcheck's.
func (r *runMonitor) failAll(rep *monitor.Report, err error) {
	msg := "failed before any database was processed"
	if err != nil {
		msg = oneLine(err)
	}
	fmt.Fprintf(r.m.Log(), "%s: error: %s\n", tool, msg)
	for _, t := range r.s.Targets {
		rep.Databases = append(rep.Databases, monitor.Database{Prefix: t.Prefix, Error: msg})
	}
}

// oneLine is an error as the log shows it.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

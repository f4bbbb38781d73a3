package backup

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// logEverything writes every kind of line the job's log has, with each
// variant a line can take.
func logEverything(l *Logger) {
	e := pgpass.Entry{Host: "db.example.com", Port: "5432", Database: "app", User: "u", Password: "pw-never-shown", Prefix: "db1"}
	start := mustTime("2026-11-27T06:00:00Z")
	no := false
	l.Start(e, "bucket", "db1-20261127060000.gz.aes")
	l.Client(e, pgclient.Version{Major: 17, Text: "17.2"}, pgclient.Client{PgDump: "/usr/lib/postgresql/17/bin/pg_dump", Version: pgclient.Version{Major: 17, Text: "17.4 (Debian 17.4-1)"}})
	l.Progress(e, 10<<30, 1<<30, 61*time.Second+400*time.Millisecond)
	l.Done(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.gz.aes", PlainSize: 1<<30 + 12345, StoredSize: 200 << 20, Started: start, Finished: start.Add(9876543210), SHA256: "ab12"})
	l.Done(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.gz.aes", Started: start, Finished: start})
	l.GlobalsWithoutPasswords(e)
	l.GlobalsDone(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.globals.gz.aes", PlainSize: 2048, StoredSize: 900, SHA256: "cd34"})
	l.GlobalsDone(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.globals.gz.aes", PlainSize: 2048, StoredSize: 900, RolePasswords: &no})
	l.Failed(e, errors.New("cannot connect\nsecond \x1b[2Kline"))
	l.Failed(e, fmt.Errorf("the bucket is in another region%w", &s3stream.Error{Kind: s3stream.WrongRegion, Region: "eu-west-1"})) // its own message is ""
	l.Warn("something <to> look at & \"quoted\"")
	l.PrefixWarn("db1", "no manifest")
	l.result("%s: ok: %s", "db1", "db1-20261127060000.gz.aes")
	l.result("error: %d of %d backups failed verification (%s)", 1, 2, "db2")
	l.Summary(2, 2, nil, 3<<30, 400<<20, 19500*time.Millisecond+700*time.Microsecond, nil)
	l.Summary(3, 1, []string{"db2", "db3"}, 1<<30, 200<<20, time.Second, &PruneTotals{Prefixes: 1, Kept: 21, Deleted: 1})
	l.Summary(1, 1, nil, 1, 1, time.Second, &PruneTotals{Prefixes: 1, Kept: 21, Deleted: 1, Refused: 2})

	old := catalog.Backup{Prefix: "db1", Key: "db1-20261027060000.gz.aes", Time: mustTime("2026-10-27T06:00:00Z"), HasManifest: true}
	withGlobals := old
	withGlobals.Companions = []catalog.Backup{{Key: "db1-20261027060000.globals.gz.aes", Companion: "globals"}, {Key: "x", Companion: "other"}}
	l.PruneDelete("db1", "bucket", catalog.Decision{Backup: old}, false)
	l.PruneDelete("db1", "bucket", catalog.Decision{Backup: withGlobals, Why: []string{"empty"}}, true)
	mismatched := old
	mismatched.Mismatch = "it describes db1-x\r.gz.aes"
	l.PruneKept("db1", "bucket", catalog.Decision{Backup: mismatched, Keep: true, Why: []string{catalog.ReasonMismatch}}, false)
	l.PruneKept("db1", "bucket", catalog.Decision{Backup: old, Keep: true, Why: []string{catalog.ReasonThisRun}}, true)
	l.PruneRefused("db1", "bucket", old.Key, "AccessDenied")
	rules := catalog.Rules{Daily: 7, Weekly: 5}
	l.Pruned(catalog.PruneResult{Prefix: "db1", Kept: 21, Deleted: 1}, rules, false)
	l.Pruned(catalog.PruneResult{Prefix: "db1", Kept: 21, Deleted: 1, Leftovers: 3, Refused: []catalog.Refusal{{Key: "k", Reason: "r"}}}, rules, true)
	l.PruneSummary(2, 42, 2, 0, nil, false)
	l.PruneSummary(2, 42, 2, 0, nil, true)
	l.PruneSummary(2, 21, 1, 0, []string{"db2"}, true)
	l.PruneSummary(2, 42, 2, 1, []string{}, false)
	l.PruneLocked("db1", "bucket", old.Key, s3stream.Lock{Mode: "GOVERNANCE", Until: mustTime("2026-12-27T06:00:00Z")}, false)
	l.PruneLocked("db1", "bucket", old.Key, s3stream.Lock{LegalHold: true}, true)
	l.Pruned(catalog.PruneResult{Prefix: "db1", Kept: 21, Locked: []catalog.LockedObject{{Key: old.Key}}}, rules, false)
	l.RestoreRoles(e, "bucket", "db1-20261127060000.globals.gz.aes", []string{"app_owner", "app"}, 2)
	l.RestoreRoles(e, "bucket", "db1-20261127060000.globals.gz.aes", nil, 0)
	l.PruneKeptLeftover("shop", "bucket", "shop-20261027060000.globals.gz.aes", "the globals of a '*' line, which the newer dumps of this prefix do not own: give the '*' line a prefix of its own, or delete them by hand")
	l.PruneOneByOne("db1", "bucket", "the store does not implement DeleteObjects, the batch delete (NotImplemented: not implemented)")

	// A '*' line's globals, once for its databases.
	line := pgpass.Entry{Host: "db.example.com", Port: "5432", Database: "app", User: "u", Prefix: "shop", ListPrefix: "shop"}
	l.GlobalsStarted(line, "bucket", "shop-20261127060000.globals.gz.aes")
}

// The text lines, as docs/*.md show them and a reader may grep for.
const wantTextLines = `tool: db1: backing up db.example.com:5432/app to s3://bucket/db1-20261127060000.gz.aes
tool: db1: server PostgreSQL 17.2, pg_dump 17.4 (Debian 17.4-1) (/usr/lib/postgresql/17/bin/pg_dump)
tool: db1: 10.0 GiB dumped, 1.00 GiB stored so far, 1m1s, 167 MiB/s
tool: db1: done: 1.00 GiB dumped, 200 MiB stored (19.5%) in 9.877s, 104 MiB/s
tool: db1: done: 0 B dumped, 0 B stored (0.0%) in 0s, 0 B/s
tool: db1: warning: the login may not read role passwords (pg_dumpall: permission denied for table pg_authid; not a superuser, as on managed services): saving the roles without their passwords (--no-role-passwords)
tool: db1: globals done: s3://bucket/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 900 B stored
tool: db1: globals done: s3://bucket/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 900 B stored; role passwords not included: set them after a restore
tool: error: db1: cannot connect; second \x1b[2Kline
tool: error: db1: the bucket is in another region
tool: hint: db1: set AWS_REGION=eu-west-1, the bucket's region
tool: warning: something <to> look at & "quoted"
tool: db1: warning: no manifest
tool: db1: ok: db1-20261127060000.gz.aes
tool: error: 1 of 2 backups failed verification (db2)
tool: 2 of 2 databases backed up: 3.00 GiB dumped, 400 MiB stored, in 19.501s
tool: error: 2 of 3 databases failed (db2, db3); 1 backed up; retention: 21 backups kept, 1 deleted
tool: 1 of 1 databases backed up: 1 B dumped, 1 B stored, in 1s; retention: 21 backups kept, 1 deleted, 2 deletes refused
tool: db1: retention: deleted s3://bucket/db1-20261027060000.gz.aes (kept by no rule)
tool: db1: retention: would delete s3://bucket/db1-20261027060000.gz.aes with globals, other (empty)
tool: warning: db1: retention: leaves s3://bucket/db1-20261027060000.gz.aes alone (manifest does not match its object: it describes db1-x\r.gz.aes)
tool: warning: db1: retention: keeps s3://bucket/db1-20261027060000.gz.aes (this run's backup), which no rule keeps: newer keys fill the rules
tool: warning: db1: retention: the store refused to delete s3://bucket/db1-20261027060000.gz.aes (AccessDenied); it stays
tool: db1: retention (KEEP_DAILY=7 KEEP_WEEKLY=5): 21 backups kept, 1 deleted
tool: db1: retention (KEEP_DAILY=7 KEEP_WEEKLY=5): 21 backups kept, 1 to delete, and 3 leftover objects; 1 deletes refused
tool: retention of 2 prefixes: 42 backups kept, 2 deleted
tool: retention of 2 prefixes: 42 backups kept, 2 to delete
tool: error: retention failed for 1 of 2 prefixes (db2); 21 backups kept, 1 to delete
tool: error: retention: the store refused 1 deletes (see the warnings); 42 backups kept, 2 deleted
tool: db1: retention: keeps s3://bucket/db1-20261027060000.gz.aes, which no rule keeps: locked (GOVERNANCE lock until 2026-12-27 06:00:00 UTC)
tool: db1: retention: would keep s3://bucket/db1-20261027060000.gz.aes, which no rule keeps: locked (a legal hold)
tool: db1: retention (KEEP_DAILY=7 KEEP_WEEKLY=5): 21 backups kept, 0 deleted; 1 locked, kept
tool: db1: restored the roles of s3://bucket/db1-20261127060000.globals.gz.aes: created app_owner, app; 2 statements left out
tool: db1: restored the roles of s3://bucket/db1-20261127060000.globals.gz.aes: created none; 0 statements left out
tool: warning: shop: retention: keeps s3://bucket/shop-20261027060000.globals.gz.aes, which looks like a leftover: the globals of a '*' line, which the newer dumps of this prefix do not own: give the '*' line a prefix of its own, or delete them by hand
tool: db1: retention: the store does not implement DeleteObjects, the batch delete (NotImplemented: not implemented); deleting one key at a time
tool: shop: backing up the globals of db.example.com:5432, once for the line's databases, to s3://bucket/shop-20261127060000.globals.gz.aes
`

// TestLogLines pins every kind of line of the job's log, in both formats,
// and what a monitor gets of them: they are what log queries, alerts and
// readers match.
func TestLogLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asJSON bool
		want   string
	}{
		{"text", false, wantTextLines},
		{"json", true, wantJSONLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log, tee bytes.Buffer
			l := NewLogger(&log, "tool", tc.asJSON)
			l.now = func() time.Time { return mustTime("2026-11-27T06:00:00Z") }
			l.TeeResults(&tee)
			logEverything(l)
			if log.String() != tc.want {
				t.Errorf("log: got\n%s\nwant\n%s", log.String(), tc.want)
			}
			if tee.String() != wantTeeLines {
				t.Errorf("tee: got\n%s\nwant\n%s", tee.String(), wantTeeLines)
			}
			if strings.Contains(log.String(), "pw-never-shown") {
				t.Error("a password in the log")
			}
		})
	}
}

// The results, as text whatever the log's format.
const wantTeeLines = `tool: db1: done: 1.00 GiB dumped, 200 MiB stored (19.5%) in 9.877s, 104 MiB/s
tool: db1: done: 0 B dumped, 0 B stored (0.0%) in 0s, 0 B/s
tool: db1: globals done: s3://bucket/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 900 B stored
tool: db1: globals done: s3://bucket/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 900 B stored; role passwords not included: set them after a restore
tool: error: db1: cannot connect; second \x1b[2Kline
tool: error: db1: the bucket is in another region
tool: hint: db1: set AWS_REGION=eu-west-1, the bucket's region
tool: db1: ok: db1-20261127060000.gz.aes
tool: error: 1 of 2 backups failed verification (db2)
tool: 2 of 2 databases backed up: 3.00 GiB dumped, 400 MiB stored, in 19.501s
tool: error: 2 of 3 databases failed (db2, db3); 1 backed up; retention: 21 backups kept, 1 deleted
tool: 1 of 1 databases backed up: 1 B dumped, 1 B stored, in 1s; retention: 21 backups kept, 1 deleted, 2 deletes refused
`

// The JSON lines: slog's, with the same events' facts as attributes.
const wantJSONLines = `{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"backup started","prefix":"db1","host":"db.example.com","port":"5432","database":"app","object":"s3://bucket/db1-20261127060000.gz.aes"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"pg_dump chosen","prefix":"db1","server_version":"17.2","pg_dump_version":"17.4 (Debian 17.4-1)","pg_dump":"/usr/lib/postgresql/17/bin/pg_dump"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"backup progress","prefix":"db1","plain_bytes":10737418240,"stored_bytes":1073741824,"seconds":61.4,"plain_bytes_per_second":174876518.56677526}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"backup done","prefix":"db1","database":"app","object":"s3://bucket/db1-20261127060000.gz.aes","plain_bytes":1073754169,"stored_bytes":209715200,"ratio":0.19531025448339842,"seconds":9.87654321,"plain_bytes_per_second":108717609.60989104,"sha256":"ab12"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"backup done","prefix":"db1","database":"app","object":"s3://bucket/db1-20261127060000.gz.aes","plain_bytes":0,"stored_bytes":0,"ratio":0,"seconds":0,"plain_bytes_per_second":0,"sha256":""}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"globals without role passwords","prefix":"db1","reason":"the login may not read role passwords (pg_dumpall: permission denied for table pg_authid; not a superuser, as on managed services): saving the roles without their passwords (--no-role-passwords)"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"globals done","prefix":"db1","object":"s3://bucket/db1-20261127060000.globals.gz.aes","plain_bytes":2048,"stored_bytes":900,"role_passwords":true,"sha256":"cd34"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"globals done","prefix":"db1","object":"s3://bucket/db1-20261127060000.globals.gz.aes","plain_bytes":2048,"stored_bytes":900,"role_passwords":false,"sha256":""}
{"time":"2026-11-27T06:00:00Z","level":"ERROR","msg":"backup failed","prefix":"db1","database":"app","error":"cannot connect; second \\x1b[2Kline"}
{"time":"2026-11-27T06:00:00Z","level":"ERROR","msg":"backup failed","prefix":"db1","database":"app","error":"the bucket is in another region","hint":"set AWS_REGION=eu-west-1, the bucket's region"}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"something <to> look at & \"quoted\""}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"no manifest","prefix":"db1"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"db1: ok: db1-20261127060000.gz.aes"}
{"time":"2026-11-27T06:00:00Z","level":"ERROR","msg":"1 of 2 backups failed verification (db2)"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"job done","databases":2,"succeeded":2,"failed":[],"plain_bytes":3221225472,"stored_bytes":419430400,"seconds":19.5007}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"job done","databases":3,"succeeded":1,"failed":["db2","db3"],"plain_bytes":1073741824,"stored_bytes":209715200,"seconds":1,"retention_kept":21,"retention_deleted":1,"retention_refused":0}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"job done","databases":1,"succeeded":1,"failed":[],"plain_bytes":1,"stored_bytes":1,"seconds":1,"retention_kept":21,"retention_deleted":1,"retention_refused":2}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention deleted","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","started":"2026-10-27T06:00:00Z","manifest":true,"companions":0,"why":"kept by no rule","dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention would delete","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","started":"2026-10-27T06:00:00Z","manifest":true,"companions":2,"why":"empty","dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"retention keeps","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","started":"2026-10-27T06:00:00Z","why":"manifest does not match its object","mismatch":"it describes db1-x\r.gz.aes","dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"retention keeps","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","started":"2026-10-27T06:00:00Z","why":"this run's backup","dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"retention delete refused","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","reason":"AccessDenied"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention applied","prefix":"db1","rules":"KEEP_DAILY=7 KEEP_WEEKLY=5","kept":21,"deleted":1,"leftovers_deleted":0,"refused":0,"dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention applied","prefix":"db1","rules":"KEEP_DAILY=7 KEEP_WEEKLY=5","kept":21,"deleted":1,"leftovers_deleted":3,"refused":1,"dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention done","prefixes":2,"kept":42,"deleted":2,"refused":0,"failed":null,"dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention done","prefixes":2,"kept":42,"deleted":2,"refused":0,"failed":null,"dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"ERROR","msg":"retention done","prefixes":2,"kept":21,"deleted":1,"refused":0,"failed":["db2"],"dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"ERROR","msg":"retention done","prefixes":2,"kept":42,"deleted":2,"refused":1,"failed":[],"dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention locked","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","lock_mode":"GOVERNANCE","locked_until":"2026-12-27T06:00:00Z","legal_hold":false,"dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention locked","prefix":"db1","object":"s3://bucket/db1-20261027060000.gz.aes","legal_hold":true,"dry_run":true}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention applied","prefix":"db1","rules":"KEEP_DAILY=7 KEEP_WEEKLY=5","kept":21,"deleted":0,"leftovers_deleted":0,"refused":0,"locked":1,"dry_run":false}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"restore roles","prefix":"db1","object":"s3://bucket/db1-20261127060000.globals.gz.aes","created":["app_owner","app"],"skipped":2}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"restore roles","prefix":"db1","object":"s3://bucket/db1-20261127060000.globals.gz.aes","created":[],"skipped":0}
{"time":"2026-11-27T06:00:00Z","level":"WARN","msg":"retention keeps leftover","prefix":"shop","object":"s3://bucket/shop-20261027060000.globals.gz.aes","reason":"the globals of a '*' line, which the newer dumps of this prefix do not own: give the '*' line a prefix of its own, or delete them by hand"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"retention one by one","prefix":"db1","bucket":"bucket","reason":"the store does not implement DeleteObjects, the batch delete (NotImplemented: not implemented)"}
{"time":"2026-11-27T06:00:00Z","level":"INFO","msg":"globals started","prefix":"shop","host":"db.example.com","port":"5432","object":"s3://bucket/shop-20261127060000.globals.gz.aes"}
`

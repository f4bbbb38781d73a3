package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// TestTeeResults: the tee gets the result and summary lines as text, in
// either log format, and nothing else; a JSON log has JSON lines only.
func TestTeeResults(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		var log, tee bytes.Buffer
		l := NewLogger(&log, "tool", asJSON)
		l.TeeResults(&tee)
		e := pgpass.Entry{Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw-never-shown", Prefix: "db1"}
		start := mustTime("2026-11-27T06:00:00Z")
		l.Start(e, "bucket", "db1-20261127060000.gz.aes")
		l.Progress(e, 1<<20, 1<<10, time.Second)
		l.Warn("something to look at")
		l.Done(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.gz.aes", PlainSize: 1 << 20, StoredSize: 1 << 18, Started: start, Finished: start.Add(2 * time.Second)})
		l.GlobalsDone(e, &catalog.Info{Bucket: "bucket", Key: "db1-20261127060000.globals.gz.aes", PlainSize: 2048, StoredSize: 1024})
		l.Failed(e, errors.New("cannot connect\nsecond line"))
		l.Summary(2, 1, []string{"db1"}, 1<<20, 1<<18, 3*time.Second, nil)
		l.result("%d of %d backups verified", 1, 1)
		l.PrefixWarn("db1", "no manifest")
		want := "tool: db1: done: 1.00 MiB dumped, 256 KiB stored (25.0%) in 2s, 512 KiB/s\n" +
			"tool: db1: globals done: s3://bucket/db1-20261127060000.globals.gz.aes, 2.00 KiB dumped, 1.00 KiB stored\n" +
			"tool: error: db1: cannot connect; second line\n" +
			"tool: error: 1 of 2 databases failed (db1); 1 backed up\n" +
			"tool: 1 of 1 backups verified\n"
		if tee.String() != want {
			t.Errorf("json %v: tee got\n%s\nwant\n%s", asJSON, tee.String(), want)
		}
		if asJSON {
			for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("log line %q", line)
				}
			}
		}
		if strings.Contains(log.String()+tee.String(), "pw-never-shown") {
			t.Error("a password in the log")
		}
	}
}

// TestSummaryJSONFailedList: the JSON summary's "failed" is a list, []
// when none failed, so that a log query can take its length.
func TestSummaryJSONFailedList(t *testing.T) {
	for _, failed := range [][]string{nil, {"db2"}} {
		var log bytes.Buffer
		NewLogger(&log, "tool", true).Summary(2, 2-len(failed), failed, 1, 1, time.Second, nil)
		var line struct {
			Failed *[]string `json:"failed"`
		}
		if err := json.Unmarshal(log.Bytes(), &line); err != nil || line.Failed == nil || len(*line.Failed) != len(failed) {
			t.Errorf("failed %q: summary %s", failed, log.String())
		}
	}
}

// A failure's message may quote a name from the database (pg_dump's error
// names the table whose data it could not read; anyone who may create a
// table can make that fail): its carriage returns and terminal escapes
// never reach the text log or the healthcheck's body as such, where they
// could hide or rewrite the line.
func TestFailedHostileName(t *testing.T) {
	var log, tee bytes.Buffer
	l := NewLogger(&log, "tool", false)
	l.TeeResults(&tee)
	e := pgpass.Entry{Prefix: "db1"}
	l.Failed(e, errors.New("pg_dump failed (exit status 1): pg_dump: error: Dumping the contents of table \"x\r\x1b[2Ktool: db1: done\x1b[8m\u0085\" failed"))
	for name, out := range map[string]string{"log": log.String(), "tee": tee.String()} {
		line := strings.TrimSuffix(out, "\n")
		if !strings.HasPrefix(line, "tool: error: db1: pg_dump failed") || strings.ContainsFunc(line, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0x85 }) {
			t.Errorf("%s: %q", name, out)
		}
		if !strings.Contains(line, `table "x\r\x1b[2Ktool: db1: done\x1b[8m\u0085" failed`) {
			t.Errorf("%s: the name is not shown escaped: %q", name, out)
		}
	}
}

package backup

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// TestReadmeManifest: the manifest the README shows is what the job
// writes for such a backup, to the byte.
func TestReadmeManifest(t *testing.T) {
	started := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	finished := started.Add(9800 * time.Millisecond)
	s := &Settings{Compression: "gzip", Level: catalog.DefaultGzipLevel}
	info := &catalog.Info{
		Prefix: "db1", Database: "hsdp_pg", Host: "db.example.com", Port: "5432", User: "backup",
		Bucket: "my-bucket", Key: "db1-20261127060000.gz.aes",
		Started: started, Finished: finished, Format: "plain", PlainSize: 1620000000,
		Rows:        map[string]int64{"public.orders": 5000000, "public.customer": 20000},
		Compression: s.Compression, CompressionLevel: s.Level,
		PgDumpVersion: "16.10", ServerVersion: "16.4", Tool: "iron-streaming-backup v1.0.0",
	}
	setEncryption(info, s)
	info.RestoreCommand = info.StockRestore()
	r := s3stream.Result{
		Bucket: info.Bucket, Key: info.Key, Size: 204103338,
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		ETag:   `"5f363e0e58a95f06cbe9bbc662c5dfb6-25"`, Parts: 25, PartSize: 8 << 20,
		ContentType: "application/octet-stream", Completed: finished,
	}
	m, err := manifest(r, info)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(readme), "`<object>.manifest.json` next\nto it:\n\n```json\n")
	want, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("README.md has no manifest example after '<object>.manifest.json next to it:'")
	}
	if string(got) != want {
		t.Errorf("README.md's manifest example differs from what the job writes; the job writes:\n%s", got)
	}
}

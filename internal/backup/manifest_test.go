package backup

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// TestDocsManifest: the manifest docs/design.md shows is what the job
// writes for such a backup, to the byte.
func TestDocsManifest(t *testing.T) {
	started := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	finished := started.Add(9800 * time.Millisecond)
	s := &Settings{}
	s.Compression, s.Level = "gzip", catalog.DefaultGzipLevel
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
	page, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(page), "\n## The manifest\n")
	_, rest, _ := strings.Cut(section, "\n```json\n")
	want, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatal("docs/design.md has no ```json block under the heading The manifest")
	}
	if string(got) != want+"\n" {
		t.Errorf("the manifest example of docs/design.md differs from what the job writes; the job writes:\n%s", got)
	}
}

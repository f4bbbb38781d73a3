package config

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the generated tables of docs/configuration.md")

// TestDocsConfiguration: the tables of docs/configuration.md are
// Markdown's, each between its markers. go test ./internal/config -run
// DocsConfiguration -update rewrites them.
func TestDocsConfiguration(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "docs", "configuration.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for g := Original; g <= Monitoring; g++ {
		begin := "<!-- settings: " + g.String() + " (generated from internal/config/table.go) -->\n"
		const end = "<!-- end of settings -->\n"
		i := strings.Index(doc, begin)
		j := strings.Index(doc[i+len(begin):], end)
		if i < 0 || j < 0 {
			t.Fatalf("docs/configuration.md has no %q … %q", strings.TrimSpace(begin), strings.TrimSpace(end))
		}
		j += i + len(begin)
		if got, want := doc[i+len(begin):j], Markdown(g); got != want {
			if !*update {
				t.Errorf("the %s table of docs/configuration.md is not config.Table's; run go test ./internal/config -run DocsConfiguration -update\ngot:\n%s\nwant:\n%s", g, got, want)
			}
			doc = doc[:i+len(begin)] + want + doc[j:]
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUsage: -h's lines of settings fit 80 columns, and each setting is
// there once.
func TestUsage(t *testing.T) {
	var all strings.Builder
	for g := Original; g <= Monitoring; g++ {
		all.WriteString(Usage(g))
	}
	for _, l := range strings.Split(all.String(), "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line longer than 80 columns: %q", l)
		}
	}
	for _, s := range Table {
		re := regexp.MustCompile(`(?m)^    ` + s.Name + `(=[A-Za-z]+)?( |$)`)
		if n := len(re.FindAllString(all.String(), -1)); n != 1 {
			t.Errorf("%s is listed %d times", s.Name, n)
		}
	}
}

// TestTableRead: every setting of Table is read by Load (or its
// siblings) or, for the AWS SDK's, by the SDK; reading any other name
// panics (env.get).
func TestTableRead(t *testing.T) {
	read := map[string]bool{}
	record := func(m map[string]string) func(string) string {
		return func(k string) string {
			read[k] = true
			return m[k]
		}
	}
	k := ageKeygen(t)
	envs := []map[string]string{
		{},
		seedEnv(),
		{EnvEncryption: "age", EnvAgeRecipFile: "/nonexistent"},
		{EnvShardCount: "2", EnvJobIndex: "1"},
		{EnvSSE: "aws:kms", EnvWebhook: "https://example.com/hook"},
		{EnvEncryption: "openssl", EnvPgpassFile: "/nonexistent", EnvPasswordFile: "/nonexistent"},
	}
	for _, m := range envs {
		full := seedEnv()
		for k, v := range m {
			full[k] = v
		}
		full[EnvAgeRecipients] = k.Recipient
		for _, p := range []Purpose{ForVerify, ForBackup, ForPrune} {
			Load(record(full), p, "")
			Load(record(m), p, "")
		}
		LoadStorage(record(full))
		LoadRules(record(full))
		List(record(m))
	}
	for _, s := range Table {
		if !read[s.Name] && !s.SDK && s.Name != EnvPayloadFile { // PAYLOAD_FILE: read by runner
			t.Errorf("%s is in Table but never read", s.Name)
		}
	}
}

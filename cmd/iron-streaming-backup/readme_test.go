package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// readmeRestores returns the restore one-liners of README.md by the
// settings they are for ("gzip plain evp"): the lines of every ```sh block
// that starts with "# restore: SETTINGS".
func readmeRestores(t *testing.T) map[string][]string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	inBlock, settings := false, ""
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "```sh":
			inBlock, settings = true, ""
		case inBlock && l == "```":
			inBlock = false
		case inBlock && strings.HasPrefix(l, "# restore: "):
			settings = strings.TrimPrefix(l, "# restore: ")
		case inBlock && settings != "" && strings.TrimSpace(l) != "":
			out[settings] = append(out[settings], l)
		}
	}
	return out
}

// readmeBlock returns the lines of the README's ```sh block that starts
// with the line first (not included).
func readmeBlock(t *testing.T, first string) []string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```sh\n"+first+"\n")
	if !ok {
		t.Fatalf("README.md has no block starting %q", first)
	}
	block, _, _ := strings.Cut(rest, "```\n")
	return strings.Split(strings.TrimSpace(block), "\n")
}

var readmeKey = regexp.MustCompile(`s3://my-bucket/db1-\d{14}((\.dump)?\.(gz|zst)\.(aes|age))`)

// TestReadmeRestores makes a backup for every combination the README
// documents and runs each of its restore one-liners as written, with only
// the bucket, key, key file and database names put in: the documentation
// cannot rot.
func TestReadmeRestores(t *testing.T) {
	awsDir, err := testenv.FindAWS()
	if err != nil {
		t.Fatal(err)
	}
	restores := readmeRestores(t)
	var combos []string
	for _, c := range []string{"gzip", "zstd"} {
		for _, f := range []string{"plain", "custom"} {
			for _, k := range []string{"evp", "pbkdf2", "age"} {
				combos = append(combos, c+" "+f+" "+k)
			}
		}
	}
	if len(restores) != len(combos) {
		t.Errorf("README documents %d combinations, the job writes %d", len(restores), len(combos))
	}
	for i, combo := range combos {
		t.Run(strings.ReplaceAll(combo, " ", "-"), func(t *testing.T) {
			lines := restores[combo]
			var sawAWS, sawOurs bool
			for _, l := range lines {
				sawAWS = sawAWS || strings.HasPrefix(l, "aws s3 cp ")
				sawOurs = sawOurs || strings.HasPrefix(l, "s3get ")
			}
			if !sawAWS || !sawOurs {
				t.Fatalf("README lacks a stock (aws) or our (s3get) one-liner for %q: %q", combo, lines)
			}
			c := strings.Fields(combo)
			settings := []string{"COMPRESSION=" + c[0], "DUMP_FORMAT=" + c[1], "ENCRYPTION_KDF=" + c[2]}
			var identity string
			if c[2] == "age" {
				k := ageKeygen(t)
				settings[2], identity = "ENCRYPTION=age", k.IdentityFile
				settings = append(settings, "AGE_RECIPIENTS="+k.Recipient)
			}
			_, key := freshBackup(t, fmt.Sprintf("readme%d", i), settings...)
			for _, l := range lines {
				m := readmeKey.FindStringSubmatch(l)
				if m == nil || !strings.HasSuffix(key, m[1]) {
					t.Fatalf("README line names no object like %s: %s", key, l)
				}
				line := readmeKey.ReplaceAllString(l, "s3://backups/"+key)
				line = strings.ReplaceAll(line, "file:backup.key", "file:KEYFILE")
				line = regexp.MustCompile(`-d newdb$`).ReplaceAllString(line, "-d NEWDB")
				switch {
				case identity != "" && strings.Contains(line, " age -d -i key.txt "):
					// age's key is the identity, not the password.
					line = strings.ReplaceAll(line, " -i key.txt ", " -i "+identity+" ")
				case identity != "":
					t.Fatalf("README line has no age -d -i key.txt: %s", l)
				case !strings.Contains(line, "KEYFILE"):
					t.Fatalf("README line has no backup.key: %s", l)
				}
				if !strings.Contains(line, "NEWDB") {
					t.Fatalf("README line has no newdb: %s", l)
				}
				db := restoreOneLiner(t, line+" >/dev/null", "PATH="+binDir+":"+pg.BinDir+":"+os.Getenv("PATH")+":"+awsDir)
				sameDump(t, "app1", db)
			}
		})
	}
}

// TestReadmeSettings: every setting the job reads is documented in the
// README's tables with its default.
func TestReadmeSettings(t *testing.T) {
	root, _ := testenv.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "internal/backup/*.go"))
	var names [][][]byte
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, regexp.MustCompile(`(?m)^\s+env\w+\s+= "([A-Z0-9_]+)"`).FindAllSubmatch(src, -1)...)
	}
	if len(names) < 15 {
		t.Fatalf("found only %d settings in internal/backup", len(names))
	}
	for _, n := range names {
		if !regexp.MustCompile("(?m)^\\|.*`" + string(n[1]) + "`").Match(b) {
			t.Errorf("README's settings tables lack %s", n[1])
		}
	}
}

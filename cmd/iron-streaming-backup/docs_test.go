package main

// Tests of the documentation, README.md and docs/*.md: the restore
// one-liners run as written, and every setting is documented. The blocks
// are read by their first line (docBlockLines), wherever they are.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// docBlock is a fenced code block of the documentation.
type docBlock struct {
	file  string   // relative to the repository's root
	line  int      // of the opening fence, 1-based
	lang  string   // the fence's info string: sh, json, yaml, text
	lines []string // the block's lines, the fence's indentation removed
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// first is the block's first line: for an sh block, its marker.
func (b docBlock) first() string {
	if len(b.lines) == 0 {
		return ""
	}
	return b.lines[0]
}

// body is the block's lines after the first, without blank lines.
func (b docBlock) body() []string {
	var out []string
	for _, l := range b.lines[min(1, len(b.lines)):] {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// docFiles are the documentation's files, relative to the repository's
// root: README.md and docs/*.md.
func docFiles(t *testing.T) (root string, files []string) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	files = []string{"README.md"}
	for _, p := range pages {
		files = append(files, filepath.Join("docs", filepath.Base(p)))
	}
	return root, files
}

func readDoc(t *testing.T, root, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var fenceRE = regexp.MustCompile("^( {0,3})```(.*)$")

// parseDoc returns the fenced blocks of one file and the problems of its
// markup: an unclosed fence, an indented code block.
func parseDoc(file, text string) (blocks []docBlock, problems []string) {
	var cur *docBlock
	indent := ""
	prev, prevText := "", "" // the previous line, the previous non-blank line
	for i, l := range strings.Split(text, "\n") {
		if cur != nil {
			if strings.TrimSpace(l) == "```" {
				blocks = append(blocks, *cur)
				cur = nil
			} else {
				cur.lines = append(cur.lines, strings.TrimPrefix(l, indent))
			}
			prev = l
			continue
		}
		if m := fenceRE.FindStringSubmatch(l); m != nil {
			cur = &docBlock{file: file, line: i + 1, lang: strings.TrimSpace(m[2])}
			indent = m[1]
		} else if strings.HasPrefix(l, "    ") && strings.TrimSpace(prev) == "" && prevText != "" &&
			!strings.HasPrefix(prevText, " ") && !listItem.MatchString(prevText) {
			// Four spaces after a paragraph: an indented code block.
			problems = append(problems, fmt.Sprintf("%s:%d: an indented code block; use a fenced one (```sh with a marker, or ```text)", file, i+1))
		}
		prev = l
		if strings.TrimSpace(l) != "" {
			prevText = l
		}
	}
	if cur != nil {
		problems = append(problems, fmt.Sprintf("%s: the block at line %d is not closed", file, cur.line))
	}
	return blocks, problems
}

var listItem = regexp.MustCompile(`^\s*([-*]|\d+\.) `)

// docBlocks returns every fenced block of README.md and docs/*.md.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	root, files := docFiles(t)
	var all []docBlock
	for _, f := range files {
		blocks, problems := parseDoc(f, readDoc(t, root, f))
		for _, p := range problems {
			t.Error(p)
		}
		all = append(all, blocks...)
	}
	return all
}

// docBlockLines returns the lines after the first of the ```sh block that
// starts with the line first, wherever in README.md and docs/*.md it is,
// without blank lines. A block that appears in several places must be
// the same everywhere.
func docBlockLines(t *testing.T, first string) []string {
	t.Helper()
	var found []docBlock
	for _, b := range docBlocks(t) {
		if b.lang == "sh" && b.first() == first {
			found = append(found, b)
		}
	}
	if len(found) == 0 {
		t.Fatalf("README.md and docs/*.md have no ```sh block starting %q", first)
	}
	for _, b := range found[1:] {
		if !slices.Equal(b.body(), found[0].body()) {
			t.Fatalf("the blocks %q of %s and %s differ", first, found[0], b)
		}
	}
	return found[0].body()
}

// markRestore starts the ```sh blocks of the restore one-liners, which
// TestDocsRestores runs: "# restore: gzip plain evp".
const markRestore = "# restore: "

// restoreCombos are the settings of every combination the job writes, as
// "# restore: " blocks name them.
func restoreCombos() []string {
	var combos []string
	for _, c := range []string{"gzip", "zstd"} {
		for _, f := range []string{"plain", "custom"} {
			for _, k := range []string{"evp", "pbkdf2", "age"} {
				combos = append(combos, c+" "+f+" "+k)
			}
		}
	}
	return combos
}

// docRestores returns the restore one-liners of the documentation by the
// settings they are for ("gzip plain evp"): the lines of every ```sh block
// that starts with "# restore: SETTINGS". The same settings' blocks in
// several places must be the same.
func docRestores(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	where := map[string]docBlock{}
	for _, b := range docBlocks(t) {
		settings, ok := strings.CutPrefix(b.first(), markRestore)
		if b.lang != "sh" || !ok {
			continue
		}
		if w, ok := where[settings]; ok {
			if !slices.Equal(out[settings], b.body()) {
				t.Errorf("the restore blocks %q of %s and %s differ", settings, w, b)
			}
			continue
		}
		out[settings], where[settings] = b.body(), b
	}
	return out
}

var docKey = regexp.MustCompile(`s3://my-bucket/db1-\d{14}((\.dump)?\.(gz|zst)\.(aes|age))`)

// TestDocsRestores makes a backup for every combination the documentation
// shows and runs each of its restore one-liners as written, with only
// the bucket, key, key file and database names put in: the documentation
// cannot rot.
func TestDocsRestores(t *testing.T) {
	awsDir, err := testenv.FindAWS()
	if err != nil {
		t.Fatal(err)
	}
	restores := docRestores(t)
	combos := restoreCombos()
	if len(restores) != len(combos) {
		t.Errorf("the documentation shows %d combinations, the job writes %d", len(restores), len(combos))
	}
	// The subtests share nothing (each has its folder and its new
	// databases) and mostly wait for the AWS CLI and psql: they run
	// together, against one dump of the source.
	src := dumpOf(t, "app1")
	if !strings.Contains(src, "pgbench_accounts") || !strings.Contains(src, "日本語") {
		t.Fatalf("the source dump lacks the sample data")
	}
	for i, combo := range combos {
		t.Run(strings.ReplaceAll(combo, " ", "-"), func(t *testing.T) {
			t.Parallel()
			lines := restores[combo]
			var sawAWS, sawOurs bool
			for _, l := range lines {
				sawAWS = sawAWS || strings.HasPrefix(l, "aws s3 cp ")
				sawOurs = sawOurs || strings.HasPrefix(l, "s3get ")
			}
			if !sawAWS || !sawOurs {
				t.Fatalf("the documentation lacks a stock (aws) or our (s3get) one-liner for %q: %q", combo, lines)
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
				m := docKey.FindStringSubmatch(l)
				if m == nil || !strings.HasSuffix(key, m[1]) {
					t.Fatalf("the line names no object like %s: %s", key, l)
				}
				line := docKey.ReplaceAllString(l, "s3://backups/"+key)
				line = strings.ReplaceAll(line, "file:backup.key", "file:KEYFILE")
				line = regexp.MustCompile(`-d newdb$`).ReplaceAllString(line, "-d NEWDB")
				switch {
				case identity != "" && strings.Contains(line, " age -d -i key.txt "):
					// age's key is the identity, not the password.
					line = strings.ReplaceAll(line, " -i key.txt ", " -i "+identity+" ")
				case identity != "":
					t.Fatalf("the line has no age -d -i key.txt: %s", l)
				case !strings.Contains(line, "KEYFILE"):
					t.Fatalf("the line has no backup.key: %s", l)
				}
				if !strings.Contains(line, "NEWDB") {
					t.Fatalf("the line has no newdb: %s", l)
				}
				db := restoreOneLiner(t, line+" >/dev/null", "PATH="+binDir+":"+pg.BinDir+":"+os.Getenv("PATH")+":"+awsDir)
				if got := dumpOf(t, db); got != src {
					t.Fatalf("pg_dump of app1 (%d bytes) and of its restore %s (%d bytes) differ", len(src), db, len(got))
				}
			}
		})
	}
}

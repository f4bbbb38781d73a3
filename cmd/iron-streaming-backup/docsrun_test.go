package main

// The documentation's command blocks: every ```sh block of README.md and
// docs/*.md starts with a marker line that names the test that runs it,
// or says why none does; TestDocsRun runs the "# run: " blocks. Also: the
// JSON blocks parse, and the relative links lead somewhere.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// Markers: the first line of every ```sh block says which test runs it,
// or why none does. markRestore ("# restore: SETTINGS") is TestDocsRestores'.
const (
	markRestoreRoles = "# restore roles: " // a test of its own (docTests)
	markRecipe       = "# recipe: "        // a test of its own (docTests)
	markRun          = "# run: "           // TestDocsRun, as written
	markNotRun       = "# not run here: "  // a reason: needs IronIO, Docker, AWS, …
)

// docTests names the test that reads each block of its own by its first
// line.
var docTests = map[string]string{
	"# restore roles: gzip plain evp":      "TestGlobalsRestoreRoles",
	"# recipe: restore role":               "TestDocsRestoreRole",
	"# recipe: restore command":            "TestDocsRestoreCommand",
	"# recipe: restore command with roles": "TestRestoreGlobals",
	"# recipe: object lock bucket":         "TestDocsObjectLockBucket",
}

// TestDocsBlocks: every fenced block has a language; every ```sh block
// starts with a marker that a test runs, or that says why none does; every
// ```json block parses.
func TestDocsBlocks(t *testing.T) {
	runs := map[string]string{}
	seen := map[string]bool{}
	for _, b := range docBlocks(t) {
		switch b.lang {
		case "sh":
		case "json":
			var v any
			if err := json.Unmarshal([]byte(strings.Join(b.lines, "\n")), &v); err != nil {
				t.Errorf("%s: the JSON does not parse: %v", b, err)
			}
			continue
		case "yaml", "text":
			continue
		case "":
			t.Errorf("%s: a block without a language: use sh (commands, with a marker), json, yaml or text", b)
			continue
		default:
			t.Errorf("%s: a ```%s block: use sh (commands, with a marker), json, yaml or text", b, b.lang)
			continue
		}
		first := b.first()
		seen[first] = true
		switch {
		case strings.HasPrefix(first, markRestore):
			if !slices.Contains(restoreCombos(), strings.TrimPrefix(first, markRestore)) {
				t.Errorf("%s: %q names no combination the job writes (%q)", b, first, restoreCombos())
			}
		case strings.HasPrefix(first, markRestoreRoles), strings.HasPrefix(first, markRecipe):
			if docTests[first] == "" {
				t.Errorf("%s: no test runs %q: add one and name it in docTests", b, first)
			}
		case strings.HasPrefix(first, markRun):
			if other, ok := runs[first]; ok {
				t.Errorf("%s: %q is also the marker of %s", b, first, other)
			}
			runs[first] = b.String()
		case strings.HasPrefix(first, markNotRun):
			if len(strings.TrimSpace(strings.TrimPrefix(first, markNotRun))) < 8 {
				t.Errorf("%s: %q: say why the block is not run", b, first)
			}
		default:
			t.Errorf("%s: the block starts %q; a ```sh block starts with a marker: %q (a test runs it), or %q", b, first,
				[]string{markRestore + "SETTINGS", markRestoreRoles + "SETTINGS", markRecipe + "NAME", markRun + "WHAT"}, markNotRun+"REASON")
			continue
		}
		if len(b.body()) == 0 {
			t.Errorf("%s: %q has no command", b, first)
		}
	}
	for first, test := range docTests {
		if !seen[first] {
			t.Errorf("%s reads the block %q, which the documentation lacks", test, first)
		}
	}
	if len(runs) == 0 {
		t.Error("no # run: block found")
	}
}

var (
	headingRE = regexp.MustCompile(`^#{1,6} +(.*?) *#* *$`)
	linkRE    = regexp.MustCompile(`\]\(([^()\s]+)\)`)
)

// anchors are the anchors GitHub makes of a page's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	blocks, _ := parseDoc("", text)
	inBlock := map[int]bool{}
	for _, b := range blocks {
		for i := b.line; i <= b.line+len(b.lines)+1; i++ {
			inBlock[i] = true
		}
	}
	count := map[string]int{}
	for i, l := range strings.Split(text, "\n") {
		m := headingRE.FindStringSubmatch(l)
		if m == nil || inBlock[i+1] {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := count[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		count[a]++
	}
	return out
}

// TestDocsLinks: every relative link of README.md and docs/*.md names a
// file that exists and, with #anchor, a heading of that file.
func TestDocsLinks(t *testing.T) {
	root, files := docFiles(t)
	for _, f := range files {
		text := readDoc(t, root, f)
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
			}
			b, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Errorf("%s: the link %s: %v", f, target, err)
				continue
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !anchors(string(b))[anchor] {
				t.Errorf("%s: the link %s: %s has no heading #%s", f, target, file, anchor)
			}
		}
	}
}

// The state every "# run: " block starts from (docs/design.md, "The
// documentation's tests"): a database hsdp_pg with sample data, an empty
// newdb, and in the bucket my-bucket a backup of hsdp_pg in the default
// format under the name the documentation uses, encrypted with the
// password in backup.key.
const (
	runBucket = "my-bucket"
	runObject = "db1-20261127060000.gz.aes"
)

// runEnv is the environment of a "# run: " block run in dir.
func runEnv(dir string) []string {
	env := []string{
		"PATH=" + binDir + ":" + pg.BinDir + ":" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"LANG=C.UTF-8",
		"PSQLRC=" + filepath.Join(dir, ".psqlrc"),
		"S3_PATH_STYLE=true",
	}
	env = append(env, srv.Env()...)
	return append(env, pg.SocketEnv()...)
}

// runSetup makes the state the "# run: " blocks start from, anew where a
// block changed it.
func runSetup(t *testing.T, dir string) {
	t.Helper()
	ctx := t.Context()
	if out, err := pg.Psql(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'hsdp_pg'"); err != nil || out != "1" {
		if err := pg.CreateDatabase(ctx, "hsdp_pg"); err != nil {
			t.Fatal(err)
		}
		if _, err := pg.Psql(ctx, "hsdp_pg", testenv.SampleSQL(pg.User, 5000, 50)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.Psql(ctx, "postgres", "DROP DATABASE IF EXISTS newdb"); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateDatabase(ctx, "newdb"); err != nil {
		t.Fatal(err)
	}
	c := s3client()
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(runBucket)}); err != nil {
		if err := srv.CreateBucket(ctx, c, runBucket); err != nil {
			t.Fatal(err)
		}
	}
	keep := map[string]bool{}
	for _, k := range objects(t, runBucket) {
		if k == runObject || k == runObject+".manifest.json" {
			keep[k] = true
			continue
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(runBucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if !keep[runObject] || !keep[runObject+".manifest.json"] {
		runScript(t, dir, "set -o pipefail\npg_dump -d hsdp_pg | gzip | osslenc -e -pass file:backup.key | s3put s3://"+runBucket+"/"+runObject)
	}
}

// runScript runs script with bash in dir, failing at the first command
// that fails, and returns its output.
func runScript(t *testing.T, dir, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, runEnv(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s\noutput:\n%s", err, script, out.String())
	}
	return out.String()
}

// TestDocsRun runs every "# run: " block of the documentation as written,
// each in a new folder, from the state runSetup makes.
func TestDocsRun(t *testing.T) {
	var runs []docBlock
	for _, b := range docBlocks(t) {
		if b.lang == "sh" && strings.HasPrefix(b.first(), markRun) {
			runs = append(runs, b)
		}
	}
	if len(runs) == 0 {
		t.Fatal("no # run: block found")
	}
	for _, b := range runs {
		name := strings.TrimPrefix(b.first(), markRun)
		t.Run(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(name, "-"), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "backup.key"), []byte(encPass+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ".psqlrc"), []byte("\\set ON_ERROR_STOP on\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			runSetup(t, dir)
			out := runScript(t, dir, strings.Join(b.lines, "\n"))
			t.Logf("%s:\n%s", b, out)
		})
	}
}

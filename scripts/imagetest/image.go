package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// imageConfig is the part of `image inspect` checked here (Docker and
// podman print the same fields).
type imageConfig struct {
	Size   int64
	Config struct {
		User       string
		Env        []string
		Entrypoint []string
		Cmd        []string
		Labels     map[string]string
	}
}

func (t *tester) inspect() (*imageConfig, error) {
	r, err := t.container(nil, nil, "image", "inspect", t.image)
	if err != nil {
		return nil, err
	}
	if r.Code != 0 {
		return nil, fmt.Errorf("image inspect %s: %s", t.image, strings.TrimSpace(r.Stderr))
	}
	var list []imageConfig
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || len(list) != 1 {
		return nil, fmt.Errorf("image inspect %s: %v", t.image, err)
	}
	return &list[0], nil
}

// checkImage checks the image's configuration and what a shell in it sees,
// and prints the clients' versions and the image's size.
func (t *tester) checkImage() error {
	c, err := t.inspect()
	if err != nil {
		return err
	}
	var problems []string
	if c.Config.User != "10001:10001" {
		problems = append(problems, fmt.Sprintf("user %q, want 10001:10001", c.Config.User))
	}
	if !slices.Equal(c.Config.Entrypoint, []string{"iron-streaming-backup", "runner"}) {
		problems = append(problems, fmt.Sprintf("entrypoint %q, want the runner", c.Config.Entrypoint))
	}
	if len(c.Config.Cmd) > 0 {
		// IronIO starts the entrypoint alone; the runner takes no arguments.
		problems = append(problems, fmt.Sprintf("cmd %q, want none", c.Config.Cmd))
	}
	t.version = c.Config.Labels["org.opencontainers.image.version"]
	if t.version == "" || c.Config.Labels["org.opencontainers.image.source"] != "https://github.com/philips-labs/iron-streaming-backup" {
		problems = append(problems, fmt.Sprintf("OCI labels %q lack the source or version", c.Config.Labels))
	}

	const script = `id -u; id -g; echo "$HOME"
touch "$HOME/.w" && rm "$HOME/.w" && echo home-writable
test -s /etc/ssl/certs/ca-certificates.crt && echo ca-certificates
for p in /usr/lib/postgresql/*/bin/pg_dump; do echo "$p: $("$p" --version)"; test -x "${p%/pg_dump}/pg_dumpall" || echo "$p: no pg_dumpall beside it"; done`
	r, err := t.container(nil, nil, "run", "--rm", "--entrypoint", "sh", t.image, "-c", script)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) < 6 {
		return fmt.Errorf("a shell in the image: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	if lines[0] != "10001" || lines[1] != "10001" || lines[2] != "/home/isbackup" || lines[3] != "home-writable" || lines[4] != "ca-certificates" {
		problems = append(problems, fmt.Sprintf("uid, gid, HOME, writable HOME, CA certificates: %q", lines[:5]))
	}
	clientRE := regexp.MustCompile(`^/usr/lib/postgresql/(\d+)/bin/pg_dump: pg_dump \(PostgreSQL\) (\d+)\.`)
	for _, l := range lines[5:] {
		if strings.HasSuffix(l, ": no pg_dumpall beside it") {
			problems = append(problems, l+" (DUMP_GLOBALS runs it)")
			continue
		}
		m := clientRE.FindStringSubmatch(l)
		if m == nil || m[1] != m[2] {
			problems = append(problems, fmt.Sprintf("a client not in the folder of its major: %q", l))
		}
		say("client: %s", l)
	}
	say("image %s: version %q, size %.1f MB (%d bytes, uncompressed)", t.image, t.version, float64(c.Size)/1e6, c.Size)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

var (
	// toolchainPath matches a compiler, the Go toolchain, module cache or
	// the build stage's sources.
	toolchainPath = regexp.MustCompile(`^(usr/local/go/|go/pkg/|root/go/|src/|usr/lib/gcc/|usr/(local/)?bin/(go|gofmt|gcc|cc|c\+\+|g\+\+|clang|gcc-\d+)$)`)
	// secretName matches files that hold credentials.
	secretName = regexp.MustCompile(`(^|/)(\.pgpass|pgpass|payload\.json|backup\.key|\.netrc|\.git-credentials|id_rsa|id_ed25519|\.env|\.aws/credentials|\.docker/config\.json)$|(^|/)\.git/`)
	// secretEnv matches variable names that hold secrets.
	secretEnv = regexp.MustCompile(`(?i)secret|passw|token|credential|key`)
)

// checkLayers saves the image and reads every file of every layer, its
// config and its history: no file of the build context outside what the
// image needs (a canary put there), no secret of the test's runs, no
// credentials file, compiler or build stage, no secret-named variable.
// It prints the image's compressed size (layers gzipped, as a registry
// stores them).
func (t *tester) checkLayers() error {
	archive := filepath.Join(t.work, "image.tar")
	args := []string{"save", "-o", archive, t.image}
	if filepath.Base(t.engine[0]) == "podman" {
		args = []string{"save", "--format", "docker-archive", "-o", archive, t.image}
	}
	r, err := t.container(nil, nil, args...)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("save: %s", strings.TrimSpace(r.Stderr))
	}
	defer os.Remove(archive)
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()

	var problems []string
	var files, compressed int64
	outer := tar.NewReader(f)
	for {
		h, err := outer.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if strings.HasSuffix(h.Name, ".tar") {
			cw := &countWriter{}
			zw, _ := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
			n, p, err := t.scanLayer(io.TeeReader(outer, zw))
			if err != nil {
				return fmt.Errorf("layer %s: %w", h.Name, err)
			}
			zw.Close()
			files += n
			compressed += cw.n
			problems = append(problems, p...)
			continue
		}
		b, err := io.ReadAll(outer)
		if err != nil {
			return err
		}
		if c := t.canaryIn(b); c != "" {
			problems = append(problems, fmt.Sprintf("%s (the image's config or manifest) holds %s", h.Name, c))
		}
	}

	c, err := t.inspect()
	if err != nil {
		return err
	}
	for _, kv := range c.Config.Env {
		name, _, _ := strings.Cut(kv, "=")
		if secretEnv.MatchString(name) {
			problems = append(problems, fmt.Sprintf("the config sets %s", name))
		}
	}
	r, err = t.container(nil, nil, "history", "--no-trunc", "--format", "{{.CreatedBy}}", t.image)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("history: %s", strings.TrimSpace(r.Stderr))
	}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if c := t.canaryIn([]byte(l)); c != "" || regexp.MustCompile(`(?i)(secret|passw|token)[A-Z_]*=`).MatchString(l) {
			problems = append(problems, fmt.Sprintf("the history has a secret (%s) in %.80q", c, l))
		}
	}
	say("layers: %d files read, %d canaries looked for; %.1f MB compressed (gzip, as a registry stores them)", files, len(t.canaries), float64(compressed)/1e6)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// scanLayer reads one layer's tar and returns its number of files and the
// problems found.
func (t *tester) scanLayer(r io.Reader) (int64, []string, error) {
	var files int64
	var problems []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// Drain the padding, so that the compressed size counts it.
			io.Copy(io.Discard, r)
			return files, problems, nil
		}
		if err != nil {
			return files, problems, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if strings.HasPrefix(path.Base(name), ".wh.") {
			continue // a deletion
		}
		if toolchainPath.MatchString(name) {
			problems = append(problems, fmt.Sprintf("/%s: a compiler, toolchain or build-stage file", name))
		}
		if secretName.MatchString(name) {
			problems = append(problems, fmt.Sprintf("/%s: a credentials file", name))
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		files++
		b, err := io.ReadAll(tr)
		if err != nil {
			return files, problems, err
		}
		if c := t.canaryIn(b); c != "" {
			problems = append(problems, fmt.Sprintf("/%s holds %s", name, c))
		}
	}
}

// canaryIn names the first canary found in b ("a canary" and its index:
// never the text itself), or returns "".
func (t *tester) canaryIn(b []byte) string {
	for i, c := range t.canaries {
		if c != "" && bytes.Contains(b, []byte(c)) {
			return fmt.Sprintf("canary %d", i)
		}
	}
	return ""
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// randomText returns prefix and 24 random hex digits.

package monitor

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secret is what a file the job may read, but must not reveal, holds.
const secret = "SUPERSECRETVALUE123"

// plant makes path, a link or a file, someone else's: as root by giving
// it to uid 12345, as any other user by making the job another user
// through the geteuid hook (which makes every file of the test someone
// else's).
func plant(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := os.Lchown(path, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		return
	}
	uid := os.Geteuid()
	geteuid = func() int { return uid + 1 }
	t.Cleanup(func() { geteuid = os.Geteuid })
}

// finish reports one run to METRICS_FILE=path and returns the warnings.
func finish(t *testing.T, path string) []string {
	t.Helper()
	w := &warnings{}
	fast(New(Settings{MetricsFileSetting: "METRICS_FILE", MetricsFile: path}, "v", w.warn)).Finish(t.Context(), report(okDB("db1", 1000, 300)))
	return w.all()
}

// noSecret fails when s holds any part of the secret longer than 4 bytes.
func noSecret(t *testing.T, s string) {
	t.Helper()
	for i := 0; i+5 <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+5]) {
			t.Errorf("%q quotes the secret", s)
			return
		}
	}
}

func unchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s changed to %q (%v)", path, got, err)
	}
}

// noTemporary fails when a temporary file was left in dir.
func noTemporary(t *testing.T, dir string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.part")); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// A link someone else planted where METRICS_FILE points is not followed:
// the file it points to is neither read (the parse error quoted it) nor
// replaced, whether it is in the text format or not, and whether the link
// is METRICS_FILE itself or further along a chain of the job's links.
func TestMetricsFileForeignLink(t *testing.T) {
	victims := map[string]string{
		"not metrics": "api_token " + secret + "\n",
		"metrics":     "# TYPE victim gauge\nvictim{token=\"" + secret + "\"} 1\n",
	}
	for name, content := range victims {
		for _, chain := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chain=%v", name, chain), func(t *testing.T) {
				private := t.TempDir()
				victim := filepath.Join(private, "secret")
				if err := os.WriteFile(victim, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				shared := t.TempDir()
				if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
					t.Fatal(err)
				}
				link := filepath.Join(shared, "backup.prom")
				if err := os.Symlink(victim, link); err != nil {
					t.Fatal(err)
				}
				plant(t, link)
				path := link
				if chain {
					// The job's own link, to where the other one waits.
					path = filepath.Join(t.TempDir(), "backup.prom")
					if err := os.Symlink(link, path); err != nil {
						t.Fatal(err)
					}
				}

				ws := finish(t, path)
				if len(ws) != 1 || !strings.HasPrefix(ws[0], "METRICS_FILE: ") || !strings.Contains(ws[0], "symbolic link") || !strings.Contains(ws[0], "not followed") || strings.Contains(ws[0], "\n") {
					t.Errorf("warnings %q", ws)
				}
				if os.Geteuid() == 0 && len(ws) == 1 && !strings.Contains(ws[0], link+" is a symbolic link made by uid 12345") {
					t.Errorf("the warning does not name the planted link: %q", ws[0])
				}
				for _, w := range ws {
					noSecret(t, w)
				}
				unchanged(t, victim, []byte(content))
				if dest, err := os.Readlink(link); err != nil || dest != victim {
					t.Errorf("the planted link changed: %q %v", dest, err)
				}
				noTemporary(t, shared)
				noTemporary(t, private)
			})
		}
	}
}

// A regular file someone else owns in a sticky folder (/tmp) was planted
// there: it is neither read nor replaced. The job's own file there is.
func TestMetricsFileStickyFolder(t *testing.T) {
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(shared); err != nil || st.Mode()&os.ModeSticky == 0 {
		t.Fatalf("%s is not sticky: %v", shared, err)
	}
	for name, content := range map[string]string{
		"not metrics": "api_token " + secret + "\n",
		"metrics":     "# TYPE planted gauge\nplanted{token=\"" + secret + "\"} 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(shared, strings.ReplaceAll(name, " ", "-")+".prom")
			if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
				t.Fatal(err)
			}
			plant(t, path)
			ws := finish(t, path)
			if len(ws) != 1 || !strings.Contains(ws[0], "sticky") || !strings.HasSuffix(ws[0], "not read, not replaced") {
				t.Errorf("warnings %q", ws)
			}
			for _, w := range ws {
				noSecret(t, w)
			}
			unchanged(t, path, []byte(content))
			noTemporary(t, shared)
		})
	}

	// The job's own link does not make such a file the job's.
	t.Run("through a link", func(t *testing.T) {
		planted := filepath.Join(shared, "planted.prom")
		content := []byte("# TYPE planted gauge\nplanted 1\n")
		if err := os.WriteFile(planted, content, 0o666); err != nil {
			t.Fatal(err)
		}
		plant(t, planted)
		path := filepath.Join(t.TempDir(), "backup.prom")
		if err := os.Symlink(planted, path); err != nil {
			t.Fatal(err)
		}
		want := "sticky"
		if os.Geteuid() != 0 {
			// plant made the job another user, whose link this is not.
			want = "symbolic link"
		}
		ws := finish(t, path)
		if len(ws) != 1 || !strings.Contains(ws[0], want) {
			t.Errorf("warnings %q", ws)
		}
		unchanged(t, planted, content)
		noTemporary(t, shared)
	})

	t.Run("own", func(t *testing.T) {
		path := filepath.Join(shared, "own.prom")
		if err := os.WriteFile(path, []byte("# TYPE mine gauge\nmine 7\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if ws := finish(t, path); len(ws) > 0 {
			t.Fatalf("warnings %q", ws)
		}
		data, _ := os.ReadFile(path)
		if g := gauges(parseMetrics(t, data)); len(g) != 7 || g["mine"] != 7 {
			t.Errorf("metrics: %v", g)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("mode: %v %v", st.Mode(), err)
		}
		noTemporary(t, shared)
	})
}

// The job's own links are followed as before: to a regular file, which
// is replaced and stays where the link points, to a named pipe, and to
// /proc/self/fd/N (as /dev/stdout is), whose destination pipe:[…] has no
// name.
func TestMetricsFileOwnLink(t *testing.T) {
	t.Run("regular", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "data", "backup.prom")
		if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, []byte("# TYPE kept gauge\nkept 3\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "backup.prom")
		if err := os.Symlink("data/backup.prom", path); err != nil {
			t.Fatal(err)
		}
		if ws := finish(t, path); len(ws) > 0 {
			t.Fatalf("warnings %q", ws)
		}
		if dest, err := os.Readlink(path); err != nil || dest != "data/backup.prom" {
			t.Errorf("the link changed: %q %v", dest, err)
		}
		data, _ := os.ReadFile(target)
		if g := gauges(parseMetrics(t, data)); len(g) != 7 || g["kept"] != 3 || g["iron_streaming_backup_dump_bytes{db1}"] != 1000 {
			t.Errorf("metrics: %v", g)
		}
		if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("mode: %v %v", st.Mode(), err)
		}
		noTemporary(t, dir)
		noTemporary(t, filepath.Dir(target))
	})

	// A link to nothing yet is replaced by the file.
	t.Run("dangling", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "backup.prom")
		if err := os.Symlink("nowhere.prom", path); err != nil {
			t.Fatal(err)
		}
		if ws := finish(t, path); len(ws) > 0 {
			t.Fatalf("warnings %q", ws)
		}
		st, err := os.Lstat(path)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %v %v", path, st.Mode(), err)
		}
		data, _ := os.ReadFile(path)
		if g := gauges(parseMetrics(t, data)); len(g) != 6 {
			t.Errorf("metrics: %v", g)
		}
		noTemporary(t, dir)
	})

	t.Run("pipe", func(t *testing.T) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
				f.Close()
			}
		})
		path := filepath.Join(dir, "backup.prom")
		if err := os.Symlink(fifo, path); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- nil
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- b
		}()
		if ws := finish(t, path); len(ws) > 0 {
			t.Fatalf("warnings %q", ws)
		}
		select {
		case b := <-got:
			if g := gauges(parseMetrics(t, b)); len(g) != 6 {
				t.Errorf("metrics read from the pipe: %v", g)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing read from the pipe")
		}
	})

	t.Run("proc fd", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		path := filepath.Join(t.TempDir(), "stdout")
		if err := os.Symlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd()), path); err != nil {
			t.Fatal(err)
		}
		ws := finish(t, path)
		w.Close()
		if len(ws) > 0 {
			t.Fatalf("warnings %q", ws)
		}
		b, _ := io.ReadAll(r)
		if g := gauges(parseMetrics(t, b)); len(g) != 6 {
			t.Errorf("metrics read from the pipe: %v", g)
		}
	})
}

// A file there that is not in the text format is named by its line, never
// quoted: it may be any file the job can read.
func TestMetricsFileQuotesNothing(t *testing.T) {
	for content, line := range map[string]string{
		"# TYPE ok gauge\nok 1\napi_token " + secret + "\n":    "(line 3)",
		"ok{token=\"" + secret + "\"} x\n":                     "(line 1)",
		"ok 1 " + secret + "\n":                                "(line 1)",
		secret + "\n":                                          "(line 1)",
		"# TYPE s summary\ns{quantile=\"" + secret + "\"} 1\n": "(line 2)",
	} {
		path := filepath.Join(t.TempDir(), "backup.prom")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		ws := finish(t, path)
		want := "METRICS_FILE: the file there is not in Prometheus's text format " + line + ": not replaced"
		if len(ws) != 1 || ws[0] != want {
			t.Errorf("%q: warnings %q, want %q", content, ws, want)
		}
		for _, w := range ws {
			noSecret(t, w)
		}
		unchanged(t, path, []byte(content))
	}
}

// A file there too big to be a metrics file is not read, nor replaced.
func TestMetricsFileTooBig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.prom")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("# TYPE big gauge\nbig 1\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxMetricsFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ws := finish(t, path)
	if len(ws) != 1 || !strings.Contains(ws[0], "larger than 16 MiB") {
		t.Errorf("warnings %q", ws)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != maxMetricsFile+1 {
		t.Errorf("the file changed: %v", err)
	}
}

package backup

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// removeDeadDirs removes only the locked kind of private folder whose lock
// nobody holds: not a live one, not an earlier version's, not a symlink.
func TestRemoveDeadDirs(t *testing.T) {
	tmp := t.TempDir()
	live, err := makePrivateDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if st, err := os.Stat(live.path); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("private folder: %v %v", st, err)
	}
	dead, err := makePrivateDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writePassFile(dead.path, pgpass.Entry{Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw", Prefix: "db1"}); err != nil {
		t.Fatal(err)
	}
	dead.lock.Close() // as when its process is killed
	old := filepath.Join(tmp, "iron-streaming-backup-123456")
	os.Mkdir(old, 0o700)
	target := t.TempDir()
	link := filepath.Join(tmp, privatePrefix+"1-link")
	os.Symlink(target, link)

	removed, err := removeDeadDirs(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{dead.path}) {
		t.Errorf("removed %q, want only %q", removed, dead.path)
	}
	for _, p := range []string{live.path, old, link, target} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live.path); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", live.path, err)
	}
}

// The password file goes when a reader closes it, as libpq does after
// looking the password up.
func TestRemoveAfterRead(t *testing.T) {
	p, err := writePassFile(t.TempDir(), pgpass.Entry{Host: "h", Port: "5432", Database: "d", User: "u", Password: "pw", Prefix: "db1"})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.removeAfterRead()
	if _, err := os.Stat(p.path); err != nil {
		t.Fatalf("removed before anyone read it: %v", err)
	}
	b, err := os.ReadFile(p.path)
	if err != nil || string(b) != "h:5432:d:u:pw\n" {
		t.Fatalf("%q %v", b, err)
	}
	defer stop()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(p.path); os.IsNotExist(err) {
			return
		}
	}
	t.Error("still there a minute after it was read")
}

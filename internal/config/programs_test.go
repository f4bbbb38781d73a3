package config

import "testing"

// TestLoadBackupClientRoot: with clients where Debian installs them, the
// settings need no pg_dump on PATH.
func TestLoadBackupClientRoot(t *testing.T) {
	useClients(t, "16.1")
	env := seedEnv()
	env["PATH"] = "/nonexistent"
	if _, err := Load(getenv(env), ForBackup, ""); err != nil {
		t.Error(err)
	}
}

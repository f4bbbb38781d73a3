package config

import (
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/pgclient"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ageKeygen(t *testing.T) testenv.AgeKey {
	t.Helper()
	k, err := testenv.AgeKeygen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sshKey is an ssh-ed25519 key pair: the OpenSSH private key file and
// the public key line with a comment.
func sshKey(t *testing.T) (privFile, pub string) {
	t.Helper()
	k, err := testenv.NewSSHKey(t.TempDir(), "backup@offline")
	if err != nil {
		t.Fatal(err)
	}
	return k.PrivateFile, k.Public
}

// useClients makes the installed PostgreSQL clients, for the rest of the
// test, fake pg_dump scripts of versions.
func useClients(t *testing.T, versions ...string) string {
	t.Helper()
	root, err := testenv.FakeClients(t.TempDir(), versions...)
	if err != nil {
		t.Fatal(err)
	}
	pgclient.Root = root
	t.Cleanup(func() { pgclient.Root = pgclient.DefaultRoot })
	return root
}

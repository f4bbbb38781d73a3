package backup

import (
	"testing"
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// loadSettings reads the settings verify reads from the original image's
// example environment with env's changes.
func loadSettings(t testing.TB, env map[string]string) *Settings {
	t.Helper()
	m := map[string]string{
		config.EnvPgpassBase64: "aDo1NDMyOmQ6dTpwdzpkYjEK", // h:5432:d:u:pw:db1
		config.EnvPassBase64:   "TXlTZWNyZXRQYXNzd29yZAo=", // MySecretPassword
		config.EnvBucket:       "my-bucket",
	}
	for k, v := range env {
		m[k] = v
	}
	s, err := config.Load(func(k string) string { return m[k] }, config.ForVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ageSettings are the settings of ENCRYPTION=age with recipients (a
// recipients list) and, when identityFile is not "", that identity.
func ageSettings(t testing.TB, recipients, identityFile string) *Settings {
	t.Helper()
	return loadSettings(t, map[string]string{config.EnvEncryption: "age", config.EnvAgeRecipients: recipients, config.EnvAgeIdentity: identityFile})
}

package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// TestAgeRecipientErrors: one line per bad recipient, naming its line and
// never quoting it (a private key pasted into the list must not reach a
// log).
func TestAgeRecipientErrors(t *testing.T) {
	k := ageKeygen(t)
	_, sshPub := sshKey(t)
	list := strings.Join([]string{
		"# comment",
		k.Recipient,
		k.Identity,                             // 3: a secret in the wrong place
		"age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", // 4: bad checksum
		"",
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=", // 6
		"ssh-ed25519 AAAAnotbase64!!",                          // 7
		"hello",                                                // 8
		sshPub,
	}, "\n")
	rs, errs := parseRecipients(EnvAgeRecipients, []byte(list))
	if len(rs) != 2 {
		t.Errorf("%d recipients parsed, want 2", len(rs))
	}
	if len(errs) != 5 {
		t.Fatalf("%d errors, want 5: %v", len(errs), errs)
	}
	for i, n := range []string{"line 3: a private key", "line 4: not a valid age recipient", "line 6: not a recipient", "line 7: not a valid ssh public key", "line 8: not a recipient"} {
		msg := errs[i].Error()
		if !strings.HasPrefix(msg, "AGE_RECIPIENTS "+n) || strings.Contains(msg, "\n") {
			t.Errorf("error %d: %q, want AGE_RECIPIENTS %s…", i, msg, n)
		}
		if strings.Contains(msg, k.Identity[16:40]) || strings.Contains(msg, "qqqq") || strings.Contains(msg, "hello") {
			t.Errorf("error %d quotes its line: %q", i, msg)
		}
	}
	if _, errs := parseRecipients("X", []byte("# only a comment\n\n")); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no recipients") {
		t.Errorf("empty list: %v", errs)
	}
}

// TestAgeIdentityErrors: a bad identity file is named, never quoted.
func TestAgeIdentityErrors(t *testing.T) {
	k := ageKeygen(t)
	dir := t.TempDir()
	cut := k.Identity[:len(k.Identity)-3]
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(sk, "", []byte("a passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	protected := filepath.Join(dir, "protected")
	os.WriteFile(protected, pem.EncodeToMemory(block), 0o600)
	for name, tc := range map[string]struct{ content, want string }{
		"cut":           {"# created\n" + cut + "\n", "line 2: a malformed age identity"},
		"recipient":     {k.Recipient + "\n", "line 1: not an age identity"},
		"empty":         {"# nothing\n", "no identity in it"},
		"garbage":       {"-----BEGIN OPENSSH PRIVATE KEY-----\n" + cut + "\n-----END OPENSSH PRIVATE KEY-----\n", "not a usable OpenSSH private key"},
		"passphrase":    {"", "protected by a passphrase"},
		"age-encrypted": {"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n", "an identities file protected by a passphrase"},
		"huge":          {strings.Repeat("#", maxIdentityFile+1), "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name)
			if name != "passphrase" {
				os.WriteFile(f, []byte(tc.content), 0o600)
			} else {
				f = protected
			}
			_, err := loadIdentity(&env{getenv: getenv(map[string]string{EnvAgeIdentity: f})})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "AGE_IDENTITY_FILE") {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), cut[16:40]) {
				t.Errorf("the error quotes the identity: %v", err)
			}
		})
	}
}

// TestLoadAge: the settings of ENCRYPTION=age, for a backup and for verify.
func TestLoadAge(t *testing.T) {
	k := ageKeygen(t)
	_, sshPub := sshKey(t)
	recipFile := filepath.Join(t.TempDir(), "recipients.txt")
	os.WriteFile(recipFile, []byte("# two\n"+k.Recipient+"\n"+sshPub+"\n"), 0o644)

	env := seedEnv()
	env["ENCRYPTION"] = "age"
	env["AGE_RECIPIENTS_FILE"] = recipFile
	env["AGE_IDENTITY_FILE"] = k.IdentityFile
	s, err := Load(getenv(env), ForBackup, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Recipients) != 2 || s.Password != nil || s.Identities != nil {
		t.Errorf("backup settings: %d recipients, password %v, identities %v", len(s.Recipients), s.Password != nil, s.Identities != nil)
	}
	warned := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"PASS_FILE_BASE64 is set but unused", "AGE_IDENTITY_FILE is set but a backup never reads it"} {
		if !strings.Contains(warned, want) {
			t.Errorf("warnings lack %q: %q", want, s.Warnings)
		}
	}
	if got := s.ObjectKey("db1", mustTime("2026-11-27T06:00:00Z")); got != "db1-20261127060000.gz.age" {
		t.Errorf("key %q", got)
	}
	if keys := RecipientKeys(s.Recipients); len(keys) != 2 || keys[0] != k.Recipient || keys[1] != strings.TrimSuffix(sshPub, " backup@offline") {
		t.Errorf("recipients as the manifest records them: %q", keys)
	}

	// verify reads the identity, and the password when it is set (for
	// older openssl backups), but needs neither.
	if s, err := Load(getenv(env), ForVerify, ""); err != nil || len(s.Identities) != 1 || string(s.Password) != "MySecretPassword" {
		t.Errorf("verify settings: %v", err)
	}
	// prune reads neither, even when they are set or could not be read,
	// and with either encryption.
	for _, enc := range []string{"age", "openssl"} {
		pruneEnv := maps.Clone(env)
		pruneEnv["ENCRYPTION"] = enc
		if enc != "age" {
			delete(pruneEnv, "AGE_RECIPIENTS_FILE")
		}
		pruneEnv["AGE_IDENTITY_FILE"] = filepath.Join(t.TempDir(), "no-such-identity")
		pruneEnv["PASS_FILE_BASE64"] = "not base64!"
		if s, err := Load(getenv(pruneEnv), ForPrune, ""); err != nil || s.Identities != nil || s.Password != nil || len(s.Warnings) != 0 {
			t.Errorf("prune settings (%s): %v, warnings %q", enc, err, s.Warnings)
		}
	}
	delete(env, "PASS_FILE_BASE64")
	delete(env, "AGE_IDENTITY_FILE")
	if s, err := Load(getenv(env), ForVerify, ""); err != nil || s.Identities != nil || s.Password != nil {
		t.Errorf("verify settings without keys: %v", err)
	}
	if s, err := Load(getenv(env), ForBackup, ""); err != nil || len(s.Warnings) != 0 {
		t.Errorf("backup without a password: %v, warnings %q", err, s.Warnings)
	}
}

func TestLoadAgeErrors(t *testing.T) {
	k := ageKeygen(t)
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"no recipients":  {map[string]string{"ENCRYPTION": "age"}, []string{"ENCRYPTION=age needs recipients"}},
		"both":           {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS": k.Recipient, "AGE_RECIPIENTS_FILE": "/x"}, []string{"both set"}},
		"missing file":   {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS_FILE": "/nonexistent/r.txt"}, []string{"AGE_RECIPIENTS_FILE: open /nonexistent/r.txt"}},
		"unknown":        {map[string]string{"ENCRYPTION": "gpg"}, []string{`ENCRYPTION="gpg": use openssl or age`}},
		"openssl":        {map[string]string{"AGE_RECIPIENTS": k.Recipient}, []string{"AGE_RECIPIENTS is only used with ENCRYPTION=age"}},
		"pq and classic": {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS": pq.Recipient().String() + "\n" + k.Recipient}, []string{"mix post-quantum (age1pq1…) and classic keys"}},
		"bad and others": {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS": k.Recipient + "\n" + k.Identity, "COMPRESSION": "lz4"}, []string{"AGE_RECIPIENTS line 2: a private key", `COMPRESSION="lz4"`}},
	} {
		t.Run(name, func(t *testing.T) {
			env := seedEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := Load(getenv(env), ForBackup, "")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), k.Identity[16:40]) {
				t.Errorf("errors quote the identity:\n%v", err)
			}
		})
	}
}

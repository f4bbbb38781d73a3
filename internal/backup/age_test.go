package backup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

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

func mustRecipients(t *testing.T, list string) []Recipient {
	t.Helper()
	rs, errs := parseRecipients(envAgeRecipients, []byte(list))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rs
}

func ageEncrypt(t *testing.T, rs []Recipient, plain []byte, step int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newAgeWriter(&buf, rs)
	if err != nil {
		t.Fatal(err)
	}
	for p := plain; len(p) > 0; {
		n := min(step, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stockAgeDecrypt runs "age -d -i identityFile" on enc.
func stockAgeDecrypt(t *testing.T, identityFile string, enc []byte) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("age", "-d", "-i", identityFile)
	cmd.Stdin = bytes.NewReader(enc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("age -d: %s", stderr.String())
	}
	return out, err
}

// TestAgeStockRoundTrip: what the job writes, the stock age decrypts, for
// X25519 and ssh-ed25519 recipients and for two at once (each can), at
// sizes around age's 64 KiB chunk, written in several steps.
func TestAgeStockRoundTrip(t *testing.T) {
	k1, k2 := ageKeygen(t), ageKeygen(t)
	sshPriv, sshPub := sshKey(t)
	const chunk = 64 << 10
	sizes := []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 5}
	cases := []struct {
		name       string
		list       string
		identities []string
	}{
		{"x25519", k1.Recipient, []string{k1.IdentityFile}},
		{"ssh-ed25519", sshPub, []string{sshPriv}},
		{"two", "# primary\n" + k1.Recipient + "\n\n# offline, in the safe\r\n" + k2.Recipient + "\r\n", []string{k1.IdentityFile, k2.IdentityFile}},
		{"x25519 and ssh", k2.Recipient + "\n" + sshPub, []string{k2.IdentityFile, sshPriv}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := mustRecipients(t, tc.list)
			if len(rs) != len(tc.identities) {
				t.Fatalf("%d recipients, want %d", len(rs), len(tc.identities))
			}
			for i, n := range sizes {
				plain := make([]byte, n)
				rand.Read(plain)
				enc := ageEncrypt(t, rs, plain, []int{1 << 20, 4096, 7, chunk + 3}[i%4])
				for _, id := range tc.identities {
					got, err := stockAgeDecrypt(t, id, enc)
					if err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("size %d: age -d -i %s: %v, %d bytes back", n, filepath.Base(id), err, len(got))
					}
					ids, err := loadIdentity(getenv(map[string]string{envAgeIdentity: id}))
					if err != nil {
						t.Fatal(err)
					}
					dec, err := newAgeReader(bytes.NewReader(enc), ids)
					if err != nil {
						t.Fatal(err)
					}
					if got, err := io.ReadAll(dec); err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("size %d: our reader: %v", n, err)
					}
				}
			}
		})
	}
}

// TestAgeCorruption: a flipped byte anywhere (header, a chunk, the last
// chunk) or a cut fails decryption, in the stock age and ours alike.
func TestAgeCorruption(t *testing.T) {
	k := ageKeygen(t)
	rs := mustRecipients(t, k.Recipient)
	plain := bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 10000)
	enc := ageEncrypt(t, rs, plain, 1<<20)
	ids, err := parseIdentities([]byte(k.Identity + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := bytes.Index(enc, []byte("\n---")) + 10
	for _, at := range []int{hdr, hdr + 20, hdr + 70000, len(enc) - 1} {
		bad := bytes.Clone(enc)
		bad[at] ^= 0x01
		if _, err := stockAgeDecrypt(t, k.IdentityFile, bad); err == nil {
			t.Errorf("age -d read the object with byte %d flipped", at)
		}
		if err := readAge(bad, ids); err == nil {
			t.Errorf("our reader read the object with byte %d flipped", at)
		}
	}
	if err := readAge(enc[:len(enc)-100], ids); err == nil || !isAgeError(err) {
		t.Errorf("a truncated object: %v", err)
	}
	if err := readAge(enc, nil); err == nil {
		t.Error("read without identities")
	}
	other, _ := parseIdentities([]byte(ageKeygen(t).Identity))
	if err := readAge(enc, other); err == nil || !strings.Contains(err.Error(), "holds no identity this backup was encrypted to") {
		t.Errorf("another identity: %v", err)
	}
}

func readAge(enc []byte, ids []age.Identity) error {
	dec, err := newAgeReader(bytes.NewReader(enc), ids)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, dec)
	return err
}

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
	rs, errs := parseRecipients(envAgeRecipients, []byte(list))
	if len(rs) != 2 {
		t.Errorf("%d recipients parsed, want 2", len(rs))
	}
	if len(errs) != 5 {
		t.Fatalf("%d errors, want 5: %v", len(errs), errs)
	}
	for i, n := range []string{"line 3: a private key", "line 4: not a valid age1", "line 6: not a recipient", "line 7: not a valid ssh public key", "line 8: not a recipient"} {
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
			_, err := loadIdentity(getenv(map[string]string{envAgeIdentity: f}))
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
	s, err := load(getenv(env), "", purposeBackup)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Recipients) != 2 || s.Password != nil || s.identities != nil {
		t.Errorf("backup settings: %d recipients, password %v, identities %v", len(s.Recipients), s.Password != nil, s.identities != nil)
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
	info := &catalog.Info{Bucket: "b", Key: "db1-20261127060000.gz.age", Compression: "gzip", Format: "plain"}
	setEncryption(info, s)
	if info.Encryption != "age" || info.Cipher != "" || len(info.Recipients) != 2 || info.Recipients[0] != k.Recipient ||
		info.Recipients[1] != strings.TrimSuffix(sshPub, " backup@offline") {
		t.Errorf("manifest: %+v", info)
	}
	if rc := info.StockRestore(); rc != "aws s3 cp s3://b/db1-20261127060000.gz.age - | age -d -i key.txt | gzip -d | psql -d NEWDB" {
		t.Errorf("restore command %q", rc)
	}

	// verify reads the identity, and the password when it is set (for
	// older openssl backups), but needs neither.
	if s, err := load(getenv(env), "", purposeVerify); err != nil || len(s.identities) != 1 || string(s.Password) != "MySecretPassword" {
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
		if s, err := load(getenv(pruneEnv), "", purposePrune); err != nil || s.identities != nil || s.Password != nil || len(s.Warnings) != 0 {
			t.Errorf("prune settings (%s): %v, warnings %q", enc, err, s.Warnings)
		}
	}
	delete(env, "PASS_FILE_BASE64")
	delete(env, "AGE_IDENTITY_FILE")
	if s, err := load(getenv(env), "", purposeVerify); err != nil || s.identities != nil || s.Password != nil {
		t.Errorf("verify settings without keys: %v", err)
	}
	if s, err := load(getenv(env), "", purposeBackup); err != nil || len(s.Warnings) != 0 {
		t.Errorf("backup without a password: %v, warnings %q", err, s.Warnings)
	}
}

func TestLoadAgeErrors(t *testing.T) {
	k := ageKeygen(t)
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"no recipients":  {map[string]string{"ENCRYPTION": "age"}, []string{"ENCRYPTION=age needs recipients"}},
		"both":           {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS": k.Recipient, "AGE_RECIPIENTS_FILE": "/x"}, []string{"both set"}},
		"missing file":   {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS_FILE": "/nonexistent/r.txt"}, []string{"AGE_RECIPIENTS_FILE: open /nonexistent/r.txt"}},
		"unknown":        {map[string]string{"ENCRYPTION": "gpg"}, []string{`ENCRYPTION="gpg": use openssl or age`}},
		"openssl":        {map[string]string{"AGE_RECIPIENTS": k.Recipient}, []string{"AGE_RECIPIENTS is only used with ENCRYPTION=age"}},
		"bad and others": {map[string]string{"ENCRYPTION": "age", "AGE_RECIPIENTS": k.Recipient + "\n" + k.Identity, "COMPRESSION": "lz4"}, []string{"AGE_RECIPIENTS line 2: a private key", `COMPRESSION="lz4"`}},
	} {
		t.Run(name, func(t *testing.T) {
			env := seedEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := load(getenv(env), "", purposeBackup)
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

// BenchmarkEncryption compares the job's two encrypting writers on the
// same stream (compressed data is as random as this): go test -bench
// Encryption ./internal/backup.
func BenchmarkEncryption(b *testing.B) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 64<<20)
	rand.Read(data)
	for _, enc := range []string{"openssl", "age"} {
		b.Run(enc, func(b *testing.B) {
			j := &Job{Settings: &Settings{Encryption: enc, Password: []byte("bench-password"),
				Recipients: []Recipient{{Key: id.Recipient().String(), r: id.Recipient()}}}}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w, err := j.newEncrypter(io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				for p := data; len(p) > 0; p = p[1<<20:] {
					w.Write(p[:1<<20])
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

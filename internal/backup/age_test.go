package backup

import (
	"bytes"
	"crypto/rand"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
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

func mustRecipients(t *testing.T, list string) []config.Recipient {
	t.Helper()
	return ageSettings(t, list, "").Recipients
}

func ageEncrypt(t *testing.T, rs []config.Recipient, plain []byte, step int) []byte {
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
					ids := ageSettings(t, tc.list, id).Identities
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

// TestAgePostQuantum: a hybrid post-quantum recipient (age1pq1…, from
// age-keygen -pq) is taken, and what the job writes to it the upstream
// age of the same version decrypts, and so does verify's reader.
func TestAgePostQuantum(t *testing.T) {
	dir, err := testenv.UpstreamAge()
	if err != nil {
		t.Fatal(err)
	}
	k, err := testenv.AgeKeygenPQ(dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Recipient, "age1pq1") {
		t.Fatalf("age-keygen -pq made %.12s…, not a post-quantum recipient", k.Recipient)
	}
	s := ageSettings(t, k.Recipient+"\n", k.IdentityFile)
	if len(s.Recipients) != 1 || s.Recipients[0].Key != k.Recipient || len(s.Identities) != 1 {
		t.Fatalf("%d recipients, %d identities", len(s.Recipients), len(s.Identities))
	}
	plain := make([]byte, 200<<10)
	rand.Read(plain)
	enc := ageEncrypt(t, s.Recipients, plain, 4096)
	cmd := exec.Command(filepath.Join(dir, "age"), "-d", "-i", k.IdentityFile)
	cmd.Stdin = bytes.NewReader(enc)
	got, err := cmd.Output()
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("upstream age -d: %v, %d bytes back", err, len(got))
	}
	dec, err := newAgeReader(bytes.NewReader(enc), s.Identities)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(dec); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("our reader: %v", err)
	}
}

// TestAgeCorruption: a flipped byte anywhere (header, a chunk, the last
// chunk) or a cut fails decryption, in the stock age and ours alike.
func TestAgeCorruption(t *testing.T) {
	k := ageKeygen(t)
	rs := mustRecipients(t, k.Recipient)
	plain := bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 10000)
	enc := ageEncrypt(t, rs, plain, 1<<20)
	ids := ageSettings(t, k.Recipient, k.IdentityFile).Identities
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
	o := ageKeygen(t)
	other := ageSettings(t, o.Recipient, o.IdentityFile).Identities
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
			s := &Settings{}
			s.Encryption, s.Password = enc, []byte("bench-password")
			s.Recipients = []config.Recipient{{Key: id.Recipient().String(), R: id.Recipient()}}
			j := &Job{Settings: s}
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

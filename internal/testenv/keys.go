package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// AgeKey is a key pair made by the stock age-keygen (Debian's age package,
// which scripts/setup.sh installs).
type AgeKey struct {
	IdentityFile string
	Identity     string // AGE-SECRET-KEY-1…
	Recipient    string // age1…
}

// AgeKeygen makes a key pair with age-keygen, its identity file in dir.
func AgeKeygen(dir string) (AgeKey, error) {
	f := filepath.Join(dir, "key.txt")
	if out, err := exec.Command("age-keygen", "-o", f).CombinedOutput(); err != nil {
		return AgeKey{}, fmt.Errorf("age-keygen (Debian's age package; scripts/setup.sh installs it): %v: %s", err, out)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return AgeKey{}, err
	}
	k := AgeKey{IdentityFile: f}
	for _, l := range strings.Split(string(b), "\n") {
		if r, ok := strings.CutPrefix(l, "# public key: "); ok {
			k.Recipient = r
		}
		if strings.HasPrefix(l, "AGE-SECRET-KEY-1") {
			k.Identity = l
		}
	}
	if k.Recipient == "" || k.Identity == "" {
		return AgeKey{}, fmt.Errorf("age-keygen wrote no key: %q", b)
	}
	return k, nil
}

// SSHKey is an ssh-ed25519 key pair.
type SSHKey struct {
	PrivateFile string // the OpenSSH private key, not protected by a passphrase
	Secret      string // a line from the middle of that file, which no process may show
	Public      string // the authorized_keys line, with its comment
}

// NewSSHKey makes an ssh-ed25519 key pair, its private key file in dir.
func NewSSHKey(dir, comment string) (SSHKey, error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SSHKey{}, err
	}
	block, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		return SSHKey{}, err
	}
	pemBytes := pem.EncodeToMemory(block)
	k := SSHKey{PrivateFile: filepath.Join(dir, "id_ed25519")}
	if err := os.WriteFile(k.PrivateFile, pemBytes, 0o600); err != nil {
		return SSHKey{}, err
	}
	spk, err := ssh.NewPublicKey(pk)
	if err != nil {
		return SSHKey{}, err
	}
	lines := strings.Split(string(pemBytes), "\n")
	k.Secret = lines[len(lines)/2]
	k.Public = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk))) + " " + comment
	return k, nil
}

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
	return ageKeygen("age-keygen", dir)
}

func ageKeygen(program, dir string, args ...string) (AgeKey, error) {
	f, err := os.CreateTemp(dir, "key*.txt")
	if err != nil {
		return AgeKey{}, err
	}
	f.Close()
	os.Remove(f.Name()) // age-keygen never replaces a file
	if out, err := exec.Command(program, append(args, "-o", f.Name())...).CombinedOutput(); err != nil {
		return AgeKey{}, fmt.Errorf("%s (scripts/setup.sh installs it): %v: %s", program, err, out)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return AgeKey{}, err
	}
	k := AgeKey{IdentityFile: f.Name()}
	for _, l := range strings.Split(string(b), "\n") {
		if r, ok := strings.CutPrefix(l, "# public key: "); ok {
			k.Recipient = r
		}
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
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

// UpstreamAge returns the folder of the age and age-keygen programs of
// the age version the job links, which scripts/setup.sh builds: Debian's
// age predates post-quantum (age1pq1…) keys.
func UpstreamAge() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	version := ""
	for _, l := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "filippo.io/age" {
			version = f[1]
		}
	}
	if version == "" {
		return "", fmt.Errorf("go.mod does not require filippo.io/age")
	}
	dir := filepath.Join(root, ".tools", "age-"+version)
	if _, err := os.Stat(filepath.Join(dir, "age-keygen")); err != nil {
		return "", fmt.Errorf("age %s not installed in %s; run 'make setup'", version, dir)
	}
	return dir, nil
}

// AgeKeygenPQ makes a post-quantum (ML-KEM-768 + X25519) key pair with
// the upstream age-keygen in ageDir (UpstreamAge), its identity file in
// dir.
func AgeKeygenPQ(ageDir, dir string) (AgeKey, error) {
	return ageKeygen(filepath.Join(ageDir, "age-keygen"), dir, "-pq")
}

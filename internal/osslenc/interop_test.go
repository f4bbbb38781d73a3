package osslenc

import (
	"bytes"
	crand "crypto/rand"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// opensslPath returns the system openssl, the reference the interoperability
// tests compare against; without it they fail (make setup installs it).
func opensslPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for the interoperability tests (run make setup): %v", err)
	}
	return p
}

// openssl runs "openssl enc ARGS" on in and returns its stdout.
func openssl(t *testing.T, bin string, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"enc"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl enc %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

type interopCase struct {
	name string
	args []string // openssl enc arguments other than -e/-d
}

// interopCases is every cipher × key derivation × digest.
func interopCases() []interopCase {
	var cs []interopCase
	for _, c := range []string{"-aes-128-cbc", "-aes-192-cbc", "-aes-256-cbc"} {
		for _, md := range []string{"md5", "sha1", "sha256"} {
			for _, kdf := range [][]string{
				nil, // EVP_BytesToKey
				{"-pbkdf2"},
				{"-iter", "1"},
				{"-iter", "1000"},
				{"-nosalt"},
				{"-nosalt", "-iter", "3"},
			} {
				args := append([]string{c, "-md", md, "-pass", "file:pw"}, kdf...)
				cs = append(cs, interopCase{strings.Join(args, " "), args})
			}
		}
		keyHex := strings.Repeat("5a", map[string]int{"-aes-128-cbc": 16, "-aes-192-cbc": 24, "-aes-256-cbc": 32}[c])
		args := []string{c, "-K", keyHex, "-iv", "000102030405060708090a0b0c0d0e0f"}
		cs = append(cs, interopCase{c + " -K -iv", args})
	}
	return cs
}

var (
	allLengths = []int{0, 1, 15, 16, 17, 4095, 4096, 4097, 1<<20 + 7}
	fewLengths = []int{0, 17, 4097}
	fullMatrix = []string{
		"-aes-256-cbc -md sha256 -pass file:pw",            // the default
		"-aes-256-cbc -md md5 -pass file:pw",               // OpenSSL 1.0 files
		"-aes-128-cbc -md sha1 -pass file:pw -nosalt",      // no header
		"-aes-192-cbc -md sha256 -pass file:pw -iter 1000", // PBKDF2
		"-aes-256-cbc -K -iv",                              // raw key
	}
	readSizes  = []int{0, 1, 4096 + 7}
	writeSizes = []int{0, 17, 65536}
)

// TestOpenSSLInterop encrypts with the system openssl and decrypts with
// this package, then encrypts again with the salt openssl chose and expects
// the same bytes; and it decrypts this package's output with openssl.
func TestOpenSSLInterop(t *testing.T) {
	bin := opensslPath(t)
	dir := t.TempDir()
	// A password with a trailing \r in the line, which stays part of it.
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret pass\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	plainAll := randBytes(rng, slices.Max(allLengths))
	for _, c := range interopCases() {
		lengths := fewLengths
		if slices.Contains(fullMatrix, c.name) {
			lengths = allLengths
		}
		o := optionsFromArgs(t, dir, c.args)
		sslArgs := slices.Clone(c.args)
		for i, a := range sslArgs {
			if a == "file:pw" {
				sslArgs[i] = "file:" + filepath.Join(dir, "pw")
			}
		}
		for _, n := range lengths {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				plain := plainAll[:n]

				ct := openssl(t, bin, plain, append([]string{"-e"}, sslArgs...)...)
				for _, step := range readSizes {
					got, err := readSteps(o, ct, step)
					if err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("decrypting openssl's output, read size %d: %v (plaintext equal: %v)", step, err, bytes.Equal(got, plain))
					}
				}
				var salt []byte
				if o.headerIO() {
					salt = ct[8:16]
				}
				for _, step := range writeSizes {
					withSalt(t, salt)
					if got := writeSteps(t, o, plain, step); !bytes.Equal(got, ct) {
						t.Fatalf("write size %d: ciphertext differs from openssl's with the same salt", step)
					}
				}

				randReader = crand.Reader
				ours := writeSteps(t, o, plain, 0)
				if got := openssl(t, bin, ours, append([]string{"-d"}, sslArgs...)...); !bytes.Equal(got, plain) {
					t.Fatal("openssl decrypted our output to something else")
				}
			})
		}
	}
}

// TestOpenSSLOriginalCommands uses the original image's exact commands:
// it encrypted with "openssl enc -aes-256-cbc -e -pass file:F" and restores
// with "openssl enc -in F -aes-256-cbc -d -pass file:P".
func TestOpenSSLOriginalCommands(t *testing.T) {
	bin := opensslPath(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw, err := PassFile(pwFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Password: pw}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range allLengths {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			plain := randBytes(rng, n)
			ct := openssl(t, bin, plain, "-aes-256-cbc", "-e", "-pass", "file:"+pwFile)
			r, err := NewReader(bytes.NewReader(ct), o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("decrypt: %v, plaintext equal: %v", err, bytes.Equal(got, plain))
			}

			var buf bytes.Buffer
			w, err := NewWriter(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, bytes.NewReader(plain)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, "backup.gz.aes")
			if err := os.WriteFile(f, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := openssl(t, bin, nil, "-in", f, "-aes-256-cbc", "-d", "-pass", "file:"+pwFile); !bytes.Equal(got, plain) {
				t.Fatal("openssl decrypted our output to something else")
			}
		})
	}
}

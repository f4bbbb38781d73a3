package osslenc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// optionsFromArgs turns the openssl enc arguments used in the tests into
// Options. Paths in file: password sources are relative to dir.
func optionsFromArgs(t testing.TB, dir string, args []string) Options {
	t.Helper()
	var o Options
	fail := func(format string, a ...any) { t.Helper(); t.Fatalf("%q: "+format, append([]any{args}, a...)...) }
	hexArg := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			fail("%v", err)
		}
		return b
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			i++
			if i == len(args) {
				fail("%s needs a value", a)
			}
			return args[i]
		}
		switch a {
		case "-e", "-d", "-salt":
		case "-md":
			h, err := ParseDigest(next())
			if err != nil {
				fail("%v", err)
			}
			o.Digest = h
		case "-pbkdf2":
			o.PBKDF2 = true
		case "-iter":
			n, err := strconv.Atoi(next())
			if err != nil {
				fail("%v", err)
			}
			o.Iter = n
		case "-nosalt":
			o.NoSalt = true
		case "-S":
			o.Salt = hexArg(next())
		case "-K":
			o.Key = hexArg(next())
		case "-iv":
			o.IV = hexArg(next())
		case "-pass":
			spec := next()
			if p, ok := strings.CutPrefix(spec, "file:"); ok && !filepath.IsAbs(p) {
				spec = "file:" + filepath.Join(dir, p)
			}
			var pw []byte
			var err error
			if p, ok := strings.CutPrefix(spec, "file:"); ok {
				pw, err = PassFile(p, nil)
			} else if p, ok := strings.CutPrefix(spec, "pass:"); ok {
				pw = []byte(p)
			} else {
				err = fmt.Errorf("a -pass the tests do not read: %q", spec)
			}
			if err != nil {
				fail("%v", err)
			}
			o.Password = pw
		default:
			n, err := ParseCipher(a)
			if err != nil {
				fail("unknown argument %s", a)
			}
			o.KeyLen = n
		}
	}
	return o
}

// withSalt makes the next salts come from salts, in order.
func withSalt(t testing.TB, salts ...[]byte) {
	t.Helper()
	old := randReader
	randReader = bytes.NewReader(bytes.Join(salts, nil))
	t.Cleanup(func() { randReader = old })
}

// withChunkSize sets the buffer size of Writers and Readers made afterwards.
func withChunkSize(t testing.TB, n int) {
	t.Helper()
	old := chunkSize
	chunkSize = n
	t.Cleanup(func() { chunkSize = old })
}

// refEncrypt is the format written out with crypto/cipher, as a check on the
// Writer's buffering.
func refEncrypt(t testing.TB, o Options, salt, plain []byte) []byte {
	t.Helper()
	o, err := o.check()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	if o.headerIO() {
		out = append([]byte(Magic), salt...)
	} else if o.Salt != nil {
		salt = o.Salt
	} else {
		salt = nil
	}
	key, iv, err := o.keyIV(salt)
	if err != nil {
		t.Fatal(err)
	}
	p := blockSize - len(plain)%blockSize
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(p)}, p)...)
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(padded, padded)
	return append(out, padded...)
}

// vector is one line of testdata/vectors.txt.
type vector struct {
	file  string
	n     int
	args  []string
	plain []byte
	data  []byte
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	plain, err := os.ReadFile("testdata/plain.txt")
	if err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for line := range strings.Lines(string(list)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("vectors.txt: %q: %v", line, err)
		}
		data, err := os.ReadFile(filepath.Join("testdata", f[0]))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, vector{file: f[0], n: n, args: f[2:], plain: plain[:n], data: data})
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func (v vector) String() string { return fmt.Sprintf("%s (%s)", v.file, strings.Join(v.args, " ")) }

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

package osslenc

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// TestVectors decrypts the files that openssl enc made (testdata/make-vectors.sh)
// and encrypts their plaintext again with the same salt, expecting the same
// bytes.
func TestVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.file, func(t *testing.T) {
			o := optionsFromArgs(t, "testdata", v.args)
			r, err := NewReader(bytes.NewReader(v.data), o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("decrypt %v: %v", v, err)
			}
			if !bytes.Equal(got, v.plain) {
				t.Fatalf("decrypt %v: got %q, want %q", v, got, v.plain)
			}

			var salt []byte
			if o.Password != nil && !o.NoSalt && o.Salt == nil {
				salt = v.data[8:16]
			}
			withSalt(t, salt)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(v.plain); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), v.data) {
				t.Fatalf("encrypt %v:\n got %x\nwant %x", v, buf.Bytes(), v.data)
			}
		})
	}
}

// TestKeyDerivation pins key and IV against "openssl enc -P" output.
func TestKeyDerivation(t *testing.T) {
	salt, _ := hex.DecodeString("0001020304050607")
	for _, tc := range []struct {
		name    string
		o       Options
		key, iv string
	}{
		// openssl enc -aes-256-cbc -S 0001020304050607 -P -pass pass:abc
		{"bytestokey sha256", Options{Password: []byte("abc")},
			"057308F8298A08558C43A540E22F975EF30DE5DAC8C93436A5C910BEEA891C5B", ""},
		// openssl enc -aes-256-cbc -S 0001020304050607 -P -pass pass:$'abc\r'
		{"trailing CR", Options{Password: []byte("abc\r")},
			"4F3B3C99176F1C9FB07752BB1558B0E88F857B34B4B268AB02636C8261049D7C", ""},
		// openssl enc -aes-256-cbc -S 00 -P -pass pass:x [-md ...] [-pbkdf2 ...]
		{"md5", Options{Password: []byte("x"), Digest: crypto.MD5, Salt: make([]byte, 8)},
			"FBC2A79CF8508CBE76AFB943A5DB3AEE360854A73E88B79AD8FF5DED67E91C26", ""},
		{"sha1", Options{Password: []byte("x"), Digest: crypto.SHA1, Salt: make([]byte, 8)},
			"41536FE6E78E96BF246272C3B37C24D38EF3E21A3C02656BD551DDD9BDE84E1E", ""},
		{"sha512", Options{Password: []byte("x"), Digest: crypto.SHA512, Salt: make([]byte, 8)},
			"0599DCF1ACD24FAD93028598180C104E389FF28C2E7D727D5CD9D93E7AEB4A7D", ""},
		{"aes-128 sha256", Options{KeyLen: 16, Password: []byte("x"), Salt: make([]byte, 8)},
			"3549372440F3505B0EB134A63FCD3ED9", "971D049C9FFB24E4E837C55BF32B9C60"},
		{"pbkdf2 default iterations", Options{Password: []byte("x"), PBKDF2: true, Salt: make([]byte, 8)},
			"D4CD3EE09AFFA6F6D1ABC852BAE462417AAD4E6022354638A55BB8B0EC5A2388", "CD433633718FD17DD4FB610041D8A614"},
		{"iter implies pbkdf2", Options{Password: []byte("x"), Iter: 5, Salt: make([]byte, 8)},
			"B77E823009963FCA07BB3EF4AA1E5754D9F64AFDA6AD7D6F40FC5475521B53C4", "C084A56FE76E7FFE94248513D42B8D68"},
		// openssl enc -aes-256-cbc -K 0102 -pass pass:x -S 0000000000000000 -P
		{"key replaces derived key", Options{Password: []byte("x"), Salt: make([]byte, 8),
			Key: append([]byte{1, 2}, make([]byte, 30)...)},
			"0102000000000000000000000000000000000000000000000000000000000000", "B52D19FD5BAA2B7865336619F021D567"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.o.check()
			if err != nil {
				t.Fatal(err)
			}
			s := o.Salt
			if s == nil {
				s = salt
			}
			key, iv, err := o.keyIV(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key); got != lower(tc.key) {
				t.Errorf("key %s, want %s", got, lower(tc.key))
			}
			if tc.iv != "" {
				if got := hex.EncodeToString(iv); got != lower(tc.iv) {
					t.Errorf("iv %s, want %s", got, lower(tc.iv))
				}
			}
		})
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func TestOptionErrors(t *testing.T) {
	pw := []byte("pw")
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"no password no key", Options{}},
		{"empty password", Options{Password: []byte{}}},
		{"key without iv", Options{Key: make([]byte, 32)}},
		{"short key", Options{Key: make([]byte, 16), IV: make([]byte, 16)}},
		{"short iv", Options{Key: make([]byte, 32), IV: make([]byte, 8)}},
		{"bad key length", Options{KeyLen: 20, Password: pw}},
		{"bad digest", Options{Digest: crypto.SHA3_256, Password: pw}},
		{"negative iter", Options{Iter: -1, Password: pw}},
		{"short salt", Options{Salt: []byte{1}, Password: pw}},
		{"salt and nosalt", Options{Salt: make([]byte, 8), NoSalt: true, Password: pw}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewWriter(io.Discard, tc.o); err == nil {
				t.Error("NewWriter: no error")
			}
			if _, err := NewReader(bytes.NewReader(nil), tc.o); err == nil {
				t.Error("NewReader: no error")
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	for name, want := range map[string]int{"aes-128-cbc": 16, "AES-192-CBC": 24, "-aes-256-cbc": 32, "aes128": 16, "aes256": 32} {
		if got, err := ParseCipher(name); err != nil || got != want {
			t.Errorf("ParseCipher(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, name := range []string{"", "aes-256-gcm", "des", "aes-256-ctr"} {
		if _, err := ParseCipher(name); err == nil {
			t.Errorf("ParseCipher(%q): no error", name)
		}
	}
	for name, want := range map[string]crypto.Hash{"md5": crypto.MD5, "SHA1": crypto.SHA1, "sha-256": crypto.SHA256,
		"sha2-256": crypto.SHA256, "sha256": crypto.SHA256, "sha224": crypto.SHA224, "SHA384": crypto.SHA384, "sha512": crypto.SHA512} {
		if got, err := ParseDigest(name); err != nil || got != want {
			t.Errorf("ParseDigest(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"", "sha3-256", "md4", "sha"} {
		if _, err := ParseDigest(name); err == nil {
			t.Errorf("ParseDigest(%q): no error", name)
		}
	}
	if got := CipherName(0); got != "aes-256-cbc" {
		t.Errorf("CipherName(0) = %q", got)
	}
}

func TestBadMagic(t *testing.T) {
	o := Options{Password: []byte("pw")}
	for _, in := range []string{"", "Salted_", "Salted__1234567", "NotSalted1234567890", "salted__12345678"} {
		_, err := NewReader(bytes.NewReader([]byte(in)), o)
		if !errors.Is(err, ErrBadMagic) {
			t.Errorf("%q: got %v, want ErrBadMagic", in, err)
		}
	}
}

// Package osslenc implements the file format of "openssl enc" with the
// AES-CBC ciphers, byte for byte, as streams: a [NewWriter] encrypts what
// "openssl enc -d" decrypts, and a [NewReader] decrypts what "openssl enc -e"
// wrote.
//
// The format is the ciphertext of the PKCS#7-padded plaintext in CBC mode,
// preceded, when the key comes from a password and a random salt, by a
// 16-byte header: "Salted__" and the 8-byte salt. Key and IV come from the
// password either by EVP_BytesToKey with one round (openssl's default; the
// digest is SHA-256 since OpenSSL 1.1.0 and MD5 before) or by PBKDF2 (-pbkdf2,
// -iter), or are given raw (-K, -iv).
//
// CBC has no authentication. Decryption checks the padding of the last block,
// which catches most wrong passwords and truncations, but about one wrong
// password in 256 passes it, and corruption before the last block passes
// unnoticed. Check a separate digest of the file when integrity matters.
package osslenc

import (
	"bytes"
	"crypto"
	_ "crypto/md5" // digests for -md
	"crypto/pbkdf2"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"
)

// Magic starts the header of salted files; the 8-byte salt follows it.
const Magic = "Salted__"

const (
	saltLen       = 8
	headerLen     = len(Magic) + saltLen
	defaultKeyLen = 32
	defaultIter   = 10000 // openssl's iteration count for -pbkdf2 without -iter
)

var (
	// ErrBadDecrypt means the ciphertext does not decrypt to correctly padded
	// plaintext: a wrong password or key, or corrupt or truncated input.
	ErrBadDecrypt = errors.New("bad decrypt: wrong password or corrupt input")

	// ErrBadMagic means the input does not start with the "Salted__" header
	// that a password-based decryption with salt expects.
	ErrBadMagic = errors.New(`bad magic number: input does not start with "Salted__"`)

	errClosed = errors.New("osslenc: write after Close")
)

// Options says how the key and IV are made, as the options of "openssl enc"
// do. The zero value with a Password is openssl's default, that of
// "openssl enc -aes-256-cbc -pass ...": AES-256-CBC, a random salt in a
// "Salted__" header, EVP_BytesToKey with SHA-256.
type Options struct {
	// KeyLen is the AES key length in bytes: 16, 24 or 32 for aes-128-cbc,
	// aes-192-cbc or aes-256-cbc. Zero means 32.
	KeyLen int

	// Password derives the key and IV. Like openssl, which treats it as a C
	// string, it should hold no NUL byte (ParsePass stops at one).
	Password []byte

	// Digest is the hash of the key derivation (-md): crypto.MD5, SHA1,
	// SHA224, SHA256, SHA384 or SHA512. Zero means crypto.SHA256.
	Digest crypto.Hash

	// PBKDF2 derives with PBKDF2-HMAC-Digest instead of EVP_BytesToKey.
	// Iter is its iteration count; zero means 10000. As with openssl's
	// -iter, a non-zero Iter implies PBKDF2.
	PBKDF2 bool
	Iter   int

	// NoSalt derives without salt and writes or reads no header (-nosalt).
	NoSalt bool

	// Salt, 8 bytes, is used instead of a random one (-S). As OpenSSL 3
	// does, no header is then written, nor read when decrypting.
	Salt []byte

	// Key and IV are the raw key (KeyLen bytes) and IV (16 bytes), as -K
	// and -iv give them. Without a Password both are required; with one,
	// each replaces the derived value (the header is still written).
	Key, IV []byte
}

// ParseCipher returns the key length of the cipher that openssl calls name:
// aes-128-cbc, aes-192-cbc or aes-256-cbc, or the aliases aes128, aes192,
// aes256, in any case, with or without a leading dash.
func ParseCipher(name string) (keyLen int, err error) {
	switch strings.ToLower(strings.TrimPrefix(name, "-")) {
	case "aes-128-cbc", "aes128":
		return 16, nil
	case "aes-192-cbc", "aes192":
		return 24, nil
	case "aes-256-cbc", "aes256":
		return 32, nil
	}
	return 0, fmt.Errorf("unsupported cipher %q: want aes-128-cbc, aes-192-cbc or aes-256-cbc", name)
}

// CipherName returns openssl's name of the AES-CBC cipher with keyLen.
func CipherName(keyLen int) string {
	if keyLen == 0 {
		keyLen = defaultKeyLen
	}
	return fmt.Sprintf("aes-%d-cbc", keyLen*8)
}

// ParseDigest returns the hash that openssl's -md calls name: md5, sha1,
// sha224, sha256, sha384 or sha512, in any case, also spelled sha-256 or
// sha2-256.
func ParseDigest(name string) (crypto.Hash, error) {
	n := strings.ToLower(name)
	n = strings.Replace(n, "sha2-", "sha", 1)
	n = strings.Replace(n, "sha-", "sha", 1)
	switch n {
	case "md5":
		return crypto.MD5, nil
	case "sha1":
		return crypto.SHA1, nil
	case "sha224":
		return crypto.SHA224, nil
	case "sha256":
		return crypto.SHA256, nil
	case "sha384":
		return crypto.SHA384, nil
	case "sha512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported digest %q: want md5, sha1, sha224, sha256, sha384 or sha512", name)
}

// check validates o and fills in the defaults.
func (o Options) check() (Options, error) {
	if o.KeyLen == 0 {
		o.KeyLen = defaultKeyLen
	}
	if o.KeyLen != 16 && o.KeyLen != 24 && o.KeyLen != 32 {
		return o, fmt.Errorf("osslenc: key length %d: want 16, 24 or 32 bytes", o.KeyLen)
	}
	if o.Digest == 0 {
		o.Digest = crypto.SHA256
	}
	switch o.Digest {
	case crypto.MD5, crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return o, fmt.Errorf("osslenc: unsupported digest %v", o.Digest)
	}
	if o.Iter < 0 {
		return o, fmt.Errorf("osslenc: iteration count %d: want a positive number", o.Iter)
	}
	if o.Iter > 0 {
		o.PBKDF2 = true
	}
	if o.PBKDF2 && o.Iter == 0 {
		o.Iter = defaultIter
	}
	if o.Salt != nil && len(o.Salt) != saltLen {
		return o, fmt.Errorf("osslenc: salt is %d bytes: want %d", len(o.Salt), saltLen)
	}
	if o.Salt != nil && o.NoSalt {
		return o, errors.New("osslenc: both a salt and no salt requested")
	}
	if o.Key != nil && len(o.Key) != o.KeyLen {
		return o, fmt.Errorf("osslenc: key is %d bytes: want %d for %s", len(o.Key), o.KeyLen, CipherName(o.KeyLen))
	}
	if o.IV != nil && len(o.IV) != blockSize {
		return o, fmt.Errorf("osslenc: IV is %d bytes: want %d", len(o.IV), blockSize)
	}
	if o.Password == nil {
		if o.Key == nil {
			return o, errors.New("osslenc: no password and no key")
		}
		if o.IV == nil {
			return o, errors.New("osslenc: a raw key needs an IV")
		}
	} else if len(o.Password) == 0 {
		return o, errors.New("osslenc: empty password")
	}
	return o, nil
}

// headerIO reports whether the salt travels in a "Salted__" header.
func (o Options) headerIO() bool {
	return o.Password != nil && !o.NoSalt && o.Salt == nil
}

// keyIV returns the key and IV for o, a checked Options, and salt (nil
// without salt).
func (o Options) keyIV(salt []byte) (key, iv []byte, err error) {
	key, iv = o.Key, o.IV
	if o.Password == nil {
		return key, iv, nil
	}
	n := o.KeyLen + blockSize
	var kiv []byte
	if o.PBKDF2 {
		kiv, err = pbkdf2Key(o.Digest, o.Password, salt, o.Iter, n)
		if err != nil {
			return nil, nil, fmt.Errorf("osslenc: pbkdf2: %w", err)
		}
	} else {
		kiv = bytesToKey(o.Digest, o.Password, salt, n)
	}
	if key == nil {
		key = kiv[:o.KeyLen]
	}
	if iv == nil {
		iv = kiv[o.KeyLen:]
	}
	return key, iv, nil
}

// pbkdf2Key is a variable so that tests can count calls.
var pbkdf2Key = func(h crypto.Hash, password, salt []byte, iter, n int) ([]byte, error) {
	return pbkdf2.Key(h.New, string(password), salt, iter, n)
}

// bytesToKey is OpenSSL's EVP_BytesToKey with one round:
// D_i = H(D_{i-1} || password || salt), concatenated until n bytes.
func bytesToKey(h crypto.Hash, password, salt []byte, n int) []byte {
	var out, d []byte
	for len(out) < n {
		m := h.New()
		m.Write(d)
		m.Write(password)
		m.Write(salt)
		d = m.Sum(d[:0])
		out = append(out, d...)
	}
	return out[:n]
}

// parseHeader splits a "Salted__" header into its salt.
func parseHeader(h []byte) (salt []byte, err error) {
	if len(h) != headerLen || !bytes.Equal(h[:len(Magic)], []byte(Magic)) {
		return nil, ErrBadMagic
	}
	return h[len(Magic):], nil
}

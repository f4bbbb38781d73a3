package osslenc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"io"
	"testing"
)

// FuzzDecrypt decrypts arbitrary input with a fixed raw key. It must not
// panic, must succeed exactly when the reference decryption (crypto/cipher)
// ends in valid padding, and must never return plaintext of the last block
// unless the padding checked out.
func FuzzDecrypt(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.data, uint16(0))
		if len(v.data) > headerLen {
			f.Add(v.data[headerLen:], uint16(7))
		}
	}
	o := Options{Key: []byte("0123456789abcdef0123456789abcdef"), IV: []byte("fedcba9876543210")}
	f.Add(refEncrypt(f, o, nil, []byte("hello, world")), uint16(1))
	f.Add(refEncrypt(f, o, nil, bytes.Repeat([]byte("a"), 100)), uint16(16))
	f.Fuzz(func(t *testing.T, ct []byte, step uint16) {
		withChunkSize(t, 64)
		got, err := readSteps(o, ct, int(step%100))

		whole := len(ct) &^ (blockSize - 1)
		ref := make([]byte, whole)
		b, _ := aes.NewCipher(o.Key)
		cipher.NewCBCDecrypter(b, o.IV).CryptBlocks(ref, ct[:whole])
		valid := whole == len(ct) && whole > 0
		if valid {
			var pad int
			if pad, valid = unpad(ref[whole-blockSize:]); valid {
				ref = ref[:whole-pad]
			}
		}
		if valid {
			if err != nil || !bytes.Equal(got, ref) {
				t.Fatalf("valid input: err %v, plaintext equal %v", err, bytes.Equal(got, ref))
			}
			return
		}
		if !errors.Is(err, ErrBadDecrypt) {
			t.Fatalf("invalid input: err %v, want ErrBadDecrypt", err)
		}
		if want := max(whole-blockSize, 0); !bytes.Equal(got, ref[:want]) {
			t.Fatalf("invalid input: got %d bytes, want the %d before the last block", len(got), want)
		}
	})
}

// FuzzParseHeader feeds arbitrary input to a password-based Reader, which
// parses the "Salted__" header. It must not panic, must reject input
// without the header with ErrBadMagic, and must fail or succeed cleanly.
func FuzzParseHeader(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.data)
	}
	f.Add([]byte("Salted__"))
	f.Add([]byte("Salted__12345678"))
	f.Fuzz(func(t *testing.T, in []byte) {
		withChunkSize(t, 64)
		r, err := NewReader(bytes.NewReader(in), Options{Password: []byte("pw"), Digest: 0})
		hasHeader := len(in) >= headerLen && bytes.HasPrefix(in, []byte(Magic))
		if !hasHeader {
			if !errors.Is(err, ErrBadMagic) {
				t.Fatalf("no header: err %v, want ErrBadMagic", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("header: %v", err)
		}
		out, err := io.ReadAll(r)
		if err != nil && !errors.Is(err, ErrBadDecrypt) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(out) > len(in)-headerLen {
			t.Fatalf("%d bytes of output from %d of ciphertext", len(out), len(in)-headerLen)
		}
	})
}

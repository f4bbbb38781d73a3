package osslenc

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

const benchSize = 16 << 20

func benchOptions(keyLen int) Options {
	return Options{KeyLen: keyLen, Key: make([]byte, keyLen), IV: make([]byte, 16)}
}

// BenchmarkEncrypt measures io.Copy from memory through a Writer, as a
// pipeline stage sees it.
func BenchmarkEncrypt(b *testing.B) {
	plain := make([]byte, benchSize)
	for _, keyLen := range []int{16, 32} {
		b.Run(fmt.Sprintf("aes-%d-cbc", keyLen*8), func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				w, err := NewWriter(io.Discard, benchOptions(keyLen))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(w, bytes.NewReader(plain)); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt measures io.Copy through a Reader to io.Discard.
func BenchmarkDecrypt(b *testing.B) {
	for _, keyLen := range []int{16, 32} {
		o := benchOptions(keyLen)
		var ct bytes.Buffer
		w, _ := NewWriter(&ct, o)
		w.Write(make([]byte, benchSize))
		w.Close()
		b.Run(fmt.Sprintf("aes-%d-cbc", keyLen*8), func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(ct.Bytes()), o)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyDerivation shows the cost of each password-based derivation.
func BenchmarkKeyDerivation(b *testing.B) {
	for _, o := range []Options{
		{Password: []byte("pw")},
		{Password: []byte("pw"), PBKDF2: true},
	} {
		name := "EVP_BytesToKey"
		if o.PBKDF2 {
			name = "PBKDF2-10000"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := NewWriter(io.Discard, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

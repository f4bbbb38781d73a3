package osslenc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestCBCMatchesStdlib checks the CBC mode in use (AES-NI assembly on amd64)
// against crypto/cipher for every key size, in place and not, with the data
// split into several CryptBlocks calls so the chaining value carries over.
func TestCBCMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, keyLen := range []int{16, 24, 32} {
		for _, blocks := range []int{1, 2, 7, 8, 9, 15, 16, 17, 64, 257} {
			key := randBytes(rng, keyLen)
			iv := randBytes(rng, blockSize)
			plain := randBytes(rng, blocks*blockSize)

			want := make([]byte, len(plain))
			newCBCGeneric(key, iv, false).CryptBlocks(want, plain)
			back := make([]byte, len(plain))
			newCBCGeneric(key, iv, true).CryptBlocks(back, want)
			if !bytes.Equal(back, plain) {
				t.Fatal("stdlib round trip failed")
			}

			for _, inPlace := range []bool{false, true} {
				for _, decrypt := range []bool{false, true} {
					src, expect := plain, want
					if decrypt {
						src, expect = want, plain
					}
					m := newCBC(key, iv, decrypt)
					got := make([]byte, len(src))
					copy(got, src)
					in := got
					if !inPlace {
						in = bytes.Clone(src)
					}
					for off := 0; off < len(src); {
						n := blockSize * (1 + rng.IntN(12))
						n = min(n, len(src)-off)
						m.CryptBlocks(got[off:off+n], in[off:off+n])
						off += n
					}
					if !bytes.Equal(got, expect) {
						t.Errorf("key %d bytes, %d blocks, in place %v, decrypt %v: output differs from crypto/cipher",
							keyLen, blocks, inPlace, decrypt)
					}
				}
			}
		}
	}
}

func TestCBCPanics(t *testing.T) {
	m := newCBC(make([]byte, 32), make([]byte, 16), false)
	buf := make([]byte, 64)
	for name, f := range map[string]func(){
		"partial block": func() { m.CryptBlocks(buf[:17], buf[:17]) },
		"short dst":     func() { m.CryptBlocks(buf[:16], buf[:32]) },
		"overlap":       func() { m.CryptBlocks(buf[16:48], buf[:32]) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
	m.CryptBlocks(nil, nil) // no panic for empty input
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

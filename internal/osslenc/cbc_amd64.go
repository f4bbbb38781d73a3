//go:build amd64 && !purego

package osslenc

import (
	"crypto/cipher"
	"encoding/binary"
	"unsafe"
)

// The standard library's CBC mode calls the AES block function once per
// block. That costs about a quarter of the encryption speed and keeps
// decryption from overlapping blocks, so on amd64 with AES-NI the CBC loops
// are in cbc_amd64.s. Build with -tags purego to use crypto/cipher instead.

//go:noescape
func encryptCBC(nr int, xk *byte, iv *[16]byte, dst, src *byte, n int)

//go:noescape
func decryptCBC(nr int, xk *byte, iv *[16]byte, dst, src *byte, n int)

func hasAESNI() bool

var useAESNI = hasAESNI()

func newCBC(key, iv []byte, decrypt bool) cipher.BlockMode {
	if !useAESNI {
		return newCBCGeneric(key, iv, decrypt)
	}
	m := &cbcAESNI{decrypt: decrypt}
	m.nr, m.xk = expandKey(key, decrypt)
	copy(m.iv[:], iv)
	return m
}

type cbcAESNI struct {
	nr      int
	xk      []byte // round keys, 16-byte aligned
	iv      [16]byte
	decrypt bool
}

func (m *cbcAESNI) BlockSize() int { return blockSize }

func (m *cbcAESNI) CryptBlocks(dst, src []byte) {
	if len(src)%blockSize != 0 {
		panic("osslenc: input not full blocks")
	}
	if len(dst) < len(src) {
		panic("osslenc: output smaller than input")
	}
	if len(src) == 0 {
		return
	}
	if inexactOverlap(dst[:len(src)], src) {
		panic("osslenc: invalid buffer overlap")
	}
	if m.decrypt {
		decryptCBC(m.nr, &m.xk[0], &m.iv, &dst[0], &src[0], len(src))
	} else {
		encryptCBC(m.nr, &m.xk[0], &m.iv, &dst[0], &src[0], len(src))
	}
}

func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}

// expandKey returns the number of rounds and the AES round keys for key
// (FIPS 197, section 5.2), or for decrypt the keys of the equivalent inverse
// cipher (section 5.3.5) that AESDEC expects. The slice is 16-byte aligned:
// the assembly reads it with SSE instructions that require that, and heap
// objects do not move.
func expandKey(key []byte, decrypt bool) (int, []byte) {
	nk := len(key) / 4
	nr := nk + 6
	w := make([]uint32, 4*(nr+1))
	for i := range nk {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := byte(1)
	for i := nk; i < len(w); i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(t<<8|t>>24) ^ uint32(rcon)<<24
			rcon = gfMul(rcon, 2)
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
	raw := make([]byte, 16*(nr+1)+15)
	off := int(-uintptr(unsafe.Pointer(&raw[0])) & 15)
	xk := raw[off : off+16*(nr+1)]
	for r := 0; r <= nr; r++ {
		src := r
		if decrypt {
			src = nr - r
		}
		for c := range 4 {
			col := w[4*src+c]
			if decrypt && r != 0 && r != nr {
				col = invMixColumn(col)
			}
			binary.BigEndian.PutUint32(xk[16*r+4*c:], col)
		}
	}
	return nr, xk
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x+1, without branches or
// tables that depend on the key.
func gfMul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= a & -(b & 1)
		a = a<<1 ^ 0x1b&-(a>>7)
		b >>= 1
	}
	return p
}

// sbox computes the AES S-box: the multiplicative inverse (x^254) followed by
// the affine transformation.
func sbox(x byte) byte {
	x2 := gfMul(x, x)
	x3 := gfMul(x2, x)
	x6 := gfMul(x3, x3)
	x12 := gfMul(x6, x6)
	x15 := gfMul(x12, x3)
	x30 := gfMul(x15, x15)
	x60 := gfMul(x30, x30)
	x120 := gfMul(x60, x60)
	x126 := gfMul(x120, x6)
	x127 := gfMul(x126, x)
	inv := gfMul(x127, x127) // x^254
	rotl := func(b byte, n int) byte { return b<<n | b>>(8-n) }
	return inv ^ rotl(inv, 1) ^ rotl(inv, 2) ^ rotl(inv, 3) ^ rotl(inv, 4) ^ 0x63
}

func subWord(w uint32) uint32 {
	return uint32(sbox(byte(w>>24)))<<24 | uint32(sbox(byte(w>>16)))<<16 |
		uint32(sbox(byte(w>>8)))<<8 | uint32(sbox(byte(w)))
}

func invMixColumn(col uint32) uint32 {
	a0, a1, a2, a3 := byte(col>>24), byte(col>>16), byte(col>>8), byte(col)
	b0 := gfMul(a0, 14) ^ gfMul(a1, 11) ^ gfMul(a2, 13) ^ gfMul(a3, 9)
	b1 := gfMul(a0, 9) ^ gfMul(a1, 14) ^ gfMul(a2, 11) ^ gfMul(a3, 13)
	b2 := gfMul(a0, 13) ^ gfMul(a1, 9) ^ gfMul(a2, 14) ^ gfMul(a3, 11)
	b3 := gfMul(a0, 11) ^ gfMul(a1, 13) ^ gfMul(a2, 9) ^ gfMul(a3, 14)
	return uint32(b0)<<24 | uint32(b1)<<16 | uint32(b2)<<8 | uint32(b3)
}

package osslenc

import (
	"crypto/aes"
	"crypto/cipher"
)

const blockSize = aes.BlockSize

// newCBCGeneric is the standard library's CBC mode, used where the assembly
// is not available.
func newCBCGeneric(key, iv []byte, decrypt bool) cipher.BlockMode {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("osslenc: " + err.Error()) // key lengths are checked earlier
	}
	if decrypt {
		return cipher.NewCBCDecrypter(b, iv)
	}
	return cipher.NewCBCEncrypter(b, iv)
}

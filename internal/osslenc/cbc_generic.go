//go:build !amd64 || purego

package osslenc

import "crypto/cipher"

func newCBC(key, iv []byte, decrypt bool) cipher.BlockMode {
	return newCBCGeneric(key, iv, decrypt)
}

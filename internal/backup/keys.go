package backup

import (
	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
)

// Settings are the job's settings (package config).
type Settings = config.Settings

// setEncryption records in i how s encrypts.
func setEncryption(i *catalog.Info, s *Settings) {
	i.Encryption = s.EncryptionCodec().Name
	if i.Encryption == "age" {
		i.Recipients = config.RecipientKeys(s.Recipients)
		return
	}
	i.Cipher, i.Digest, i.KDF = "aes-256-cbc", "sha256", "evp"
	if s.PBKDF2 {
		i.KDF, i.Iter = "pbkdf2", s.Iter
	}
}

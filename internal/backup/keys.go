package backup

import (
	"time"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// ObjectKey is where the dump of the backup of prefix started at t is
// stored: [folder]<prefix>-<UTC YYYYmmddHHMMSS><endings>.
func (s *Settings) ObjectKey(prefix string, t time.Time) string {
	return catalog.DumpKey(s.KeyPrefix, prefix, t, s.Format, s.Compression, s.encryption().Name)
}

// CompanionKey is where the companion named name (catalog.Companions) of the backup
// of prefix started at t is stored: as its dump, with the companion's
// ending in the format's place.
func (s *Settings) CompanionKey(prefix string, t time.Time, name string) string {
	return catalog.CompanionKey(s.KeyPrefix, prefix, t, name, s.Compression, s.encryption().Name)
}

func (s *Settings) compression() catalog.Compression {
	c, _ := catalog.CompressionNamed(s.Compression)
	return c
}

// encryption is the settings' encryption; the first of the table (the
// original image's) when none is set.
func (s *Settings) encryption() catalog.Encryption {
	if e, ok := catalog.EncryptionNamed(s.Encryption); ok {
		return e
	}
	return catalog.Encryptions[0]
}

// setEncryption records in i how s encrypts.
func setEncryption(i *catalog.Info, s *Settings) {
	i.Encryption = s.encryption().Name
	if i.Encryption == "age" {
		i.Recipients = ageRecipientKeys(s.Recipients)
		return
	}
	i.Cipher, i.Digest, i.KDF = "aes-256-cbc", "sha256", "evp"
	if s.PBKDF2 {
		i.KDF, i.Iter = "pbkdf2", s.Iter
	}
}

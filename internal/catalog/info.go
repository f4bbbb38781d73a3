package catalog

import (
	"fmt"
	"strings"
	"time"
)

// Info is what the manifest of a backup records about it, under "backup":
// the job's facts. The upload's facts (bucket, key, size, SHA-256, parts,
// tool) are the manifest's own fields and are not repeated here; the
// fields marked "-" carry them inside the job.
type Info struct {
	Prefix string `json:"prefix"`
	// ListPrefix is, for a database a '*' line of the list found, that
	// line's prefix (Database is the database's real name).
	ListPrefix string `json:"list_prefix,omitempty"`
	Database   string `json:"database"`
	Host       string `json:"host"`
	Port       string `json:"port"`
	User       string `json:"user"`
	Bucket     string `json:"-"`
	Key        string `json:"-"`

	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	Format     string `json:"format"` // pg_dump's: plain or custom
	PlainSize  int64  `json:"plain_size"`
	StoredSize int64  `json:"-"`
	SHA256     string `json:"-"` // of the stored object
	Parts      int    `json:"-"`
	// Rows counts the rows of each table's data in a plain-format dump.
	Rows             map[string]int64 `json:"rows,omitempty"`
	Compression      string           `json:"compression"`
	CompressionLevel int              `json:"compression_level"`

	Encryption string `json:"encryption"` // an encryption's name (codec.go); "" in older manifests: openssl
	// openssl's:
	Cipher string `json:"cipher,omitempty"` // openssl enc's name, e.g. aes-256-cbc
	KDF    string `json:"kdf,omitempty"`    // "evp" (EVP_BytesToKey, one round) or "pbkdf2"
	Digest string `json:"digest,omitempty"` // the KDF's digest
	Iter   int    `json:"iter,omitempty"`
	// age's: the recipients' public keys, age1… or "ssh-ed25519 AAAA…".
	Recipients []string `json:"recipients,omitempty"`

	PgDumpVersion  string `json:"pg_dump_version"`
	ServerVersion  string `json:"server_version"`
	Tool           string `json:"-"`
	RestoreCommand string `json:"restore_command"`

	// Companion names a companion object's kind (codec.go), "" for a dump.
	Companion string `json:"companion,omitempty"`
	// RolePasswords says, for the globals, whether the roles' passwords
	// are in them; false when the login may not read them (globals.go).
	RolePasswords *bool `json:"role_passwords,omitempty"`

	// ObjectLock is the S3 Object Lock every object of the backup was
	// written with, and that the store was seen to keep; nil for none.
	ObjectLock *LockInfo `json:"object_lock,omitempty"`
}

// LockInfo is an object lock as the manifest records it.
type LockInfo struct {
	Mode        string    `json:"mode,omitempty"` // GOVERNANCE or COMPLIANCE
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
}

// StockRestore is the stock-tools one-liner that restores this backup,
// the encryption password in the file KEYFILE (age: an identity of one of
// the recipients in key.txt).
func (i *Info) StockRestore() string {
	var b strings.Builder
	c, _ := CompressionNamed(i.Compression)
	f, _ := FormatNamed(i.Format)
	restore := f.Restore
	if k, ok := CompanionNamed(i.Companion); ok {
		restore = k.Restore
	}
	if i.Encryption == "age" {
		fmt.Fprintf(&b, "aws s3 cp s3://%s/%s - | age -d -i key.txt | %s | %s", i.Bucket, i.Key, c.Unpack, restore)
		return b.String()
	}
	fmt.Fprintf(&b, "aws s3 cp s3://%s/%s - | openssl enc -d -%s -md %s", i.Bucket, i.Key, i.Cipher, i.Digest)
	if i.KDF == "pbkdf2" {
		fmt.Fprintf(&b, " -pbkdf2 -iter %d", i.Iter)
	}
	fmt.Fprintf(&b, " -pass file:KEYFILE | %s | %s", c.Unpack, restore)
	return b.String()
}

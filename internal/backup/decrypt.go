package backup

import (
	"cmp"
	"fmt"
	"io"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// noKeyError is a backup that verify cannot decrypt because it was given
// no key for its encryption: it can still check the object against its
// manifest, but not its content.
type noKeyError struct{ why string }

func (e *noKeyError) Error() string { return e.why }

// newDecrypter returns the decryption of r, the object of backup b (info:
// its manifest's facts, nil without one), by the encryption its key names,
// the key from the settings: the password for openssl (how it was derived
// from the manifest, since the settings may have changed), the identities
// of AGE_IDENTITY_FILE for age. Without that key it returns a *noKeyError.
func (v *Verifier) newDecrypter(r io.Reader, b catalog.Backup, info *catalog.Info) (io.Reader, error) {
	s := v.Settings
	if b.Encryption == "age" {
		if len(s.Identities) == 0 {
			return nil, &noKeyError{fmt.Sprintf("%s is not set, so the backup was not decrypted", config.EnvAgeIdentity)}
		}
		return newAgeReader(r, s.Identities)
	}
	if len(s.Password) == 0 {
		return nil, &noKeyError{fmt.Sprintf("no password (%s or %s) for this openssl backup, so it was not decrypted", config.EnvPassBase64, config.EnvPasswordFile)}
	}
	opts := osslenc.Options{KeyLen: 32, Password: s.Password.Reveal(), PBKDF2: s.PBKDF2, Iter: s.Iter}
	if info != nil {
		// The manifest says how this backup was encrypted; the settings
		// may have changed since.
		opts.PBKDF2, opts.Iter = info.KDF == "pbkdf2", info.Iter
		if d, err := osslenc.ParseDigest(cmp.Or(info.Digest, "sha256")); err == nil {
			opts.Digest = d
		}
	}
	dec, err := osslenc.NewReader(r, opts)
	if err != nil {
		return nil, decryptErr(err)
	}
	return dec, nil
}

// checkStored is verify of a backup it has no key for: the whole object
// is read and compared with its manifest's size and SHA-256, and the
// result says that its content was not checked. Without a manifest there
// is nothing to compare with, which is a failure, as is a restore of a
// dump (companions are not restored).
func (v *Verifier) checkStored(r *s3stream.Reader, b catalog.Backup, m *s3stream.Manifest, st streamStats, nokey *noKeyError) (streamStats, error) {
	if v.RestoreInto != "" && b.Companion == "" {
		return st, fmt.Errorf("cannot restore it: %s", nokey.why)
	}
	if m == nil {
		return st, fmt.Errorf("nothing could be checked: it has no manifest, and %s", nokey.why)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return st, streamErr(err)
	}
	res := r.Result()
	if err := m.Check(res.Size, res.SHA256); err != nil {
		return st, err
	}
	st.unchecked = nokey.why
	return st, nil
}

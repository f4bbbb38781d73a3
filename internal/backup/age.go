package backup

// With ENCRYPTION=age the stream is encrypted to recipients' public keys,
// and the job holds nothing that decrypts a backup; verify decrypts with
// AGE_IDENTITY_FILE (package config reads both).

import (
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/philips-labs/iron-streaming-backup/internal/config"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// newAgeWriter returns the age encryption of the stream into w for the
// recipients; its Close writes the last chunk and does not close w.
func newAgeWriter(w io.Writer, rs []config.Recipient) (io.WriteCloser, error) {
	if len(rs) == 0 {
		return nil, errors.New("age: no recipients")
	}
	ars := make([]age.Recipient, len(rs))
	for i, r := range rs {
		ars[i] = r.R
	}
	return age.Encrypt(w, ars...)
}

// newAgeReader returns the decryption of an age stream with the
// identities; it reads the header now, and authenticates every chunk as
// it is read.
func newAgeReader(r io.Reader, ids []age.Identity) (io.Reader, error) {
	dec, err := age.Decrypt(r, ids...)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, fmt.Errorf("%s holds no identity this backup was encrypted to (its recipients are in its manifest)", config.EnvAgeIdentity)
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable age file: %v", err)
	}
	return ageReader{dec}, nil
}

// ageReader marks the errors of age's stream (a chunk that fails
// authentication, a truncated stream) as age's, so that verify does not
// take them for the decompressor's.
type ageReader struct{ r io.Reader }

func (a ageReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		var ce *s3stream.ChecksumError
		if !errors.As(err, &ce) {
			err = &ageStreamError{err}
		}
	}
	return n, err
}

type ageStreamError struct{ err error }

func (e *ageStreamError) Error() string { return "decrypting (age): " + e.err.Error() }
func (e *ageStreamError) Unwrap() error { return e.err }

func isAgeError(err error) bool {
	var e *ageStreamError
	return errors.As(err, &e)
}

package backup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// Public-key encryption with age (ENCRYPTION=age): the job encrypts to
// recipients' public keys and so holds nothing that decrypts a backup.
// Only verify reads an identity (a private key), from AGE_IDENTITY_FILE.
const (
	envEncryption     = "ENCRYPTION"          // openssl (default) or age
	envAgeRecipients  = "AGE_RECIPIENTS"      // age recipients, one per line
	envAgeRecipFile   = "AGE_RECIPIENTS_FILE" // a file holding them instead
	envAgeIdentity    = "AGE_IDENTITY_FILE"   // verify's identities file or OpenSSH private key
	maxRecipientsFile = 1 << 20               // cap on AGE_RECIPIENTS_FILE
	maxIdentityFile   = 1 << 20               // cap on AGE_IDENTITY_FILE
)

// Recipient is a public key a backup is encrypted to.
type Recipient struct {
	Key string // as the manifest records it: age1… or "ssh-ed25519 AAAA…" without the comment
	r   age.Recipient
}

// parseRecipients reads a recipients list in the format of age's
// recipients files: one recipient per line (age1… X25519 keys,
// ssh-ed25519 and ssh-rsa public keys), '#' comments and blank lines. Each
// bad line is its own error, named by from and its line number; no error
// repeats a line, which might be a secret pasted into the wrong place.
func parseRecipients(from string, data []byte) ([]Recipient, []error) {
	var rs []Recipient
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxRecipientsFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRecipient(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s line %d: %v", from, n, err))
			continue
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %v", from, err))
	}
	if len(rs) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no recipients (every line is blank or a comment)", from))
	}
	return rs, errs
}

func parseRecipient(line string) (Recipient, error) {
	switch {
	case strings.HasPrefix(line, "AGE-SECRET-KEY-"), strings.HasPrefix(line, "-----BEGIN"):
		return Recipient{}, errors.New("a private key, not a recipient: give its public key (age-keygen -y, or the .pub file of an ssh key) and keep the private key off the runner")
	case strings.HasPrefix(line, "age1pq1"):
		return Recipient{}, errors.New("post-quantum recipients (age1pq1…) are not supported: use an age1… X25519 key from age-keygen, or an ssh key")
	case strings.HasPrefix(line, "age1"):
		r, err := age.ParseX25519Recipient(line)
		if err != nil {
			return Recipient{}, errors.New("not a valid age1… X25519 recipient (mistyped or cut short? plugin recipients are not supported)")
		}
		return Recipient{Key: r.String(), r: r}, nil
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil && strings.HasPrefix(line, "ssh-"):
		return Recipient{}, errors.New("not a valid ssh public key (one line of a .pub file)")
	case err == nil:
		if t := pk.Type(); t != ssh.KeyAlgoED25519 && t != ssh.KeyAlgoRSA {
			return Recipient{}, fmt.Errorf("%s keys cannot be age recipients: use ssh-ed25519 or ssh-rsa", t)
		}
		r, err := agessh.ParseRecipient(line)
		if err != nil {
			return Recipient{}, fmt.Errorf("this %s key cannot be an age recipient", pk.Type())
		}
		return Recipient{Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), r: r}, nil
	}
	return Recipient{}, errors.New("not a recipient: want an age1… key or an ssh-ed25519 / ssh-rsa public key")
}

// loadAge reads ENCRYPTION and, for age, the recipients. For a backup it
// says which settings age leaves unused and never reads AGE_IDENTITY_FILE;
// verify reads the identity when one is named, for ENCRYPTION=openssl too
// (the bucket may hold age backups); prune never reads it.
func (s *Settings) loadAge(getenv func(string) string, p purpose) []error {
	forBackup := p == purposeBackup
	var errs []error
	bad := func(format string, args ...any) { s.bad(&errs, format, args...) }
	warn := func(format string, args ...any) { s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...)) }

	name := strings.ToLower(or(getenv(envEncryption), catalog.Encryptions[0].Name))
	if _, ok := catalog.EncryptionNamed(name); !ok {
		bad("%s=%q: use %s", envEncryption, name, catalog.Names(catalog.Encryptions, func(e catalog.Encryption) string { return e.Name }))
		return errs
	}
	s.Encryption = name
	if p == purposeVerify {
		ids, err := loadIdentity(getenv)
		if err != nil {
			errs = append(errs, err)
		}
		s.identities = ids
	} else if forBackup && getenv(envAgeIdentity) != "" {
		warn("%s is set but a backup never reads it; only verify needs the identity, so keep it off the machines that run backups", envAgeIdentity)
	}
	list, file := getenv(envAgeRecipients), strings.TrimSpace(getenv(envAgeRecipFile))
	if name != "age" {
		for _, n := range []string{envAgeRecipients, envAgeRecipFile} {
			if getenv(n) != "" {
				bad("%s is only used with %s=age (%s is %s)", n, envEncryption, envEncryption, name)
			}
		}
		return errs
	}
	switch {
	case strings.TrimSpace(list) != "" && file != "":
		bad("%s and %s are both set: give one of them", envAgeRecipients, envAgeRecipFile)
	case strings.TrimSpace(list) != "":
		rs, es := parseRecipients(envAgeRecipients, []byte(list))
		s.Recipients, errs = rs, append(errs, es...)
	case file != "":
		data, err := readCapped(file, maxRecipientsFile)
		if err != nil {
			bad("%s: %v", envAgeRecipFile, err)
			break
		}
		rs, es := parseRecipients(fmt.Sprintf("%s (%s)", envAgeRecipFile, file), data)
		s.Recipients, errs = rs, append(errs, es...)
	case forBackup:
		bad("%s=age needs recipients: set %s (age1… or ssh public keys, one per line) or %s", envEncryption, envAgeRecipients, envAgeRecipFile)
	}
	if forBackup {
		for _, n := range []string{EnvPassBase64, envPasswordFile, envKDF, envIter} {
			if getenv(n) != "" {
				warn("%s is set but unused: with %s=age a backup uses no password", n, envEncryption)
			}
		}
	}
	return errs
}

// noPassword reports whether load reads no encryption password: prune
// needs none, a backup with age neither, and verify reads one only when it
// is set, for the backups made with openssl before.
func (s *Settings) noPassword(getenv func(string) string, p purpose) bool {
	return p == purposePrune || s.Encryption == "age" && (p == purposeBackup || getenv(EnvPassBase64) == "" && getenv(envPasswordFile) == "")
}

// loadIdentity reads AGE_IDENTITY_FILE for verify: an age identities file
// (AGE-SECRET-KEY-1… lines, '#' comments) or an unencrypted OpenSSH private
// key. Its errors never quote the file.
func loadIdentity(getenv func(string) string) ([]age.Identity, error) {
	name := strings.TrimSpace(getenv(envAgeIdentity))
	if name == "" {
		return nil, nil
	}
	data, err := readCapped(name, maxIdentityFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", envAgeIdentity, err)
	}
	ids, err := parseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %v", envAgeIdentity, name, err)
	}
	return ids, nil
}

func parseIdentities(data []byte) ([]age.Identity, error) {
	if bytes.Contains(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) {
		return nil, errors.New("an identities file protected by a passphrase, which verify cannot ask for: give verify the decrypted identity (age -d key.txt.age), where it may live")
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		id, err := agessh.ParseIdentity(data)
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, errors.New("the ssh private key is protected by a passphrase, which verify cannot ask for: use an age identity (age-keygen) or a key without one")
		case err != nil:
			return nil, errors.New("not a usable OpenSSH private key (ssh-ed25519 or ssh-rsa)")
		}
		return []age.Identity{id}, nil
	}
	var ids []age.Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "AGE-SECRET-KEY-1") {
			return nil, fmt.Errorf("line %d: not an age identity (AGE-SECRET-KEY-1…)", n)
		}
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: a malformed age identity (mistyped or cut short?)", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, errors.New("cannot read it as an identities file (a line too long?)")
	}
	if len(ids) == 0 {
		return nil, errors.New("no identity in it (every line is blank or a comment)")
	}
	return ids, nil
}

// readCapped reads the file name, refusing one larger than max bytes.
func readCapped(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	return data, nil
}

// newAgeWriter returns the age encryption of the stream into w for the
// recipients; its Close writes the last chunk and does not close w.
func newAgeWriter(w io.Writer, rs []Recipient) (io.WriteCloser, error) {
	if len(rs) == 0 {
		return nil, errors.New("age: no recipients")
	}
	ars := make([]age.Recipient, len(rs))
	for i, r := range rs {
		ars[i] = r.r
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
		return nil, fmt.Errorf("%s holds no identity this backup was encrypted to (its recipients are in its manifest)", envAgeIdentity)
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

// ageRecipientKeys are the recipients' public keys, for the manifest.
func ageRecipientKeys(rs []Recipient) []string {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys
}

// HasIdentity reports whether verify was given AGE_IDENTITY_FILE.
func (s *Settings) HasIdentity() bool { return len(s.identities) > 0 }

package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/iox"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// Crypto says how a backup is encrypted, and what decrypts one.
type Crypto struct {
	// Encryption is an encryption's name (catalog.Encryptions); "" is the
	// first.
	Encryption string
	Password   Secret // ENCRYPTION=openssl: the password
	PBKDF2     bool
	Iter       int
	// Recipients are whom an age backup is encrypted to (ENCRYPTION=age).
	Recipients []Recipient
	// Identities decrypt age backups: verify's AGE_IDENTITY_FILE; nil for
	// a backup, which never reads one.
	Identities []age.Identity
}

// HasIdentity reports whether an age identity was given (verify).
func (c Crypto) HasIdentity() bool { return len(c.Identities) > 0 }

// Recipient is a public key a backup is encrypted to.
type Recipient struct {
	// Key is as the manifest records it: age1…, age1pq1… or
	// "ssh-ed25519 AAAA…" without the comment.
	Key string
	R   age.Recipient
}

const (
	maxPasswordFile   = 64 << 10 // cap on the encryption password file
	maxRecipientsFile = 1 << 20  // cap on AGE_RECIPIENTS_FILE
	maxIdentityFile   = 1 << 20  // cap on AGE_IDENTITY_FILE
	defaultPBKDF2Iter = 600000
)

// loadCrypto reads ENCRYPTION and what it needs: for age the recipients
// (a backup) or the identity (verify), for openssl the password and its
// key derivation. A backup never reads AGE_IDENTITY_FILE and says which
// settings age leaves unused; prune reads no secret that decrypts.
func (s *Settings) loadCrypto(e *env, p Purpose) {
	warn := func(format string, args ...any) { s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...)) }
	name := strings.ToLower(e.or(EnvEncryption, catalog.Encryptions[0].Name))
	if _, ok := catalog.EncryptionNamed(name); !ok {
		e.bad("%s=%q: use %s", EnvEncryption, name, catalog.Names(catalog.Encryptions, func(c catalog.Encryption) string { return c.Name }))
	} else {
		s.Encryption = name
		s.loadAge(e, p, warn)
	}

	// The password: with age a backup needs none, and verify reads one
	// only when it is set, for the backups made with openssl before.
	noPassword := p == ForPrune || s.Encryption == "age" && (p == ForBackup || e.get(EnvPassBase64) == "" && e.get(EnvPasswordFile) == "")
	if !noPassword {
		pw, err := loadPassword(e, func(m string) { warn("%s", m) })
		e.add(err)
		s.Password = pw
	}

	switch kdf := strings.ToLower(e.or(EnvKDF, "evp")); kdf {
	case "evp":
		if e.get(EnvIter) != "" {
			e.bad("%s is only used with %s=pbkdf2", EnvIter, EnvKDF)
		}
	case "pbkdf2":
		s.PBKDF2 = true
		s.Iter = defaultPBKDF2Iter
		e.int(EnvIter, 1, 100_000_000, &s.Iter)
	default:
		e.bad("%s=%q: use evp (openssl enc's default key derivation) or pbkdf2", EnvKDF, kdf)
	}
}

func (s *Settings) loadAge(e *env, p Purpose, warn func(string, ...any)) {
	name := s.Encryption
	switch {
	case p == ForVerify || p == ForRestore:
		ids, err := loadIdentity(e)
		e.add(err)
		s.Identities = ids
	case p == ForBackup && e.get(EnvAgeIdentity) != "":
		warn("%s is set but a backup never reads it; only verify needs the identity, so keep it off the machines that run backups", EnvAgeIdentity)
	}
	list, file := e.get(EnvAgeRecipients), e.trimmed(EnvAgeRecipFile)
	if name != "age" {
		for _, n := range []string{EnvAgeRecipients, EnvAgeRecipFile} {
			if e.get(n) != "" {
				e.bad("%s is only used with %s=age (%s is %s)", n, EnvEncryption, EnvEncryption, name)
			}
		}
		return
	}
	switch {
	case strings.TrimSpace(list) != "" && file != "":
		e.bad("%s and %s are both set: give one of them", EnvAgeRecipients, EnvAgeRecipFile)
	case strings.TrimSpace(list) != "":
		rs, errs := parseRecipients(EnvAgeRecipients, []byte(list))
		s.Recipients = rs
		e.add(errs...)
	case file != "":
		data, err := iox.ReadCapped(file, maxRecipientsFile)
		if err != nil {
			e.bad("%s: %v", EnvAgeRecipFile, err)
			break
		}
		rs, errs := parseRecipients(fmt.Sprintf("%s (%s)", EnvAgeRecipFile, file), data)
		s.Recipients = rs
		e.add(errs...)
	case p == ForBackup:
		e.bad("%s=age needs recipients: set %s (age1… or ssh public keys, one per line) or %s", EnvEncryption, EnvAgeRecipients, EnvAgeRecipFile)
	}
	if pq := countPQ(s.Recipients); pq > 0 && pq < len(s.Recipients) {
		e.bad("%s=age: the recipients mix post-quantum (age1pq1…) and classic keys, which age refuses: the backup would be only as strong as the classic ones; give only age1pq1… keys, or none", EnvEncryption)
	}
	if p == ForBackup {
		for _, n := range []string{EnvPassBase64, EnvPasswordFile, EnvKDF, EnvIter} {
			if e.get(n) != "" {
				warn("%s is set but unused: with %s=age a backup uses no password", n, EnvEncryption)
			}
		}
	}
}

// parseRecipients reads a recipients list in the format of age's
// recipients files, with age's own parsers: one recipient per line (age1…
// X25519 and age1pq1… post-quantum keys, ssh-ed25519 and ssh-rsa public
// keys), '#' comments and blank lines. Each bad line is its own error,
// named by from and its line number; no error repeats a line, which might
// be a secret pasted into the wrong place.
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

// parseRecipient reads one line with age.ParseRecipients, which knows
// every native recipient type (X25519, hybrid post-quantum) and the ssh
// keys age takes. Plugin recipients need a plugin program the job does
// not run, and are refused.
func parseRecipient(line string) (Recipient, error) {
	if strings.HasPrefix(line, "AGE-SECRET-KEY-") || strings.HasPrefix(line, "AGE-PLUGIN-") || strings.HasPrefix(line, "-----BEGIN") {
		return Recipient{}, errors.New("a private key, not a recipient: give its public key (age-keygen -y, or the .pub file of an ssh key) and keep the private key off the runner")
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil || strings.HasPrefix(line, "ssh-") {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return Recipient{}, errors.New("not a valid ssh public key (one line of a .pub file)")
		}
		if t := pk.Type(); t != ssh.KeyAlgoED25519 && t != ssh.KeyAlgoRSA {
			return Recipient{}, fmt.Errorf("%s keys cannot be age recipients: use ssh-ed25519 or ssh-rsa", t)
		}
		r, err := agessh.ParseRecipient(line)
		if err != nil {
			return Recipient{}, fmt.Errorf("this %s key cannot be an age recipient", pk.Type())
		}
		return Recipient{Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))), R: r}, nil
	}
	if !strings.HasPrefix(line, "age1") {
		return Recipient{}, errors.New("not a recipient: want an age1… key or an ssh-ed25519 / ssh-rsa public key")
	}
	rs, err := age.ParseRecipients(strings.NewReader(line))
	if err != nil || len(rs) != 1 {
		return Recipient{}, errors.New("not a valid age recipient (mistyped or cut short? plugin recipients are not supported)")
	}
	return Recipient{Key: line, R: rs[0]}, nil
}

// countPQ is how many of rs are hybrid post-quantum recipients.
func countPQ(rs []Recipient) int {
	n := 0
	for _, r := range rs {
		if strings.HasPrefix(r.Key, "age1pq1") {
			n++
		}
	}
	return n
}

// RecipientKeys are the public keys of rs, as the manifest records them.
func RecipientKeys(rs []Recipient) []string {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys
}

// loadIdentity reads AGE_IDENTITY_FILE for verify: an age identities file
// (AGE-SECRET-KEY-1… and post-quantum identities, '#' comments) or an
// unencrypted OpenSSH private key. Its errors never quote the file.
func loadIdentity(e *env) ([]age.Identity, error) {
	name := e.trimmed(EnvAgeIdentity)
	if name == "" {
		return nil, nil
	}
	data, err := iox.ReadCapped(name, maxIdentityFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", EnvAgeIdentity, err)
	}
	ids, err := parseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %v", EnvAgeIdentity, name, err)
	}
	return ids, nil
}

// parseIdentities reads an identities file with age.ParseIdentities, or
// an OpenSSH private key with agessh.
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
	// age's parser names a bad line by its number only; it never repeats
	// it. Lines it cannot read are said so without the line.
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			return nil, fmt.Errorf("line %d: not an age identity (AGE-SECRET-KEY-1…)", n)
		}
		if _, err := age.ParseIdentities(strings.NewReader(line)); err != nil {
			return nil, fmt.Errorf("line %d: a malformed age identity (mistyped or cut short?)", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errors.New("cannot read it as an identities file (a line too long?)")
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("no identity in it (every line is blank or a comment)")
	}
	return ids, nil
}

// loadPassword reads the encryption password from PASS_FILE_BASE64 or the
// file named by PASSWORD_FILE exactly as "openssl enc -pass file:" reads a
// file: the original image wrote PASS_FILE_BASE64 to a file and passed it
// to openssl that way, and every restore command does the same. So only
// the first line counts, without its "\n" but with a "\r" before it, cut
// at a NUL byte and at 1023 bytes (openssl's buffer); warn is told of a
// trailing "\r" or a cut.
func loadPassword(e *env, warn func(string)) (Secret, error) {
	switch {
	case e.get(EnvPassBase64) != "":
		from := "$" + EnvPassBase64
		b, err := pgpass.DecodeBase64(e.get(EnvPassBase64))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		pw, err := osslenc.PassLine(bytes.NewReader(b), "stdin", func(m string) { warn(from + ": " + m) })
		if err != nil || len(pw) == 0 {
			return nil, fmt.Errorf("%s: the encryption password is empty", from)
		}
		return pw, nil
	case e.get(EnvPasswordFile) != "":
		name := e.get(EnvPasswordFile)
		if st, err := os.Stat(name); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvPasswordFile, err)
		} else if st.Size() > maxPasswordFile {
			return nil, fmt.Errorf("%s (%s): larger than %d bytes; it should hold the password alone", EnvPasswordFile, name, maxPasswordFile)
		}
		pw, err := osslenc.PassFile(name, func(m string) { warn(EnvPasswordFile + ": " + m) })
		if err == nil && len(pw) == 0 {
			err = fmt.Errorf("password from file:%s is empty", name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", EnvPasswordFile, name, err)
		}
		return pw, nil
	}
	return nil, fmt.Errorf("no encryption password: set %s or %s", EnvPassBase64, EnvPasswordFile)
}

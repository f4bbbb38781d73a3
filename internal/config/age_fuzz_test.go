package config

import (
	"regexp"
	"testing"
)

// The only errors a recipients list may give: fixed messages after the
// line number, and an ssh key type, never the text of a line.
var recipientErr = regexp.MustCompile(`^L line \d+: (a private key, not a recipient: .*|not a valid age recipient .*|not a valid ssh public key .*|[a-z0-9@.-]+ keys cannot be age recipients: use ssh-ed25519 or ssh-rsa|this [a-z0-9@.-]+ key cannot be an age recipient|not a recipient: want an age1… key or an ssh-ed25519 / ssh-rsa public key)$|^L: (no recipients .*|bufio.Scanner: token too long)$`)

var identityErr = regexp.MustCompile(`^(line \d+: not an age identity \(AGE-SECRET-KEY-1…\)|line \d+: a malformed age identity \(mistyped or cut short\?\)|no identity in it \(every line is blank or a comment\)|cannot read it as an identities file \(a line too long\?\)|the ssh private key is protected by a passphrase, .*|an identities file protected by a passphrase, .*|not a usable OpenSSH private key \(ssh-ed25519 or ssh-rsa\))$`)

func FuzzParseRecipients(f *testing.F) {
	for _, s := range []string{
		"# c\nage1xls3vdd06mk2p56td7nlk70rs5r4c4gjn23n9mg6uxxav4f4zacsulfw94\n",
		"age1xls3vdd06mk2p56td7nlk70rs5r4c4gjn23n9mg6uxxav4f4zacsulfw9",
		"AGE-SECRET-KEY-1SQ2AQHHVLCK5RH95KX7QUGD3CF2MNVG6HCF2NQ2NLJNF0HPLGU6QZTGHFH\n",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvJbAR8k1LcQTiS7cKXkqP4bYXpYXhTpX2EYwLbNa4M x@y\r\n",
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGQpfVe/emLgleNEqVC1fodlVtzFAs0buB5fnY2mkUIBthauIXlG3olJQ2liKa8+5RovooJ+lHVr0g/BaHh2OL8=",
		"age1pq1xyz\nhello\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, errs := parseRecipients("L", data)
		for _, err := range errs {
			if !recipientErr.MatchString(err.Error()) {
				t.Fatalf("unexpected error text: %q", err)
			}
		}
		for _, r := range rs {
			again, err := parseRecipient(r.Key)
			if err != nil || again.Key != r.Key {
				t.Fatalf("recipient %q does not read back: %v", r.Key, err)
			}
		}
	})
}

func FuzzParseIdentities(f *testing.F) {
	for _, s := range []string{
		"# created\nAGE-SECRET-KEY-1SQ2AQHHVLCK5RH95KX7QUGD3CF2MNVG6HCF2NQ2NLJNF0HPLGU6QZTGHFH\n",
		"AGE-SECRET-KEY-1SQ2AQHHVLCK5RH95KX7QUGD3CF2MNVG6HCF2NQ2NLJNF0HPLGU6QZTGH",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
		"age1xls3vdd06mk2p56td7nlk70rs5r4c4gjn23n9mg6uxxav4f4zacsulfw94",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := parseIdentities(data)
		if err != nil && !identityErr.MatchString(err.Error()) {
			t.Fatalf("unexpected error text: %q", err)
		}
		if err == nil && len(ids) == 0 {
			t.Fatal("no error and no identity")
		}
	})
}

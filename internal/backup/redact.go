package backup

import (
	"regexp"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// redacted stands for a secret cut out of a message.
const redacted = "[redacted]"

// passwordHash matches the password verifiers PostgreSQL stores
// (pg_authid.rolpassword), which pg_dumpall writes into the globals and
// which a failing statement may echo: SCRAM-SHA-256$… and md5 + 32 hex.
var passwordHash = regexp.MustCompile(`SCRAM-SHA-256\$[^\s'"]*|\bmd5[0-9a-f]{32}\b`)

// redactEntry cuts the secrets of t out of s, a line a child program
// wrote: t's password, as written and as a pgpass line escapes it, and any
// password verifier.
func redactEntry(s string, t pgpass.Entry) string {
	if t.Password != "" {
		escaped := strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(t.Password)
		s = strings.ReplaceAll(s, escaped, redacted)
		s = strings.ReplaceAll(s, t.Password, redacted)
	}
	return passwordHash.ReplaceAllString(s, redacted)
}

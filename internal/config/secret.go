package config

import (
	"fmt"
	"log/slog"
)

// Secret is a value no message may show: a password. Every formatter
// prints it redacted (as restic's SecretString does); Reveal gives the
// bytes to the code that needs them.
type Secret []byte

const redacted = "**redacted**"

// Reveal returns the secret's bytes.
func (s Secret) Reveal() []byte { return s }

// String, GoString and Format print it redacted under every verb.
func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, redacted) }

// MarshalJSON and LogValue keep it out of JSON and structured logs.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }

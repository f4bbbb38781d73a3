package pgpass

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/iox"
)

// ReadFile reads a list file, refusing one larger than a list can be.
func ReadFile(name string) ([]byte, error) {
	data, err := iox.ReadCapped(name, maxSize)
	if errors.Is(err, iox.ErrTooLarge) {
		return nil, errTooLarge
	}
	return data, err
}

// DecodeBase64 decodes standard base64 (RFC 4648 alphabet with '+' and '/'),
// padded or not, ignoring spaces and line breaks anywhere: the output of
// "base64", "base64 -w0" and "openssl base64" all work, with or without a
// trailing newline. The error gives the offset of a bad character in s but
// never the character, since s is a secret.
func DecodeBase64(s string) ([]byte, error) {
	if len(s) > base64.StdEncoding.EncodedLen(maxSize)*2 {
		return nil, errTooLarge
	}
	var (
		b   strings.Builder
		pos []int // offset in s of each byte kept
	)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			b.WriteByte(s[i])
			pos = append(pos, i)
		}
	}
	t := b.String()
	switch {
	case strings.HasSuffix(t, "=="):
		t = t[:len(t)-2]
	case strings.HasSuffix(t, "="):
		t = t[:len(t)-1]
	}
	data, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil {
		var ce base64.CorruptInputError
		if !errors.As(err, &ce) {
			return nil, err
		}
		off := min(int(ce), len(pos)-1)
		if len(t)%4 == 1 && off == len(t)-1 {
			return nil, errors.New("not valid base64: the last characters are missing")
		}
		return nil, fmt.Errorf("not valid base64: bad character at offset %d", pos[off])
	}
	if len(data) > maxSize {
		return nil, errTooLarge
	}
	return data, nil
}

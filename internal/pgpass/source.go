package pgpass

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The environment variables of the job, as in the original image.
const (
	EnvBase64 = "PGPASS_FILE_BASE64" // the list, base64-encoded
	EnvFile   = "PGPASS_FILE"        // the name of a file holding the list
)

// ErrNoSource is returned by FromEnv when neither variable is set.
var ErrNoSource = fmt.Errorf("no pgpass list: set %s or %s", EnvBase64, EnvFile)

// FromEnv returns the list named by the environment, read with getenv
// (os.Getenv in a command), and a description of where it came from for
// messages. PGPASS_FILE_BASE64 is used when it is not empty, else the file
// named by PGPASS_FILE. The base64 form comes first because the original
// image required it and used PGPASS_FILE as the place to write it, so a
// setting that has both must keep meaning the base64 form.
func FromEnv(getenv func(string) string) (data []byte, from string, err error) {
	if s := getenv(EnvBase64); s != "" {
		from = "$" + EnvBase64
		data, err := DecodeBase64(s)
		if err != nil {
			return nil, from, fmt.Errorf("%s: %w", from, err)
		}
		return data, from, nil
	}
	if name := getenv(EnvFile); name != "" {
		from = fmt.Sprintf("$%s (%s)", EnvFile, name)
		data, err := readFile(name)
		if err != nil {
			return nil, from, fmt.Errorf("%s: %w", EnvFile, err)
		}
		return data, from, nil
	}
	return nil, "", ErrNoSource
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, errTooLarge
	}
	return data, nil
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

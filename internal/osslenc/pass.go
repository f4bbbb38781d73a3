package osslenc

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// MaxPassLine is how much of the first line openssl takes as the password
// from file:, fd: and stdin (its buffer holds 1024 bytes with the NUL).
const MaxPassLine = 1023

// PassFile returns the password in the file path as "openssl enc -pass
// file:" reads it (see PassLine), and warns as PassLine does.
func PassFile(path string, warn func(string)) ([]byte, error) {
	if warn == nil {
		warn = func(string) {}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	// Read a byte beyond the limit to tell whether the line was cut.
	b, err := io.ReadAll(io.LimitReader(f, MaxPassLine+1))
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	return passLine(b, false, "file:"+path, warn)
}

// PassLine reads the password from r as openssl reads the first line of
// -pass file:, fd: and stdin: at most MaxPassLine bytes, the "\n" removed
// but a "\r" before it kept, and nothing after a NUL byte. It reads one
// byte at a time, so the rest of the stream stays unread, for data to
// follow the password on the same input. source names r in messages;
// warn, if not nil, is told of a password that ends in "\r" (a file with
// Windows line ends) or was cut at MaxPassLine bytes, which openssl does
// silently. No error contains the password.
func PassLine(r io.Reader, source string, warn func(string)) ([]byte, error) {
	if warn == nil {
		warn = func(string) {}
	}
	var b []byte
	var c [1]byte
	eof := false
	for len(b) < MaxPassLine {
		n, err := r.Read(c[:])
		if n == 1 {
			b = append(b, c[0])
			if c[0] == '\n' {
				break
			}
			continue
		}
		if err == io.EOF {
			eof = true
			break
		}
		if err != nil {
			return nil, fmt.Errorf("password from %s: %w", source, err)
		}
	}
	// Whether more follows a line of MaxPassLine bytes is unknown without
	// reading it, which openssl does not do either; warn anyway.
	return passLine(b, !eof, source, warn)
}

// passLine applies openssl's rules to b, what was read of the first line;
// more tells whether input went on beyond b.
func passLine(b []byte, more bool, source string, warn func(string)) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("password from %s: no input", source)
	}
	line, _, found := bytes.Cut(b, []byte("\n"))
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i] // a C string ends there
	} else if !found && len(line) >= MaxPassLine {
		if more || len(line) > MaxPassLine {
			warn(fmt.Sprintf("password from %s is cut at %d bytes, as openssl does", source, MaxPassLine))
		}
		line = line[:MaxPassLine]
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		warn(fmt.Sprintf(`password from %s ends in "\r" (carriage return), which is part of the password, as in openssl`, source))
	}
	return line, nil
}

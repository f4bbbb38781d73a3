package osslenc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MaxPassLine is how much of the first line openssl takes as the password
// from file:, fd: and stdin (its buffer holds 1024 bytes with the NUL).
const MaxPassLine = 1023

// ErrPassSpec means a -pass argument is not one of the forms openssl knows.
// The message never repeats the argument, which may be a mistyped password.
var ErrPassSpec = errors.New("invalid password source: want pass:PASSWORD, env:VAR, file:PATH, fd:N or stdin")

// ParsePass returns the password that an openssl -pass argument names:
//
//	pass:PASSWORD  PASSWORD itself
//	env:VAR        the value of the environment variable VAR
//	file:PATH      the first line of the file PATH
//	fd:N           the first line read from file descriptor N
//	stdin          the first line read from stdin
//
// Lines are read as openssl reads them: at most MaxPassLine bytes, the "\n"
// removed but a "\r" before it kept, and nothing after a NUL byte. From fd:
// and stdin it reads one byte at a time, so the rest of the stream stays
// unread, for data to follow the password on the same input.
//
// warn, if not nil, is told of a password that ends in "\r" (a file with
// Windows line ends) or was cut at MaxPassLine bytes; openssl does the same,
// silently. An empty password is an error, and errors never contain the
// password.
func ParsePass(spec string, stdin io.Reader, warn func(msg string)) ([]byte, error) {
	if warn == nil {
		warn = func(string) {}
	}
	var (
		pass []byte
		err  error
	)
	if arg, ok := strings.CutPrefix(spec, "pass:"); ok {
		pass = []byte(arg)
	} else if arg, ok := strings.CutPrefix(spec, "env:"); ok {
		v, set := os.LookupEnv(arg)
		if !set {
			return nil, fmt.Errorf("password source env:%s: environment variable not set", arg)
		}
		pass = []byte(v)
	} else if arg, ok := strings.CutPrefix(spec, "file:"); ok {
		pass, err = readPassFile(arg, warn)
	} else if arg, ok := strings.CutPrefix(spec, "fd:"); ok {
		fd, perr := strconv.Atoi(arg)
		if perr != nil || fd < 0 {
			return nil, ErrPassSpec
		}
		pass, err = readPassLine(fdReader(fd), spec, warn)
	} else if spec == "stdin" {
		pass, err = readPassLine(stdin, spec, warn)
	} else {
		return nil, ErrPassSpec
	}
	if err != nil {
		return nil, err
	}
	if len(pass) == 0 {
		return nil, fmt.Errorf("password from %s is empty", sourceName(spec))
	}
	return pass, nil
}

// sourceName is spec without the password of a pass: spec.
func sourceName(spec string) string {
	if strings.HasPrefix(spec, "pass:") {
		return "pass:"
	}
	return spec
}

func readPassFile(path string, warn func(string)) ([]byte, error) {
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

// readPassLine reads up to a newline one byte at a time.
func readPassLine(r io.Reader, source string, warn func(string)) ([]byte, error) {
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

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
)

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
// Lines are read as openssl reads them: at most osslenc.MaxPassLine bytes, the "\n"
// removed but a "\r" before it kept, and nothing after a NUL byte. From fd:
// and stdin it reads one byte at a time, so the rest of the stream stays
// unread, for data to follow the password on the same input.
//
// warn, if not nil, is told of a password that ends in "\r" (a file with
// Windows line ends) or was cut at osslenc.MaxPassLine bytes; openssl does the same,
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
		pass, err = osslenc.PassFile(arg, warn)
	} else if arg, ok := strings.CutPrefix(spec, "fd:"); ok {
		fd, perr := strconv.Atoi(arg)
		if perr != nil || fd < 0 {
			return nil, ErrPassSpec
		}
		pass, err = osslenc.PassLine(fdReader(fd), spec, warn)
	} else if spec == "stdin" {
		pass, err = osslenc.PassLine(stdin, spec, warn)
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

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
)

// kfileMax is how much of the first line openssl's -kfile reads (its
// buffer holds 128 bytes with the NUL).
const kfileMax = 127

type config struct {
	decrypt  bool
	in, out  string
	keyLen   int
	digest   string
	pbkdf2   bool
	iter     int
	nosalt   bool
	salt     string // hex, from -S
	key, iv  string // hex
	hasSalt  bool
	hasKey   bool
	hasIV    bool
	passFlag string // "pass", "k" or "kfile"
	passArg  string
	passArgs int // how many of -pass, -k and -kfile were given
	version  bool
}

// parseArgs parses the command line. Errors are usage errors.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{keyLen: 32, digest: "sha256"}
	fs := cli.NewFlagSet("osslenc", usage, stderr)

	// Boolean flags that set something when true, so that "-d=false" does
	// nothing rather than decrypt.
	boolFlag := func(name string, set func()) {
		fs.BoolFunc(name, "", func(v string) error {
			b, err := strconv.ParseBool(v)
			if b {
				set()
			}
			return err
		})
	}
	boolFlag("e", func() { cfg.decrypt = false })
	boolFlag("d", func() { cfg.decrypt = true })
	for _, name := range []string{"aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes128", "aes192", "aes256"} {
		n, _ := osslenc.ParseCipher(name)
		boolFlag(name, func() { cfg.keyLen = n })
	}
	fs.Func("cipher", "", func(v string) error {
		n, err := osslenc.ParseCipher(v)
		cfg.keyLen = n
		return err
	})
	fs.StringVar(&cfg.in, "in", "", "")
	fs.StringVar(&cfg.out, "out", "", "")
	for _, name := range []string{"pass", "k", "kfile"} {
		fs.Func(name, "", func(v string) error {
			cfg.passFlag, cfg.passArg = name, v
			cfg.passArgs++
			return nil
		})
	}
	fs.Func("md", "", func(v string) error {
		_, err := osslenc.ParseDigest(v)
		cfg.digest = v
		return err
	})
	boolFlag("pbkdf2", func() { cfg.pbkdf2 = true })
	fs.Func("iter", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("want a positive number")
		}
		cfg.iter = n
		return nil
	})
	boolFlag("salt", func() { cfg.nosalt = false })
	boolFlag("nosalt", func() { cfg.nosalt = true })
	fs.Func("S", "", func(v string) error { cfg.salt, cfg.hasSalt = v, true; return nil })
	fs.Func("K", "", func(v string) error { cfg.key, cfg.hasKey = v, true; return nil })
	fs.Func("iv", "", func(v string) error { cfg.iv, cfg.hasIV = v, true; return nil })
	fs.BoolVar(&cfg.version, "version", false, "")

	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	hint := func(err error) error { return cli.WithHint(err, "run 'osslenc -h' for usage") }
	if fs.NArg() > 0 {
		// The argument is not repeated: it may be a misplaced password.
		return nil, hint(cli.Usagef("unexpected argument after the options; osslenc reads stdin or -in FILE"))
	}
	if cfg.version {
		return cfg, nil
	}
	if cfg.passArgs > 1 {
		return nil, hint(cli.Usagef("more than one password given (-pass, -k, -kfile)"))
	}
	if cfg.passArgs == 0 && !cfg.hasKey {
		return nil, cli.WithHint(cli.Usagef("no password given"),
			"use -pass file:PATH (or env:VAR, fd:N, stdin), or -K and -iv for a raw key")
	}
	if cfg.passArgs == 0 && !cfg.hasIV {
		return nil, hint(cli.Usagef("-K needs -iv when there is no password"))
	}
	if cfg.nosalt && cfg.hasSalt {
		return nil, hint(cli.Usagef("-S and -nosalt contradict each other"))
	}
	return cfg, nil
}

// options reads the password and makes the Options. Errors in the
// arguments are usage errors; failures to read the password are not.
func (cfg *config) options(stdin io.Reader, warn func(string)) (osslenc.Options, error) {
	md, _ := osslenc.ParseDigest(cfg.digest)
	o := osslenc.Options{
		KeyLen: cfg.keyLen,
		Digest: md,
		PBKDF2: cfg.pbkdf2,
		Iter:   cfg.iter,
		NoSalt: cfg.nosalt,
	}
	var err error
	if cfg.hasKey {
		if o.Key, err = parseHex("-K", cfg.key, cfg.keyLen, warn); err != nil {
			return o, err
		}
	}
	if cfg.hasIV {
		if o.IV, err = parseHex("-iv", cfg.iv, 16, warn); err != nil {
			return o, err
		}
	}
	switch cfg.passFlag {
	case "pass":
		o.Password, err = ParsePass(cfg.passArg, stdin, warn)
		if errors.Is(err, ErrPassSpec) {
			return o, cli.WithHint(cli.Usage(err), "run 'osslenc -h' for usage")
		}
	case "kfile":
		o.Password, err = readKFile(cfg.passArg)
	case "k":
		o.Password, err = ParsePass("pass:"+cfg.passArg, nil, nil)
	}
	if err != nil {
		return o, err
	}
	if o.Password != nil && cfg.hasSalt {
		if o.Salt, err = parseHex("-S", cfg.salt, 8, warn); err != nil {
			return o, err
		}
	}
	return o, nil
}

// parseHex decodes a -K, -iv or -S value into size bytes the way openssl
// does: missing digits are zero, extra ones are ignored (with a warning),
// and an odd digit fills the high half of the last byte. The value is never
// repeated in messages, since -K is a secret.
func parseHex(name, s string, size int, warn func(string)) ([]byte, error) {
	if len(s) > 2*size {
		warn(fmt.Sprintf("%s is longer than %d bytes; ignoring the excess, as openssl does", name, size))
		s = s[:2*size]
	} else if len(s) < 2*size {
		warn(fmt.Sprintf("%s is shorter than %d bytes; padding with zero bytes, as openssl does", name, size))
	}
	b := make([]byte, size)
	for i := range len(s) {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return nil, cli.WithHint(cli.Usagef("%s: not a hex number", name), "run 'osslenc -h' for usage")
		}
		if i%2 == 0 {
			b[i/2] = v << 4
		} else {
			b[i/2] |= v
		}
	}
	return b, nil
}

// readKFile reads a password the way openssl's -kfile does: the first line,
// at most 127 bytes, without trailing "\r" and "\n". (openssl also rejects
// one-character passwords there, by an off-by-one; osslenc accepts them.)
func readKFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-kfile: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, kfileMax))
	if err != nil {
		return nil, fmt.Errorf("-kfile: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line, _, _ = strings.Cut(line, "\x00")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return nil, fmt.Errorf("-kfile %s: empty password", path)
	}
	return []byte(line), nil
}

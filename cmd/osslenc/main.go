// Command osslenc encrypts and decrypts streams in the file format of
// "openssl enc" with AES-CBC, byte for byte compatible with it.
//
// See "osslenc -h" for the options.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
	"github.com/philips-labs/iron-streaming-backup/internal/iox"
	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
)

const usage = `Usage: osslenc [-e | -d] [-aes-256-cbc | -aes-192-cbc | -aes-128-cbc] [options]

osslenc encrypts (-e, the default) or decrypts (-d) a stream in the file
format of "openssl enc": what it writes, openssl enc decrypts, and what openssl
enc wrote, it reads. It reads stdin and writes stdout unless -in and -out say
otherwise, and uses constant memory.

Options:
  -e                 Encrypt (the default).
  -d                 Decrypt.
  -in FILE           Read FILE instead of stdin.
  -out FILE          Write FILE instead of stdout, by way of a temporary
                     file beside it that replaces FILE only when the run
                     succeeds: a failed run leaves FILE as it was, or
                     creates none (what a failed run wrote to stdout stays
                     written).
  -aes-256-cbc, -aes-192-cbc, -aes-128-cbc
                     The cipher; aes-256-cbc is the default. -aes256, -aes192
                     and -aes128 are the same.
  -cipher NAME       The cipher by name, such as aes-128-cbc.
  -pass SPEC         Where the password comes from, as in openssl:
                       pass:PASSWORD  the password itself
                       env:VAR        the environment variable VAR
                       file:PATH      the first line of the file PATH
                       fd:N           the first line read from descriptor N
                       stdin          the first line of stdin (data follows)
                     A line ends at "\n", which is not part of the password,
                     and is cut at 1023 bytes; a "\r" before the "\n" is kept.
  -k PASSWORD        The password itself, as -pass pass:PASSWORD.
  -kfile FILE        The first line of FILE, at most 127 bytes, without
                     trailing "\r" and "\n", as openssl's -kfile.
  -md DIGEST         The digest of the key derivation: sha256 (the default,
                     as in OpenSSL 1.1.0 and later), md5 (OpenSSL 1.0 and
                     earlier), sha1, sha224, sha384 or sha512.
  -pbkdf2            Derive the key with PBKDF2, 10000 iterations unless -iter
                     says otherwise, instead of one round of EVP_BytesToKey.
  -iter N            Derive the key with PBKDF2 and N iterations.
  -salt              Derive with a random salt, stored in a "Salted__" header
                     at the start of the output (the default).
  -nosalt            Derive without salt; there is no header.
  -S HEX             Derive with this 8-byte salt. As OpenSSL 3 does, the
                     header is then neither written nor read.
  -K HEX             The raw key, in hex. With a password, it replaces the
                     derived key; the header is still written and read.
  -iv HEX            The raw IV, in hex; needed with -K when there is no
                     password.
  -version           Print the version and exit.
  -h                 Print this help and exit.

Flags take one dash or two. Too short -K, -iv and -S values are padded with
zero bytes, too long ones cut, as openssl does, with a warning. With -k and
-pass pass: the password shows in the process list; prefer file:, env: or fd:.

CBC has no integrity protection. A wrong password, or corrupt or truncated
input, is found by the padding check on the last block ("bad decrypt"), but
not always: about 1 wrong password in 256 passes the check and decrypts to
garbage, and corruption before the last block is not noticed at all. The
SHA-256 checksum stored with each backup is the real integrity check.

Examples:
  Back up, compress and encrypt, and restore:
    pg_dump db | gzip | osslenc -e -pass file:key > db.gz.aes
    osslenc -d -pass file:key -in db.gz.aes | gzip -d | psql db
  The same file restores with stock openssl:
    openssl enc -d -aes-256-cbc -pass file:key -in db.gz.aes | gzip -d | psql db
  Read a file from OpenSSL 1.0, or made with PBKDF2:
    osslenc -d -md md5 -pass env:PASS -in old.aes -out old
    osslenc -d -pbkdf2 -iter 100000 -pass fd:3 -in new.aes 3<key

Exit status:
  0  success
  1  failure, such as a bad decrypt or an unreadable file
  2  usage error; nothing was done
`

// Errors may repeat an argument (a file name, a password source); they
// show it escaped.
func main() { cli.Main("osslenc", cli.WithScrubbedArgs(run)) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	warn := func(msg string) { fmt.Fprintf(stderr, "osslenc: warning: %s\n", msg) }
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintf(stdout, "osslenc %s\n", cli.Version())
		return nil
	}
	opts, err := cfg.options(stdin, warn)
	if err != nil {
		return err
	}

	var in io.Reader = stdin
	if cfg.in != "" && cfg.in != "-" {
		f, err := os.Open(cfg.in)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	out := newOutput(cfg.out, stdout)

	done := make(chan error, 1)
	go func() {
		if cfg.decrypt {
			done <- decrypt(out, in, opts)
		} else {
			done <- encrypt(out, in, opts)
		}
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
	}
	if err == nil && ctx.Err() != nil {
		// Also after a clean end of input: an interrupt often closes the
		// producer of stdin first, so the input may be incomplete.
		err = errors.New("interrupted")
	}
	if err == nil {
		if err = out.Commit(); err != nil {
			err = fmt.Errorf("writing output: %w", err)
		}
	}
	if err != nil {
		out.Abort()
		return err
	}
	return nil
}

func encrypt(out io.Writer, in io.Reader, opts osslenc.Options) error {
	w, err := osslenc.NewWriter(&outputWriter{out}, opts)
	if err != nil {
		return err
	}
	// Read the next chunk while the current one is encrypted: on two
	// cores reading then costs no time.
	if _, err := iox.CopyAhead(w, &inputReader{in}, 256<<10, 2, nil); err != nil {
		return err
	}
	return w.Close()
}

func decrypt(out io.Writer, in io.Reader, opts osslenc.Options) error {
	r, err := osslenc.NewReader(&inputReader{in}, opts)
	if err != nil {
		return decryptError(err)
	}
	if _, err := r.WriteTo(&outputWriter{out}); err != nil {
		return decryptError(err)
	}
	return nil
}

func decryptError(err error) error {
	switch {
	case errors.Is(err, osslenc.ErrBadDecrypt):
		return cli.WithHint(err, "with the right password, the file may need other options: -md md5 "+
			"(files from OpenSSL 1.0), -pbkdf2 or -iter N, or another cipher")
	case errors.Is(err, osslenc.ErrBadMagic):
		return cli.WithHint(err, "files made with -nosalt or -S, or with -K and no password, have no header: decrypt with the same options")
	}
	return err
}

// inputReader and outputWriter say in errors which side failed.
type inputReader struct{ r io.Reader }

func (r *inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading input: %w", err)
	}
	return n, err
}

type outputWriter struct{ w io.Writer }

func (w *outputWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = fmt.Errorf("writing output: %w", err)
	}
	return n, err
}

package osslenc_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/osslenc"
)

// Encrypt a stream the way "openssl enc -aes-256-cbc -pass file:KEY" does,
// and decrypt it again.
func Example() {
	// The first line of a key file, as openssl's -pass file: reads it.
	pass, err := osslenc.PassLine(strings.NewReader("correct horse\n"), "a key file", nil)
	if err != nil {
		log.Fatal(err)
	}
	opts := osslenc.Options{Password: pass}

	var file bytes.Buffer
	w, err := osslenc.NewWriter(&file, opts)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader("pg_dump output\n")); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil { // writes the last block; file stays open
		log.Fatal(err)
	}
	fmt.Printf("%q, %d bytes\n", file.Bytes()[:8], file.Len())

	r, err := osslenc.NewReader(&file, opts)
	if err != nil {
		log.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", plain)
	// Output:
	// "Salted__", 32 bytes
	// pg_dump output
}

// Files from OpenSSL 1.0 used MD5 for the key derivation.
func ExampleParseDigest() {
	md, err := osslenc.ParseDigest("md5")
	if err != nil {
		log.Fatal(err)
	}
	opts := osslenc.Options{Password: []byte("pw"), Digest: md}
	fmt.Println(opts.Digest)
	// Output: MD5
}

package osslenc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

var (
	testSalt = []byte("saltsalt")
	testOpts = []struct {
		name string
		o    Options
	}{
		{"salted", Options{Password: []byte("pw")}},
		{"nosalt-128", Options{KeyLen: 16, Password: []byte("pw"), NoSalt: true}},
		{"raw-192", Options{KeyLen: 24, Key: make([]byte, 24), IV: make([]byte, 16)}},
	}
)

// testSizes are the plaintext lengths of the stream tests: around the block
// size and around the (small) chunk size of 64 bytes, and larger.
var testSizes = []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 79, 80, 81, 127, 128, 129, 1000, 4096, 4097}

var testSteps = []int{1, 7, 15, 16, 17, 64, 100, 1 << 20}

// writeSteps encrypts plain, written step bytes at a time, or with io.Copy
// (which uses ReadFrom) when step is 0.
func writeSteps(t testing.TB, o Options, plain []byte, step int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if step == 0 {
		if _, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(plain))); err != nil {
			t.Fatal(err)
		}
	} else {
		for p := plain; len(p) > 0; {
			n := min(step, len(p))
			if m, err := w.Write(p[:n]); err != nil || m != n {
				t.Fatalf("Write = %d, %v; want %d", m, err, n)
			}
			p = p[n:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readSteps decrypts ct with reads of step bytes, or with io.Copy (which uses
// WriteTo) when step is 0.
func readSteps(o Options, ct []byte, step int) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(ct), o)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if step == 0 {
		_, err = io.Copy(&out, r)
		return out.Bytes(), err
	}
	p := make([]byte, step)
	for {
		n, err := r.Read(p)
		out.Write(p[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, chunk := range []int{32, 64, 256 << 10} {
		withChunkSize(t, chunk)
		for _, tc := range testOpts {
			for _, size := range testSizes {
				t.Run(fmt.Sprintf("chunk=%d/%s/%d", chunk, tc.name, size), func(t *testing.T) {
					plain := randBytes(rng, size)
					withSalt(t, testSalt)
					want := refEncrypt(t, tc.o, testSalt, plain)
					for _, step := range append(testSteps, 0) {
						withSalt(t, testSalt)
						ct := writeSteps(t, tc.o, plain, step)
						if !bytes.Equal(ct, want) {
							t.Fatalf("write step %d: ciphertext differs from crypto/cipher's", step)
						}
					}
					for _, step := range append(testSteps, 0) {
						got, err := readSteps(tc.o, want, step)
						if err != nil || !bytes.Equal(got, plain) {
							t.Fatalf("read step %d: %v, plaintext equal: %v", step, err, bytes.Equal(got, plain))
						}
					}
				})
			}
		}
	}
}

func TestIotest(t *testing.T) {
	withChunkSize(t, 64)
	o := Options{Password: []byte("pw")}
	for _, size := range []int{0, 1, 16, 17, 100, 1000} {
		plain := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), size/36+1)[:size]
		ct := refEncrypt(t, Options{Password: []byte("pw"), Salt: testSalt}, nil, plain)
		ct = append(append([]byte(Magic), testSalt...), ct...)
		wraps := map[string]func(io.Reader) io.Reader{
			"OneByteReader": iotest.OneByteReader,
			"HalfReader":    iotest.HalfReader,
			"DataErrReader": iotest.DataErrReader,
		}
		for name, wrap := range wraps {
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				r, err := NewReader(wrap(bytes.NewReader(ct)), o)
				if err != nil {
					t.Fatal(err)
				}
				if err := iotest.TestReader(r, plain); err != nil {
					t.Fatal(err)
				}
			})
		}
		t.Run(fmt.Sprintf("Writer/%d", size), func(t *testing.T) {
			withSalt(t, testSalt)
			var buf bytes.Buffer
			w, err := NewWriter(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, iotest.OneByteReader(iotest.DataErrReader(bytes.NewReader(plain)))); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), ct) {
				t.Fatal("ciphertext differs")
			}
		})
	}
}

// TestBadDecrypt checks that a wrong key, a flipped bit in the last block and
// truncation all give ErrBadDecrypt, after exactly the plaintext of all but
// the last complete block, whatever the read size.
func TestBadDecrypt(t *testing.T) {
	withChunkSize(t, 64)
	o := Options{Key: bytes.Repeat([]byte{7}, 32), IV: make([]byte, 16)}
	wrong := o
	wrong.Key = bytes.Repeat([]byte{8}, 32)
	plain := bytes.Repeat([]byte("x"), 200)
	ct := refEncrypt(t, o, nil, plain) // 208 bytes
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name    string
		o       Options
		ct      []byte
		wantLen int
	}{
		{"flipped last byte", o, flipped, 192},
		{"truncated by one byte", o, ct[:len(ct)-1], 192 - 16},
		{"truncated by a block", o, ct[:len(ct)-16], -1}, // padding almost surely wrong
		{"one partial block", o, ct[:15], 0},
		{"empty", o, nil, 0},
		{"wrong key", wrong, ct, -1},
	} {
		for _, step := range []int{0, 1, 16, 1000} {
			t.Run(fmt.Sprintf("%s/step=%d", tc.name, step), func(t *testing.T) {
				got, err := readSteps(tc.o, tc.ct, step)
				if !errors.Is(err, ErrBadDecrypt) {
					t.Fatalf("err = %v, want ErrBadDecrypt", err)
				}
				want := max(len(tc.ct)&^15-16, 0)
				if tc.wantLen >= 0 && want != tc.wantLen {
					t.Fatalf("test wants %d bytes, rule gives %d", tc.wantLen, want)
				}
				if len(got) != want {
					t.Fatalf("got %d bytes of output, want %d", len(got), want)
				}
			})
		}
	}
}

func TestUnpad(t *testing.T) {
	for p := range 256 {
		b := bytes.Repeat([]byte{byte(p)}, 16)
		n, ok := unpad(b)
		if want := p >= 1 && p <= 16; ok != want || (ok && n != p) {
			t.Errorf("pad %d: got %d, %v", p, n, ok)
		}
		if p >= 2 && p <= 16 {
			b[16-p] ^= 0x80
			if _, ok := unpad(b); ok {
				t.Errorf("pad %d with a wrong byte accepted", p)
			}
		}
	}
}

type errWriter struct {
	n      int // bytes accepted before failing
	closed bool
}

var errWrite = errors.New("write failed")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func (w *errWriter) Close() error { w.closed = true; return nil }

func TestWriterErrorsSticky(t *testing.T) {
	withChunkSize(t, 64)
	ew := &errWriter{n: 64}
	w, err := NewWriter(ew, Options{Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 100)); err != nil {
		t.Fatal(err) // the first chunk fits
	}
	if _, err := w.Write(make([]byte, 100)); !errors.Is(err, errWrite) {
		t.Fatalf("second Write: %v", err)
	}
	ew.n = 1 << 20 // the writer would work again; the error stays
	if _, err := w.Write([]byte("x")); !errors.Is(err, errWrite) {
		t.Fatalf("third Write: %v", err)
	}
	if _, err := w.ReadFrom(bytes.NewReader([]byte("x"))); !errors.Is(err, errWrite) {
		t.Fatalf("ReadFrom: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errWrite) {
		t.Fatalf("Close: %v", err)
	}
}

func TestWriterCloseKeepsUnderlyingOpen(t *testing.T) {
	ew := &errWriter{n: 1 << 20}
	w, err := NewWriter(ew, Options{Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ew.closed {
		t.Error("Close closed the underlying writer")
	}
	if got := 1<<20 - ew.n; got != 32 {
		t.Errorf("wrote %d bytes for empty input, want header and one block (32)", got)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close: no error")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close: no error")
	}
}

func TestWriterWritesNothingBeforeChunk(t *testing.T) {
	ew := &errWriter{n: 0} // fails on any non-empty write
	w, err := NewWriter(ew, Options{Password: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1000)); err != nil {
		t.Fatalf("Write reached the underlying writer: %v", err)
	}
}

func TestReaderErrorsSticky(t *testing.T) {
	withChunkSize(t, 64)
	errRead := errors.New("read failed")
	o := Options{Key: make([]byte, 32), IV: make([]byte, 16)}
	ct := refEncrypt(t, o, nil, make([]byte, 500))
	r, err := NewReader(io.MultiReader(bytes.NewReader(ct[:200]), iotest.ErrReader(errRead)), o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, errRead) {
		t.Fatalf("ReadAll: %v", err)
	}
	if len(got) > 200-16 {
		t.Fatalf("got %d bytes, more than the complete blocks before the error", len(got))
	}
	for range 3 {
		if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, errRead) {
			t.Fatalf("Read after error = %d, %v", n, err)
		}
	}
	if _, err := r.WriteTo(io.Discard); !errors.Is(err, errRead) {
		t.Fatalf("WriteTo after error: %v", err)
	}

	r, _ = NewReader(bytes.NewReader(ct[:100]), o)
	if _, err := io.ReadAll(r); !errors.Is(err, ErrBadDecrypt) {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, ErrBadDecrypt) {
		t.Fatalf("Read after ErrBadDecrypt: %v", err)
	}
}

func TestReaderWriteToShortWrite(t *testing.T) {
	o := Options{Key: make([]byte, 32), IV: make([]byte, 16)}
	ct := refEncrypt(t, o, nil, make([]byte, 100))
	r, _ := NewReader(bytes.NewReader(ct), o)
	if _, err := r.WriteTo(&errWriter{n: 10}); !errors.Is(err, errWrite) {
		t.Fatalf("WriteTo: %v", err)
	}
}

// TestHeaderReadError passes a read error while reading the header through.
func TestHeaderReadError(t *testing.T) {
	errRead := errors.New("read failed")
	_, err := NewReader(io.MultiReader(bytes.NewReader([]byte("Salted")), iotest.ErrReader(errRead)), Options{Password: []byte("pw")})
	if !errors.Is(err, errRead) {
		t.Fatalf("got %v", err)
	}
}

// TestNoSecretsInErrors runs the failure paths of the streams with a
// password and checks that it appears in no error.
func TestNoSecretsInErrors(t *testing.T) {
	const secret = "Sup3rS3cret"
	o := Options{Password: []byte(secret)}
	var errs []error
	_, err := NewReader(strings.NewReader("garbage garbage garbage"), o)
	errs = append(errs, err)
	r, _ := NewReader(bytes.NewReader(append([]byte("Salted__12345678"), make([]byte, 32)...)), o)
	_, err = io.ReadAll(r)
	errs = append(errs, err)
	_, err = NewWriter(io.Discard, Options{Password: []byte(secret), KeyLen: 7})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the password", err)
		}
	}
}

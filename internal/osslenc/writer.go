package osslenc

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
)

// chunkSize is how much the Writer and Reader encrypt or decrypt at once. It
// is a multiple of the block size; tests make it small to reach the
// boundaries.
var chunkSize = 256 << 10

// randReader is the source of salts; tests replace it.
var randReader = rand.Reader

// Writer encrypts to an underlying writer. It is made by NewWriter.
type Writer struct {
	w    io.Writer
	mode cipher.BlockMode
	buf  []byte // header and ciphertext in buf[:enc], plaintext in buf[enc:n]
	enc  int
	n    int
	err  error
}

// NewWriter returns a Writer that encrypts what is written to it and writes
// the result, in the format of "openssl enc -e", to w. The derivation of
// the key and IV (PBKDF2 can take a moment) happens here; nothing reaches w
// before the first chunk of ciphertext is ready, or Close.
//
// Close writes the final padded block and flushes; it does not close w. The
// output is complete only after Close returned nil. After an error every
// further call returns that error.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	o, err := opts.check()
	if err != nil {
		return nil, err
	}
	salt := o.Salt
	if o.headerIO() {
		salt = make([]byte, saltLen)
		if _, err := io.ReadFull(randReader, salt); err != nil {
			return nil, fmt.Errorf("osslenc: salt: %w", err)
		}
	} else if o.NoSalt {
		salt = nil
	}
	key, iv, err := o.keyIV(salt)
	if err != nil {
		return nil, err
	}
	ew := &Writer{w: w, mode: newCBC(key, iv, false), buf: make([]byte, chunkSize)}
	if o.headerIO() {
		ew.n = copy(ew.buf, Magic)
		ew.n += copy(ew.buf[ew.n:], salt)
		ew.enc = ew.n
	}
	return ew, nil
}

// Write encrypts p. It buffers up to one chunk and less than a block of
// plaintext.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	total := len(p)
	for len(p) > 0 {
		if w.n == w.enc && len(p) >= blockSize {
			// Encrypt straight from p into the buffer, saving a copy.
			k := min(len(p)&^(blockSize-1), len(w.buf)-w.n)
			w.mode.CryptBlocks(w.buf[w.n:w.n+k], p[:k])
			w.n += k
			w.enc = w.n
			p = p[k:]
		} else {
			c := copy(w.buf[w.n:], p)
			w.n += c
			p = p[c:]
			w.encryptBuffered()
		}
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// ReadFrom encrypts everything r yields until io.EOF, reading straight into
// the Writer's buffer. io.Copy uses it.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	var total int64
	for {
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return total, err
			}
		}
		m, err := r.Read(w.buf[w.n:])
		if m < 0 || m > len(w.buf)-w.n {
			return total, fmt.Errorf("osslenc: reader returned invalid count %d", m)
		}
		w.n += m
		total += int64(m)
		w.encryptBuffered()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err // not sticky: the input failed, not the Writer
		}
	}
}

// encryptBuffered encrypts the complete blocks of buffered plaintext in place.
func (w *Writer) encryptBuffered() {
	k := (w.n - w.enc) &^ (blockSize - 1)
	if k > 0 {
		w.mode.CryptBlocks(w.buf[w.enc:w.enc+k], w.buf[w.enc:w.enc+k])
		w.enc += k
	}
}

// flush writes the ciphertext in the buffer and keeps the plaintext.
func (w *Writer) flush() error {
	if w.enc > 0 {
		if _, err := w.w.Write(w.buf[:w.enc]); err != nil {
			w.err = err
			return err
		}
		w.n = copy(w.buf, w.buf[w.enc:w.n])
		w.enc = 0
	}
	return nil
}

// Close pads and encrypts the last block and writes all remaining output.
// It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf)-w.n < blockSize {
		if err := w.flush(); err != nil {
			return err
		}
	}
	// PKCS#7: pad with p bytes of value p, a whole block when none is needed.
	p := blockSize - (w.n-w.enc)%blockSize
	for i := range p {
		w.buf[w.n+i] = byte(p)
	}
	w.n += p
	w.encryptBuffered()
	if err := w.flush(); err != nil {
		return err
	}
	w.err = errClosed
	return nil
}

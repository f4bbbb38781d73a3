package osslenc

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"io"
)

// Reader decrypts from an underlying reader. It is made by NewReader.
//
// The last ciphertext block is held back until the end of the input shows
// whether its padding is valid. When it is not, or the input is truncated,
// Read returns ErrBadDecrypt after all the plaintext but the last block.
type Reader struct {
	r    io.Reader
	mode cipher.BlockMode
	buf  []byte
	pos  int // plaintext ready in buf[pos:end]
	end  int
	tail int // ciphertext not yet decrypted in buf[tail:n]
	n    int
	err  error // returned once buf[pos:end] is consumed
}

// NewReader returns a Reader that decrypts r, which is in the format of
// "openssl enc -e". With a password and salt it reads the "Salted__" header
// here, and returns ErrBadMagic if there is none, then derives the key.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	o, err := opts.check()
	if err != nil {
		return nil, err
	}
	salt := o.Salt
	if o.headerIO() {
		var h [headerLen]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				return nil, err
			}
			return nil, ErrBadMagic
		}
		if salt, err = parseHeader(h[:]); err != nil {
			return nil, err
		}
	} else if o.NoSalt {
		salt = nil
	}
	key, iv, err := o.keyIV(salt)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, mode: newCBC(key, iv, true), buf: make([]byte, chunkSize)}, nil
}

// Read reads decrypted data.
func (r *Reader) Read(p []byte) (int, error) {
	for r.pos == r.end {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.buf[r.pos:r.end])
	r.pos += n
	return n, nil
}

// WriteTo writes all decrypted data to w straight from the Reader's buffer.
// io.Copy uses it. It returns nil at the end of a correct input.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.pos < r.end {
			m, err := w.Write(r.buf[r.pos:r.end])
			r.pos += m
			total += int64(m)
			if err != nil {
				return total, err
			}
			if r.pos < r.end {
				return total, io.ErrShortWrite
			}
		}
		if r.err != nil {
			if r.err == io.EOF {
				return total, nil
			}
			return total, r.err
		}
		r.fill()
	}
}

// fill reads more ciphertext and decrypts all of it except the last complete
// block and any incomplete one. At the end of the input it checks and
// removes the padding.
func (r *Reader) fill() {
	r.n = copy(r.buf, r.buf[r.tail:r.n])
	r.pos, r.end, r.tail = 0, 0, 0
	var eof bool
	for r.n < 2*blockSize && !eof {
		m, err := r.r.Read(r.buf[r.n:])
		if m < 0 || m > len(r.buf)-r.n {
			r.err = fmt.Errorf("osslenc: reader returned invalid count %d", m)
			return
		}
		r.n += m
		if err == io.EOF {
			eof = true
		} else if err != nil {
			r.err = err
			return
		}
	}
	if !eof {
		// Hold back the last complete block: it may be the padded one.
		k := r.n&^(blockSize-1) - blockSize
		r.decrypt(k)
		return
	}
	whole := r.n &^ (blockSize - 1)
	if r.n == 0 || r.n != whole {
		r.decrypt(max(whole-blockSize, 0))
		r.err = ErrBadDecrypt
		return
	}
	r.decrypt(r.n)
	pad, ok := unpad(r.buf[r.n-blockSize : r.n])
	if !ok {
		r.end -= blockSize
		r.err = ErrBadDecrypt
		return
	}
	r.end -= pad
	r.err = io.EOF
}

// decrypt decrypts buf[:k] in place and makes it the ready plaintext.
func (r *Reader) decrypt(k int) {
	if k > 0 {
		r.mode.CryptBlocks(r.buf[:k], r.buf[:k])
	}
	r.end, r.tail = k, k
}

// unpad checks the PKCS#7 padding of the last plaintext block and returns
// its length. It runs in constant time, as padding checks should.
func unpad(b []byte) (int, bool) {
	p := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, len(b))
	for i, c := range b {
		inPad := subtle.ConstantTimeLessOrEq(len(b)-p, i)
		good &= (1 - inPad) | subtle.ConstantTimeByteEq(c, byte(p))
	}
	return p, good == 1
}

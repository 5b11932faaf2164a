package keys

// Sealed streams: the encrypted, authenticated container of backups.
//
// A stream is a fixed header followed by frames. Each frame is a 4-byte
// big-endian word (top bit: final frame; the rest: ciphertext length) and
// the ciphertext of at most StreamChunk plaintext bytes, sealed with
// XChaCha20-Poly1305 under a nonce made of the header's random 15-byte
// prefix, the final flag and the frame counter, with the whole header as
// additional data (the STREAM construction). So a reordered, cut, altered
// or re-headed stream fails to open, and only a stream whose last frame is
// flagged final reads to the end: truncation at a frame boundary is caught
// too.
//
// The key comes from the store key (HKDF, for backups that stay with their
// installation) or from a passphrase (argon2id, with its parameters in the
// header, for backups that travel or carry the keys themselves). A key
// check in the header tells a wrong key apart from a damaged file.

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// StreamChunk is the plaintext size of every frame but the last.
const StreamChunk = 64 << 10

// Stream key kinds (StreamHeader.KDF).
const (
	// KDFStoreKey: the key is derived from the store key (Ring.StreamKey).
	KDFStoreKey uint8 = 1
	// KDFPassphrase: the key is argon2id of a passphrase (PassphraseKey).
	KDFPassphrase uint8 = 2
)

// Errors of sealed streams. Their text is safe to show to the operator.
var (
	ErrNotStream     = errors.New("not a tropa backup file (its first bytes are not a tropa header)")
	ErrStreamVersion = errors.New("this backup was written by a newer tropa (unknown format version): upgrade tropa to read it")
	ErrWrongKey      = errors.New("wrong key: this backup was made with another passphrase or another installation's store key (or its header was altered)")
	ErrDamaged       = errors.New("the backup is damaged or was tampered with: a part of it fails authentication")
	ErrTruncated     = errors.New("the backup is truncated: its end is missing")
)

var streamMagic = [8]byte{'T', 'R', 'O', 'P', 'A', 'B', 'K', 0}

const (
	streamVersion = 1
	headerSize    = 8 + 1 + 1 + 1 + 4 + 4 + 1 + 16 + 15 + 16 // 67
	finalBit      = 1 << 31
)

// StreamHeader describes a sealed stream.
type StreamHeader struct {
	KDF uint8
	// Flags are the caller's (backups: bit 0, keys included).
	Flags uint8
	// Argon2id parameters and salt (the salt is the HKDF salt for
	// KDFStoreKey).
	Time, MemoryKiB uint32
	Threads         uint8
	Salt            [16]byte

	nonce [15]byte
	check [16]byte
}

// NewStreamHeader returns a header with fresh random salt and nonce, and
// the argon2id parameters tropa uses for passphrases.
func NewStreamHeader(kdf, flags uint8) (StreamHeader, error) {
	h := StreamHeader{KDF: kdf, Flags: flags}
	if kdf == KDFPassphrase {
		h.Time, h.MemoryKiB, h.Threads = kdfTime, kdfMemory, kdfThreads
	}
	if _, err := io.ReadFull(rand.Reader, h.Salt[:]); err != nil {
		return h, err
	}
	if _, err := io.ReadFull(rand.Reader, h.nonce[:]); err != nil {
		return h, err
	}
	return h, nil
}

// StreamKey derives the key of a KDFStoreKey stream from the store key.
func (r *Ring) StreamKey(h StreamHeader) [32]byte {
	var k [32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, r.master[:], h.Salt[:], []byte("tropa backup stream v1")), k[:]); err != nil {
		panic(err)
	}
	return k
}

// PassphraseKey derives the key of a KDFPassphrase stream. It refuses
// parameters no tropa writes, so a forged header cannot make it allocate
// gigabytes.
func PassphraseKey(passphrase []byte, h StreamHeader) ([32]byte, error) {
	var k [32]byte
	if h.Time == 0 || h.Time > 100 || h.MemoryKiB < 8 || h.MemoryKiB > 4<<20 || h.Threads == 0 {
		return k, ErrNotStream
	}
	copy(k[:], argon2.IDKey(passphrase, h.Salt[:], h.Time, h.MemoryKiB, h.Threads, 32))
	return k, nil
}

func (h *StreamHeader) marshal() []byte {
	b := make([]byte, 0, headerSize)
	b = append(b, streamMagic[:]...)
	b = append(b, streamVersion, h.KDF, h.Flags)
	b = binary.BigEndian.AppendUint32(b, h.Time)
	b = binary.BigEndian.AppendUint32(b, h.MemoryKiB)
	b = append(b, h.Threads)
	b = append(b, h.Salt[:]...)
	b = append(b, h.nonce[:]...)
	return append(b, h.check[:]...)
}

func keyCheck(key [32]byte, headerWithoutCheck []byte) [16]byte {
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("tropa backup key check v1\x00"))
	m.Write(headerWithoutCheck)
	var c [16]byte
	copy(c[:], m.Sum(nil))
	return c
}

// ReadStreamHeader reads a stream's header, to learn which key opens it.
func ReadStreamHeader(r io.Reader) (StreamHeader, error) {
	var b [headerSize]byte
	var h StreamHeader
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return h, ErrNotStream
		}
		return h, err
	}
	if !bytes.Equal(b[:8], streamMagic[:]) {
		return h, ErrNotStream
	}
	if b[8] != streamVersion {
		return h, ErrStreamVersion
	}
	h.KDF, h.Flags = b[9], b[10]
	if h.KDF != KDFStoreKey && h.KDF != KDFPassphrase {
		return h, ErrStreamVersion
	}
	h.Time = binary.BigEndian.Uint32(b[11:])
	h.MemoryKiB = binary.BigEndian.Uint32(b[15:])
	h.Threads = b[19]
	copy(h.Salt[:], b[20:36])
	copy(h.nonce[:], b[36:51])
	copy(h.check[:], b[51:67])
	return h, nil
}

func streamNonce(h *StreamHeader, counter uint64, final bool) []byte {
	n := make([]byte, 0, chacha20poly1305.NonceSizeX)
	n = append(n, h.nonce[:]...)
	if final {
		n = append(n, 1)
	} else {
		n = append(n, 0)
	}
	return binary.BigEndian.AppendUint64(n, counter)
}

// SealWriter encrypts a stream. Close writes the final frame; a stream
// whose writer was not closed reads as truncated.
type SealWriter struct {
	w       io.Writer
	h       StreamHeader
	aad     []byte
	aead    cipher.AEAD
	buf     []byte
	out     []byte
	counter uint64
	closed  bool
	err     error
}

// NewSealWriter writes h (completed with the key check) to w and returns
// a writer that seals what is written to it under key.
func NewSealWriter(w io.Writer, key [32]byte, h StreamHeader) (*SealWriter, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	hb := h.marshal()
	h.check = keyCheck(key, hb[:headerSize-16])
	hb = h.marshal()
	if _, err := w.Write(hb); err != nil {
		return nil, err
	}
	return &SealWriter{w: w, h: h, aad: hb, aead: aead, buf: make([]byte, 0, StreamChunk),
		out: make([]byte, 0, 4+StreamChunk+chacha20poly1305.Overhead)}, nil
}

func (s *SealWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("keys: write to a closed stream")
	}
	n := 0
	for len(p) > 0 {
		// A full buffer is sealed only when more data follows, so the
		// final frame is never empty unless the whole stream is.
		if len(s.buf) == StreamChunk {
			if err := s.frame(false); err != nil {
				return n, err
			}
		}
		c := copy(s.buf[len(s.buf):StreamChunk], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (s *SealWriter) frame(final bool) error {
	ct := s.aead.Seal(s.out[4:4], streamNonce(&s.h, s.counter, final), s.buf, s.aad)
	word := uint32(len(ct))
	if final {
		word |= finalBit
	}
	binary.BigEndian.PutUint32(s.out[:4], word)
	if _, err := s.w.Write(s.out[:4+len(ct)]); err != nil {
		s.err = err
		return err
	}
	s.counter++
	s.buf = s.buf[:0]
	return nil
}

// Close seals the final frame. It does not close the underlying writer.
func (s *SealWriter) Close() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return nil
	}
	s.closed = true
	return s.frame(true)
}

// OpenReader decrypts a sealed stream, frame by frame: every byte it
// returns has been authenticated, and it returns io.EOF only after the
// final frame. Its errors are ErrDamaged, ErrTruncated or the reader's.
type OpenReader struct {
	r       io.Reader
	h       StreamHeader
	aad     []byte
	aead    cipher.AEAD
	in      []byte
	plain   []byte
	pos     int
	counter uint64
	done    bool
	err     error
}

// NewOpenReader checks key against h and returns a reader of the stream
// that follows the header in r (r positioned just after the header).
func NewOpenReader(r io.Reader, key [32]byte, h StreamHeader) (*OpenReader, error) {
	hb := h.marshal()
	want := keyCheck(key, hb[:headerSize-16])
	if !hmac.Equal(want[:], h.check[:]) {
		return nil, ErrWrongKey
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	return &OpenReader{r: r, h: h, aad: hb, aead: aead, in: make([]byte, StreamChunk+chacha20poly1305.Overhead)}, nil
}

func (o *OpenReader) Read(p []byte) (int, error) {
	for o.pos == len(o.plain) {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.plain[o.pos:])
	o.pos += n
	return n, nil
}

func (o *OpenReader) next() error {
	var word [4]byte
	if _, err := io.ReadFull(o.r, word[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return err
	}
	w := binary.BigEndian.Uint32(word[:])
	final := w&finalBit != 0
	n := int(w &^ finalBit)
	if n < chacha20poly1305.Overhead || n > len(o.in) {
		return ErrDamaged
	}
	if _, err := io.ReadFull(o.r, o.in[:n]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return err
	}
	plain, err := o.aead.Open(o.plain[:0], streamNonce(&o.h, o.counter, final), o.in[:n], o.aad)
	if err != nil {
		return ErrDamaged
	}
	if !final && len(plain) != StreamChunk {
		return ErrDamaged
	}
	o.plain, o.pos = plain, 0
	o.counter++
	if final {
		// Nothing may follow the final frame.
		var one [1]byte
		if k, err := io.ReadFull(o.r, one[:]); k > 0 {
			return fmt.Errorf("%w (data after its end)", ErrDamaged)
		} else if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		o.done = true
	}
	return nil
}

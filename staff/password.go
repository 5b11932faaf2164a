package staff

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Password limits, in runes.
const (
	PasswordMin = 12
	PasswordMax = 256
)

// Params are the Argon2id parameters for password hashes. Every hash
// carries its own, so they can be raised later: old hashes are verified
// with theirs and replaced at the next successful login.
type Params struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams: 64 MiB, 3 passes, 2 lanes. Staff log in rarely, so a login
// may cost more than a receipt lookup (forum.DefaultKDF is 32 MiB); with
// two hashes in flight (the default concurrency) they hold 128 MiB at most.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 << 10, Threads: 2}

const (
	saltLen = 16
	hashLen = 32
	// Bounds on a stored hash's parameters: a damaged record must not make
	// one login take a minute or all the memory.
	maxTime      = 64
	maxMemoryKiB = 1 << 20 // 1 GiB
)

// below reports whether p is weaker than want, so a hash made with p
// should be replaced by one made with want.
func (p Params) below(want Params) bool {
	return p.Time < want.Time || p.MemoryKiB < want.MemoryKiB
}

// phc is a parsed PHC string.
type phc struct {
	p    Params
	salt []byte
	hash []byte
}

var b64 = base64.RawStdEncoding

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.p.MemoryKiB, h.p.Time, h.p.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.hash))
}

var errBadHash = errors.New("staff: bad password hash record")

func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errBadHash
	}
	var h phc
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return phc{}, errBadHash
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return phc{}, errBadHash
		}
		switch name {
		case "m":
			h.p.MemoryKiB = uint32(n)
			seen |= 1
		case "t":
			h.p.Time = uint32(n)
			seen |= 2
		case "p":
			if n > 255 {
				return phc{}, errBadHash
			}
			h.p.Threads = uint8(n)
			seen |= 4
		default:
			return phc{}, errBadHash
		}
	}
	if seen != 7 || h.p.Time == 0 || h.p.Time > maxTime || h.p.Threads == 0 ||
		h.p.MemoryKiB < 8*uint32(h.p.Threads) || h.p.MemoryKiB > maxMemoryKiB {
		return phc{}, errBadHash
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return phc{}, errBadHash
	}
	if h.hash, err = b64.DecodeString(parts[5]); err != nil || len(h.hash) < 16 || len(h.hash) > 64 {
		return phc{}, errBadHash
	}
	return h, nil
}

// checkPassword validates a new password and returns it normalised (NFC,
// so the same password typed on another keyboard still matches).
func checkPassword(pw string) (string, error) {
	if !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0 {
		return "", newErr(EINVALID, "password", KeyPasswordInvalid)
	}
	pw = norm.NFC.String(pw)
	switch n := utf8.RuneCountInString(pw); {
	case n < PasswordMin:
		return "", newErr(EINVALID, "password", KeyPasswordTooShort)
	case n > PasswordMax:
		return "", newErr(EINVALID, "password", KeyPasswordTooLong)
	}
	return pw, nil
}

// acquire takes a hashing slot: a flood of logins queues here instead of
// allocating Argon2's memory for each.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return Busy(ctx.Err())
	}
}

func (s *Service) release() { <-s.sem }

// newHash hashes a checked password with the current parameters.
func (s *Service) newHash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(s.opts.Rand, salt); err != nil {
		return "", Internal(err)
	}
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	p := s.opts.Params
	h := phc{p: p, salt: salt, hash: argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, hashLen)}
	return h.String(), nil
}

// verify checks pw against a stored hash with the hash's own parameters,
// in constant time. An unreadable hash is an internal error.
func (s *Service) verify(ctx context.Context, stored, pw string) (bool, error) {
	h, err := parsePHC(stored)
	if err != nil {
		return false, Internal(err)
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	got := argon2.IDKey([]byte(norm.NFC.String(pw)), h.salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, uint32(len(h.hash)))
	return subtle.ConstantTimeCompare(got, h.hash) == 1, nil
}

// Package keys owns all of tropa's key material: the store key that encrypts
// the Badger database, and the onion service identities.
//
// Everything rests under one directory (<data>/keys, 0700, files 0600). The
// store key is the root: 32 random bytes, either wrapped with the operator's
// passphrase (argon2id + secretbox) or, without a passphrase, kept as it is
// in a 0600 file. Every other secret (onion identity seeds) is sealed with a
// key derived from the store key, so with a passphrase no secret is ever on
// disk in plaintext.
//
// This package must never print or log key material.
package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/hkdf"
	"golang.org/x/crypto/nacl/secretbox"
)

// Errors returned by Open. Their text is safe to show to the operator.
var (
	ErrWrongPassphrase = errors.New("wrong passphrase: the store key could not be unlocked (nothing was changed)")
	ErrNeedPassphrase  = errors.New("the store key is protected by a passphrase: set TROPA_PASSPHRASE or use --passphrase-file")
	ErrMissingKey      = errors.New("the store key is missing but the data directory holds a store: restore keys/store.key from a backup (a new key cannot open the old data)")
)

const (
	storeKeyFile = "store.key"
	headerPlain  = "tropa store key v1 plain"
	headerSealed = "tropa store key v1 argon2id"
	headerOnion  = "tropa onion identity v1"
)

// Argon2id parameters for wrapping the store key. Stored in the file so they
// can be raised later without breaking old files.
const (
	kdfTime    = 3
	kdfMemory  = 64 * 1024 // KiB
	kdfThreads = 2
)

// Ring is an unlocked key directory.
type Ring struct {
	dir    string
	master [32]byte
	// Protected reports whether the store key is wrapped with a passphrase.
	Protected bool
}

// Open unlocks the key directory dir, creating it and a new random store key
// on first use. storeExists tells whether a database is already there (a
// missing key is then an error, never a fresh key). With a passphrase, a new
// key is written wrapped; an existing unwrapped key is wrapped in place.
func Open(dir string, passphrase []byte, storeExists bool) (*Ring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	r := &Ring{dir: dir}
	path := filepath.Join(dir, storeKeyFile)
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if storeExists {
			return nil, ErrMissingKey
		}
		if _, err := io.ReadFull(rand.Reader, r.master[:]); err != nil {
			return nil, fmt.Errorf("keys: random: %w", err)
		}
		if err := r.writeStoreKey(passphrase); err != nil {
			return nil, err
		}
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	header, body, _ := strings.Cut(string(raw), "\n")
	switch header {
	case headerPlain:
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("keys: %s is damaged (expected 32 bytes of base64 after the header)", path)
		}
		copy(r.master[:], b)
		if len(passphrase) > 0 {
			// The operator has started giving a passphrase: protect the key.
			if err := r.writeStoreKey(passphrase); err != nil {
				return nil, err
			}
		}
	case headerSealed:
		if len(passphrase) == 0 {
			return nil, ErrNeedPassphrase
		}
		if err := r.unseal(path, body, passphrase); err != nil {
			return nil, err
		}
		r.Protected = true
	default:
		return nil, fmt.Errorf("keys: %s is not a tropa store key file", path)
	}
	return r, nil
}

func (r *Ring) unseal(path, body string, passphrase []byte) error {
	f := map[string]string{}
	for _, field := range strings.Fields(body) {
		k, v, ok := strings.Cut(field, "=")
		if ok {
			f[k] = v
		}
	}
	t, err1 := strconv.ParseUint(f["t"], 10, 32)
	m, err2 := strconv.ParseUint(f["m"], 10, 32)
	p, err3 := strconv.ParseUint(f["p"], 10, 8)
	salt, err4 := base64.StdEncoding.DecodeString(f["salt"])
	box, err5 := base64.StdEncoding.DecodeString(f["box"])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil || len(box) < 24+secretbox.Overhead || t == 0 || m == 0 || p == 0 || m > 4<<20 {
		return fmt.Errorf("keys: %s is damaged (its fields cannot be read)", path)
	}
	kek := argon2.IDKey(passphrase, salt, uint32(t), uint32(m), uint8(p), 32)
	var k [32]byte
	copy(k[:], kek)
	var nonce [24]byte
	copy(nonce[:], box[:24])
	plain, ok := secretbox.Open(nil, box[24:], &nonce, &k)
	if !ok || len(plain) != 32 {
		return ErrWrongPassphrase
	}
	copy(r.master[:], plain)
	return nil
}

func (r *Ring) writeStoreKey(passphrase []byte) error {
	var buf bytes.Buffer
	if len(passphrase) == 0 {
		fmt.Fprintf(&buf, "%s\n%s\n", headerPlain, base64.StdEncoding.EncodeToString(r.master[:]))
	} else {
		salt := make([]byte, 16)
		var nonce [24]byte
		if _, err := io.ReadFull(rand.Reader, salt); err != nil {
			return err
		}
		if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
			return err
		}
		var k [32]byte
		copy(k[:], argon2.IDKey(passphrase, salt, kdfTime, kdfMemory, kdfThreads, 32))
		box := secretbox.Seal(nonce[:], r.master[:], &nonce, &k)
		fmt.Fprintf(&buf, "%s\nt=%d m=%d p=%d salt=%s box=%s\n", headerSealed, kdfTime, kdfMemory, kdfThreads,
			base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(box))
		r.Protected = true
	}
	return writeFileAtomic(filepath.Join(r.dir, storeKeyFile), buf.Bytes())
}

// StoreKey returns the AES-256 key for the Badger store.
func (r *Ring) StoreKey() []byte { return r.derive("tropa store encryption v1") }

func (r *Ring) derive(purpose string) []byte {
	out := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, r.master[:], nil, []byte(purpose)), out); err != nil {
		panic(err) // hkdf cannot fail for 32 bytes
	}
	return out
}

// Identity returns the onion identity called name ("public", "staff"),
// creating and sealing a new one on first use. The same name gives the same
// identity, and so the same address, after every restart.
func (r *Ring) Identity(name string) (ed25519.PrivateKey, error) {
	if !validName(name) {
		return nil, fmt.Errorf("keys: bad identity name %q", name)
	}
	path := filepath.Join(r.dir, "onion-"+name+".key")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(rand.Reader, seed); err != nil {
			return nil, err
		}
		if err := r.SetIdentity(name, ed25519.NewKeyFromSeed(seed)); err != nil {
			return nil, err
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	header, body, _ := strings.Cut(string(raw), "\n")
	box, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
	if header != headerOnion || err != nil || len(box) < 24+secretbox.Overhead {
		return nil, fmt.Errorf("keys: %s is damaged", path)
	}
	var nonce [24]byte
	copy(nonce[:], box[:24])
	var k [32]byte
	copy(k[:], r.derive("tropa onion identity v1 "+name))
	seed, ok := secretbox.Open(nil, box[24:], &nonce, &k)
	if !ok || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keys: %s cannot be opened with this store key (was it copied from another installation?)", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// SetIdentity stores (replacing) the onion identity called name.
func (r *Ring) SetIdentity(name string, key ed25519.PrivateKey) error {
	if !validName(name) {
		return fmt.Errorf("keys: bad identity name %q", name)
	}
	var nonce [24]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return err
	}
	var k [32]byte
	copy(k[:], r.derive("tropa onion identity v1 "+name))
	box := secretbox.Seal(nonce[:], key.Seed(), &nonce, &k)
	data := headerOnion + "\n" + base64.StdEncoding.EncodeToString(box) + "\n"
	return writeFileAtomic(filepath.Join(r.dir, "onion-"+name+".key"), []byte(data))
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// writeFileAtomic writes a 0600 file through a temporary file and a rename,
// so a crash never leaves half a key behind.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keys: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// StaffClient is one staff device's v3 client-authorization key: its public
// half is registered with the staff onion, its private half goes into the
// device's Tor Browser and is never stored here.
type StaffClient struct {
	Name      string
	PublicB32 string // base32 (no padding) x25519 public key, as tor's .auth files hold it
}

func (r *Ring) clientsDir() string { return filepath.Join(r.dir, "staff-clients") }

// NewStaffClient creates a key pair for device name, registers the public
// half and returns the private half (base32, no padding) to show once.
// An existing name is refused: revoke it first.
func (r *Ring) NewStaffClient(name string) (privateB32 string, err error) {
	if !validName(name) {
		return "", fmt.Errorf("a device name is 1-32 characters of a-z, 0-9 and -: %q", name)
	}
	if err := os.MkdirAll(r.clientsDir(), 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(r.clientsDir(), name+".pub")
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("a staff client key named %q exists already: revoke it first (tropa staff client-key --revoke %s)", name, name)
	}
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(b32(k.PublicKey().Bytes())+"\n")); err != nil {
		return "", err
	}
	return b32(k.Bytes()), nil
}

// RevokeStaffClient removes device name's key.
func (r *Ring) RevokeStaffClient(name string) error {
	if !validName(name) {
		return fmt.Errorf("bad device name %q", name)
	}
	err := os.Remove(filepath.Join(r.clientsDir(), name+".pub"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no staff client key named %q", name)
	}
	return err
}

// StaffClients lists the registered staff devices, by name.
func (r *Ring) StaffClients() ([]StaffClient, error) {
	entries, err := os.ReadDir(r.clientsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []StaffClient
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pub")
		if !ok || !validName(name) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.clientsDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		pub := strings.TrimSpace(string(b))
		if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(pub); err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("keys: %s is damaged", e.Name())
		}
		out = append(out, StaffClient{Name: name, PublicB32: pub})
	}
	return out, nil
}

func b32(b []byte) string { return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b) }

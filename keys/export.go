package keys

// Moving key material between machines: the key directory's files for a
// backup made --with-keys, and the onion identities for `tropa keys
// export` / `tropa keys import`. Both travel only encrypted: the first
// inside a passphrase-sealed backup, the second in a passphrase-sealed
// file of its own.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Dir returns the key directory.
func (r *Ring) Dir() string { return r.dir }

// KeyFile is one file of a key directory, by its path relative to it.
type KeyFile struct {
	Name string
	Data []byte
}

// KeyFiles returns the key directory's files as they are on disk: the
// store key (wrapped or not, as it is), the sealed onion identities and
// the staff devices' public keys.
func (r *Ring) KeyFiles() ([]KeyFile, error) {
	var out []KeyFile
	add := func(name string) error {
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		out = append(out, KeyFile{Name: name, Data: b})
		return nil
	}
	if err := add(storeKeyFile); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	for _, e := range entries {
		if validKeyFileName(e.Name()) && e.Name() != storeKeyFile && e.Type().IsRegular() {
			if err := add(e.Name()); err != nil {
				return nil, err
			}
		}
	}
	clients, err := os.ReadDir(r.clientsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("keys: %w", err)
	}
	for _, e := range clients {
		name := "staff-clients/" + e.Name()
		if validKeyFileName(name) && e.Type().IsRegular() {
			if err := add(name); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// validKeyFileName accepts exactly the names a key directory holds, so a
// file from a backup can never be written outside it.
func validKeyFileName(name string) bool {
	if name == storeKeyFile {
		return true
	}
	if n, ok := strings.CutPrefix(name, "onion-"); ok {
		n, ok = strings.CutSuffix(n, ".key")
		return ok && validName(n)
	}
	if n, ok := strings.CutPrefix(name, "staff-clients/"); ok {
		n, ok = strings.CutSuffix(n, ".pub")
		return ok && validName(n)
	}
	return false
}

// WriteKeyFiles writes files into a new key directory dir (0700, files
// 0600). It refuses names a key directory does not hold.
func WriteKeyFiles(dir string, files []KeyFile) error {
	for _, f := range files {
		if !validKeyFileName(f.Name) {
			return fmt.Errorf("keys: unexpected key file %q", f.Name)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if err := writeFileAtomic(path, f.Data); err != nil {
			return err
		}
	}
	return nil
}

// IdentityNames lists the onion identities stored in the ring, by name.
func (r *Ring) IdentityNames() ([]string, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var names []string
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "onion-")
		if !ok {
			continue
		}
		if n, ok = strings.CutSuffix(n, ".key"); ok && validName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// HasIdentity reports whether the identity called name exists (Identity
// would create it).
func (r *Ring) HasIdentity(name string) bool {
	if !validName(name) {
		return false
	}
	_, err := os.Stat(filepath.Join(r.dir, "onion-"+name+".key"))
	return err == nil
}

// Identities is what `tropa keys export` carries: onion identities by name
// and, optionally, the staff devices' public keys.
type Identities struct {
	Keys    map[string]ed25519.PrivateKey
	Clients []StaffClient
}

const headerIdentities = "tropa identities v1 argon2id"

// ErrWrongExportPassphrase is returned by OpenIdentities.
var ErrWrongExportPassphrase = errors.New("wrong passphrase: the identities file could not be opened (or it was altered)")

type identitiesJSON struct {
	Identities map[string]string `json:"identities"`
	Clients    []clientJSON      `json:"clients,omitempty"`
}

type clientJSON struct {
	Name   string `json:"name"`
	Public string `json:"public"`
}

// ExportIdentities returns the ring's onion identities (and, with
// withClients, the staff devices' public keys) sealed with passphrase
// (argon2id + secretbox).
func (r *Ring) ExportIdentities(passphrase []byte, withClients bool) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("keys: an export needs a passphrase")
	}
	names, err := r.IdentityNames()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("keys: there is no onion identity to export yet (start tropa once)")
	}
	p := identitiesJSON{Identities: map[string]string{}}
	for _, n := range names {
		k, err := r.Identity(n)
		if err != nil {
			return nil, err
		}
		p.Identities[n] = base64.StdEncoding.EncodeToString(k.Seed())
	}
	if withClients {
		cs, err := r.StaffClients()
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			p.Clients = append(p.Clients, clientJSON{Name: c.Name, Public: c.PublicB32})
		}
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	var nonce [24]byte
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, err
	}
	var k [32]byte
	copy(k[:], argon2.IDKey(passphrase, salt, kdfTime, kdfMemory, kdfThreads, 32))
	box := secretbox.Seal(nonce[:], plain, &nonce, &k)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s\nt=%d m=%d p=%d salt=%s box=%s\n", headerIdentities, kdfTime, kdfMemory, kdfThreads,
		base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(box))
	return buf.Bytes(), nil
}

// OpenIdentities opens a file made by ExportIdentities.
func OpenIdentities(data, passphrase []byte) (*Identities, error) {
	header, body, _ := strings.Cut(string(data), "\n")
	if header != headerIdentities {
		return nil, errors.New("not a tropa identities file (made by `tropa keys export`)")
	}
	f := map[string]string{}
	for _, field := range strings.Fields(body) {
		if k, v, ok := strings.Cut(field, "="); ok {
			f[k] = v
		}
	}
	t, err1 := strconv.ParseUint(f["t"], 10, 32)
	m, err2 := strconv.ParseUint(f["m"], 10, 32)
	p, err3 := strconv.ParseUint(f["p"], 10, 8)
	salt, err4 := base64.StdEncoding.DecodeString(f["salt"])
	box, err5 := base64.StdEncoding.DecodeString(f["box"])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil || len(box) < 24+secretbox.Overhead || t == 0 || t > 100 || m < 8 || m > 4<<20 || p == 0 {
		return nil, errors.New("the identities file is damaged (its fields cannot be read)")
	}
	var k [32]byte
	copy(k[:], argon2.IDKey(passphrase, salt, uint32(t), uint32(m), uint8(p), 32))
	var nonce [24]byte
	copy(nonce[:], box[:24])
	plain, ok := secretbox.Open(nil, box[24:], &nonce, &k)
	if !ok {
		return nil, ErrWrongExportPassphrase
	}
	var pj identitiesJSON
	if err := json.Unmarshal(plain, &pj); err != nil {
		return nil, fmt.Errorf("the identities file is damaged: %w", err)
	}
	out := &Identities{Keys: map[string]ed25519.PrivateKey{}}
	for n, s := range pj.Identities {
		seed, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(seed) != ed25519.SeedSize || !validName(n) {
			return nil, fmt.Errorf("the identities file is damaged (identity %q)", n)
		}
		out.Keys[n] = ed25519.NewKeyFromSeed(seed)
	}
	for _, c := range pj.Clients {
		if !validName(c.Name) {
			return nil, fmt.Errorf("the identities file is damaged (client %q)", c.Name)
		}
		out.Clients = append(out.Clients, StaffClient{Name: c.Name, PublicB32: c.Public})
	}
	return out, nil
}

// SetStaffClient registers (replacing) a staff device's public key, as
// `tropa keys import` brings it from another machine.
func (r *Ring) SetStaffClient(c StaffClient) error {
	if !validName(c.Name) {
		return fmt.Errorf("bad device name %q", c.Name)
	}
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(c.PublicB32); err != nil || len(raw) != 32 {
		return fmt.Errorf("keys: the public key of device %q is not 32 bytes of base32", c.Name)
	}
	if err := os.MkdirAll(r.clientsDir(), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.clientsDir(), c.Name+".pub"), []byte(c.PublicB32+"\n"))
}

package onion

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base32"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Address returns the 56-character v3 onion address (without ".onion") of
// an ed25519 public key: base32(pubkey || checksum || version), checksum =
// SHA3-256(".onion checksum" || pubkey || version)[:2], version = 3.
func Address(pub ed25519.PublicKey) string {
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{0x03})
	sum := h.Sum(nil)
	buf := make([]byte, 0, 35)
	buf = append(buf, pub...)
	buf = append(buf, sum[:2]...)
	buf = append(buf, 0x03)
	return strings.ToLower(base32.StdEncoding.EncodeToString(buf))
}

// expandedKey is the 64-byte expanded ed25519 secret key tor keeps in
// hs_ed25519_secret_key: the clamped SHA-512 of the seed.
func expandedKey(key ed25519.PrivateKey) []byte {
	h := sha512.Sum512(key.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return h[:]
}

// torKeyFile is the content of tor's hs_ed25519_secret_key file.
func torKeyFile(key ed25519.PrivateKey) []byte {
	return append([]byte("== ed25519v1-secret: type0 ==\x00\x00\x00"), expandedKey(key)...)
}

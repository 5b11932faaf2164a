package onion

// Vanity addresses: searching for an identity whose address starts with a
// chosen prefix.
//
// A v3 address is base32(pubkey || checksum || version), so its first 51
// characters are the public key's first 255 bits: a prefix of n characters
// is a condition on the key's first 5n bits, and any base32 character may
// come first. The expected number of keys to try is 32^n.
//
// tropa keeps identities as ed25519 seeds (keys.Ring), so every candidate
// is a seed and costs one SHA-512 and one fixed-base scalar multiplication
// (crypto/ed25519.NewKeyFromSeed, ~23 µs here). mkp224o is far faster
// because it searches expanded secret keys, stepping the scalar by 8 and
// adding 8·B to the point, with batched inversions: its results have no
// seed, so they cannot be stored as tropa's identities are today.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxVanityPrefix is the longest prefix SearchVanity takes: 32^12 keys is
// far beyond any machine.
const MaxVanityPrefix = 12

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// CheckVanityPrefix lower-cases prefix and refuses what no v3 address can
// start with.
func CheckVanityPrefix(prefix string) (string, error) {
	p := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(prefix), ".onion"))
	if p == "" {
		return "", errors.New("give a prefix of base32 characters: a-z and 2-7")
	}
	for _, c := range p {
		if !strings.ContainsRune(base32Alphabet, c) {
			hint := ""
			switch c {
			case '0':
				hint = " (try o)"
			case '1':
				hint = " (try l or i)"
			case '8':
				hint = " (try b)"
			case '9':
				hint = " (try g)"
			}
			return "", fmt.Errorf("%q cannot occur in an onion address: only a-z and 2-7 do (base32)%s", c, hint)
		}
	}
	if len(p) > MaxVanityPrefix {
		return "", fmt.Errorf("a prefix of %d characters would take about 32^%d = %.1e keys to find: at most %d characters", len(p), len(p), ExpectedVanityTries(len(p)), MaxVanityPrefix)
	}
	return p, nil
}

// ExpectedVanityTries is 32^n, the mean number of keys tried to find a
// prefix of n characters.
func ExpectedVanityTries(n int) float64 { return math.Pow(32, float64(n)) }

// vanityMatcher compares a public key's leading bits with a prefix's.
type vanityMatcher struct {
	want, mask []byte
}

func newVanityMatcher(prefix string) vanityMatcher {
	bits := 5 * len(prefix)
	m := vanityMatcher{want: make([]byte, (bits+7)/8), mask: make([]byte, (bits+7)/8)}
	for i, c := range prefix {
		v := strings.IndexRune(base32Alphabet, c)
		for b := 0; b < 5; b++ {
			pos := 5*i + b
			if v&(1<<(4-b)) != 0 {
				m.want[pos/8] |= 0x80 >> (pos % 8)
			}
			m.mask[pos/8] |= 0x80 >> (pos % 8)
		}
	}
	return m
}

func (m vanityMatcher) match(pub []byte) bool {
	for i, w := range m.want {
		if pub[i]&m.mask[i] != w {
			return false
		}
	}
	return true
}

// SearchVanity tries seeds on workers goroutines until one gives an
// address starting with prefix (checked with CheckVanityPrefix), or ctx
// ends (ctx.Err()). tried, when not nil, counts the keys tried, for
// progress. Each worker starts from its own random seed and counts up from
// it: seeds are hashed before use, so neighbours are as unrelated as any.
func SearchVanity(ctx context.Context, prefix string, workers int, tried *atomic.Uint64) (ed25519.PrivateKey, error) {
	p, err := CheckVanityPrefix(prefix)
	if err != nil {
		return nil, err
	}
	if workers < 1 {
		workers = 1
	}
	if tried == nil {
		tried = new(atomic.Uint64)
	}
	m := newVanityMatcher(p)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		found ed25519.PrivateKey
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		var seed [ed25519.SeedSize]byte
		if _, err := io.ReadFull(rand.Reader, seed[:]); err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			const batch = 256
			ctr := binary.LittleEndian.Uint64(seed[24:])
			for {
				for i := 0; i < batch; i++ {
					ctr++
					binary.LittleEndian.PutUint64(seed[24:], ctr)
					k := ed25519.NewKeyFromSeed(seed[:])
					if m.match(k[32:]) {
						once.Do(func() { found = k; cancel() })
						tried.Add(uint64(i + 1))
						return
					}
				}
				tried.Add(batch)
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if found != nil {
		return found, nil
	}
	return nil, ctx.Err()
}

package keys_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"tropa/keys"
)

func seal(t *testing.T, key [32]byte, h keys.StreamHeader, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := keys.NewSealWriter(&buf, key, h)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes, to cross chunk boundaries mid-write.
	for p := plain; len(p) > 0; {
		n := min(len(p), 10007)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(key [32]byte, sealed []byte) ([]byte, error) {
	r := bytes.NewReader(sealed)
	h, err := keys.ReadStreamHeader(r)
	if err != nil {
		return nil, err
	}
	or, err := keys.NewOpenReader(r, key, h)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(or)
}

func randomKey(t *testing.T) [32]byte {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStreamRoundTrip(t *testing.T) {
	key := randomKey(t)
	for _, n := range []int{0, 1, keys.StreamChunk - 1, keys.StreamChunk, keys.StreamChunk + 1, 3*keys.StreamChunk + 5} {
		plain := make([]byte, n)
		rand.Read(plain)
		h, err := keys.NewStreamHeader(keys.KDFStoreKey, 1)
		if err != nil {
			t.Fatal(err)
		}
		sealed := seal(t, key, h, plain)
		got, err := open(key, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
		if bytes.Contains(sealed, plain[:min(n, 64)]) && n >= 16 {
			t.Fatalf("%d bytes: plaintext visible in the sealed stream", n)
		}
	}
}

func TestStreamRefusesDamage(t *testing.T) {
	key := randomKey(t)
	h, _ := keys.NewStreamHeader(keys.KDFStoreKey, 0)
	plain := make([]byte, 2*keys.StreamChunk+100)
	rand.Read(plain)
	sealed := seal(t, key, h, plain)
	const hdr = 67
	frame := 4 + keys.StreamChunk + 16

	other := randomKey(t)
	if _, err := open(other, sealed); !errors.Is(err, keys.ErrWrongKey) {
		t.Errorf("wrong key: %v, want ErrWrongKey", err)
	}
	if _, err := open(key, []byte("not a backup at all, just text")); !errors.Is(err, keys.ErrNotStream) {
		t.Errorf("not a stream: %v", err)
	}
	for _, pos := range []int{20, hdr - 1, hdr + 2, hdr + 100, hdr + frame + 50, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[pos] ^= 0x40
		_, err := open(key, bad)
		if !errors.Is(err, keys.ErrDamaged) && !errors.Is(err, keys.ErrWrongKey) && !errors.Is(err, keys.ErrTruncated) {
			t.Errorf("byte %d flipped: %v, want a refusal", pos, err)
		}
		if err == nil {
			t.Errorf("byte %d flipped: accepted", pos)
		}
	}
	// Cut anywhere, including exactly after a whole frame (the final one
	// is missing then): always truncated, never a short success.
	for _, n := range []int{hdr, hdr + 3, hdr + 1000, hdr + frame, hdr + 2*frame, len(sealed) - 1} {
		if _, err := open(key, sealed[:n]); !errors.Is(err, keys.ErrTruncated) {
			t.Errorf("cut at %d of %d: %v, want ErrTruncated", n, len(sealed), err)
		}
	}
	if _, err := open(key, append(bytes.Clone(sealed), 0)); !errors.Is(err, keys.ErrDamaged) {
		t.Errorf("data after the end: %v", err)
	}
	// Frames swapped.
	sw := bytes.Clone(sealed)
	copy(sw[hdr:], sealed[hdr+frame:hdr+2*frame])
	copy(sw[hdr+frame:], sealed[hdr:hdr+frame])
	if _, err := open(key, sw); !errors.Is(err, keys.ErrDamaged) {
		t.Errorf("frames swapped: %v", err)
	}
}

func TestStreamPassphraseKey(t *testing.T) {
	h, _ := keys.NewStreamHeader(keys.KDFPassphrase, 0)
	k1, err := keys.PassphraseKey([]byte("correct horse"), h)
	if err != nil {
		t.Fatal(err)
	}
	sealed := seal(t, k1, h, []byte("hello"))
	r := bytes.NewReader(sealed)
	h2, err := keys.ReadStreamHeader(r)
	if err != nil || h2.KDF != keys.KDFPassphrase || h2.Salt != h.Salt {
		t.Fatalf("header: %+v, %v", h2, err)
	}
	k2, _ := keys.PassphraseKey([]byte("correct horse"), h2)
	if k2 != k1 {
		t.Fatal("the same passphrase and header give another key")
	}
	k3, _ := keys.PassphraseKey([]byte("wrong horse"), h2)
	if _, err := open(k3, sealed); !errors.Is(err, keys.ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	h2.MemoryKiB = 1 << 30
	if _, err := keys.PassphraseKey([]byte("x"), h2); err == nil {
		t.Fatal("absurd argon2 parameters accepted")
	}
}

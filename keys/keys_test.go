package keys_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"tropa/keys"
)

func TestStoreKeyLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	pass := []byte("a long passphrase")

	r1, err := keys.Open(dir, pass, false)
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Protected {
		t.Error("a new key with a passphrase is not protected")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "store.key"))
	if bytes.Contains(raw, r1.StoreKey()) {
		t.Error("store key in plaintext in a protected key file")
	}

	r2, err := keys.Open(dir, pass, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r1.StoreKey(), r2.StoreKey()) {
		t.Error("the same passphrase unlocked a different key")
	}
	if _, err := keys.Open(dir, []byte("wrong"), true); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := keys.Open(dir, nil, true); !errors.Is(err, keys.ErrNeedPassphrase) {
		t.Errorf("no passphrase for a protected key: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "store.key"))
	if !bytes.Equal(raw, after) {
		t.Error("failed unlocks changed the key file")
	}
}

func TestPlainKeyIsWrappedLater(t *testing.T) {
	dir := t.TempDir()
	r1, err := keys.Open(dir, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Protected {
		t.Error("a key without passphrase claims protection")
	}
	fi, _ := os.Stat(filepath.Join(dir, "store.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o", fi.Mode().Perm())
	}
	r2, err := keys.Open(dir, []byte("now protected"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Protected || !bytes.Equal(r1.StoreKey(), r2.StoreKey()) {
		t.Fatal("wrapping changed the key or did not protect it")
	}
	if _, err := keys.Open(dir, nil, true); !errors.Is(err, keys.ErrNeedPassphrase) {
		t.Errorf("after wrapping, no passphrase: %v", err)
	}
}

func TestMissingKeyWithExistingStore(t *testing.T) {
	if _, err := keys.Open(t.TempDir(), nil, true); !errors.Is(err, keys.ErrMissingKey) {
		t.Errorf("got %v, want ErrMissingKey", err)
	}
}

func TestDamagedKeyFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "store.key"), []byte("garbage"), 0o600)
	if _, err := keys.Open(dir, nil, true); err == nil {
		t.Error("a damaged key file was accepted")
	}
	os.WriteFile(filepath.Join(dir, "store.key"), []byte("tropa store key v1 argon2id\nt=3 m=x"), 0o600)
	if _, err := keys.Open(dir, []byte("p"), true); err == nil || errors.Is(err, keys.ErrWrongPassphrase) {
		t.Errorf("a truncated sealed key file: %v", err)
	}
}

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	r, _ := keys.Open(dir, []byte("p"), false)
	a, err := r.Identity("public")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Identity("public")
	s, _ := r.Identity("staff")
	if !a.Equal(b) || a.Equal(s) {
		t.Error("identities not stable per name or shared between names")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "onion-public.key"))
	if bytes.Contains(raw, a.Seed()) {
		t.Error("onion seed in plaintext")
	}
	// Another installation's store key cannot open it.
	otherDir := filepath.Join(t.TempDir(), "k")
	other, _ := keys.Open(otherDir, nil, false)
	os.WriteFile(filepath.Join(otherDir, "onion-public.key"), raw, 0o600)
	if _, err := other.Identity("public"); err == nil {
		t.Error("an identity opened under a foreign store key")
	}
	if _, err := r.Identity("../evil"); err == nil {
		t.Error("a path-like identity name was accepted")
	}
}

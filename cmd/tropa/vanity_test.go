package main

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"

	"tropa/keys"
	"tropa/onion"
)

func publicAddr(t *testing.T, dir string) string {
	t.Helper()
	r, err := keys.Open(filepath.Join(dir, "keys"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	k, err := r.Identity("public")
	if err != nil {
		t.Fatal(err)
	}
	return onion.Address(k.Public().(ed25519.PublicKey))
}

// TestOnionVanity: a 2-character prefix is found and stored; the identity
// serve loads next (keys.Ring.Identity("public")) has it; replacing asks.
func TestOnionVanity(t *testing.T) {
	old := vanityWorkers
	vanityWorkers = 2
	defer func() { vanityWorkers = old }()
	dir := filepath.Join(t.TempDir(), "data")

	out := mustRun(t, "", "onion", "vanity", "TR", "--data", dir)
	if got := publicAddr(t, dir); !strings.HasPrefix(got, "tr") || !strings.Contains(out, got) {
		t.Fatalf("stored %s, said %q", got, out)
	}
	first := publicAddr(t, dir)

	// An identity exists now: a "no" changes nothing.
	wantFail(t, 1, "n\n", "nothing was changed", "onion", "vanity", "q5", "--data", dir)
	if publicAddr(t, dir) != first {
		t.Fatal("the identity changed after a no")
	}
	mustRun(t, "y\n", "onion", "vanity", "q5", "--data", dir)
	if got := publicAddr(t, dir); !strings.HasPrefix(got, "q5") {
		t.Fatalf("after yes: %s", got)
	}
	mustRun(t, "", "onion", "vanity", "ab", "--data", dir, "--yes")
	if got := publicAddr(t, dir); !strings.HasPrefix(got, "ab") {
		t.Fatalf("after --yes: %s", got)
	}
	if out := mustRun(t, "", "onion", "address", "--data", dir); !strings.Contains(out, "public: http://ab") {
		t.Errorf("onion address said %q", out)
	}

	wantFail(t, 1, "", "cannot occur in an onion address", "onion", "vanity", "a0", "--data", dir)
	wantFail(t, 1, "", "at most 12", "onion", "vanity", "abcdefghijklm", "--data", dir)
	wantFail(t, 1, "", "--name must be public or staff", "onion", "vanity", "ab", "--name", "x", "--data", dir)
	// Refused while tropa serves the directory.
	serveAdmin(t, dir)
	wantFail(t, 1, "", "tropa is serving", "onion", "vanity", "cd", "--data", dir, "--yes")
}

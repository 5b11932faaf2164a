package onion_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tropa/onion"
)

func TestCheckVanityPrefix(t *testing.T) {
	for in, want := range map[string]string{"AB": "ab", "tropa": "tropa", "z7": "z7", " abc.onion": "abc"} {
		if got, err := onion.CheckVanityPrefix(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"": "give a prefix", "a0": "'0' cannot occur", "x1": "try l", "ab8": "cannot occur",
		"a-b": "cannot occur", "ж": "cannot occur", strings.Repeat("a", 13): "at most 12"} {
		if _, err := onion.CheckVanityPrefix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// TestVanityMatchesAddress: a found key's address has the prefix, for
// prefixes whose bits end mid-byte too; the first character may be any.
func TestVanityMatchesAddress(t *testing.T) {
	for _, p := range []string{"a", "7", "xy", "q2", "abc"} {
		var tried atomic.Uint64
		k, err := onion.SearchVanity(context.Background(), p, 2, &tried)
		if err != nil {
			t.Fatal(err)
		}
		if addr := onion.Address(k.Public().(ed25519.PublicKey)); !strings.HasPrefix(addr, p) {
			t.Errorf("prefix %q: found %s", p, addr)
		}
		if tried.Load() == 0 {
			t.Error("no keys counted")
		}
	}
}

func TestVanityStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := onion.SearchVanity(ctx, "zzzzzzzzzz", 2, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("search did not stop: %v after %s", err, time.Since(start))
	}
}

// BenchmarkVanityKeys reports keys per second on all cores.
func BenchmarkVanityKeys(b *testing.B) {
	var tried atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { onion.SearchVanity(ctx, "zzzzzzzzzzzz", 0+2, &tried); close(done) }()
	start := time.Now()
	for tried.Load() < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(tried.Load())/time.Since(start).Seconds(), "keys/s")
	cancel()
	<-done
}

func TestAddressSanity(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if a := onion.Address(priv.Public().(ed25519.PublicKey)); len(a) != 56 || !strings.HasSuffix(a, "d") {
		t.Fatalf("address %q", a)
	}
}

// Package netns keeps tests that start real browsers inside a loopback-only
// network namespace (make test makes one with unshare -n).
package netns

import (
	"net"
	"strings"
	"testing"
)

// Hint is the skip message of RequireLoopbackOnly.
const Hint = "run inside a loopback-only network namespace: make test does"

// RequireLoopbackOnly skips the test unless the only network interfaces are
// loopback ones: inside a network namespace with nothing but lo, nothing
// can leave 127.0.0.1 whatever a browser tries. It fails the test when
// loopback is down there, since then nothing can work.
func RequireLoopbackOnly(tb testing.TB) {
	tb.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		tb.Fatalf("listing network interfaces: %v", err)
	}
	var others []string
	loUp := false
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			others = append(others, i.Name)
			continue
		}
		if i.Flags&net.FlagUp != 0 {
			loUp = true
		}
	}
	if len(others) > 0 {
		tb.Skipf("%s (interfaces besides loopback: %s)", Hint, strings.Join(others, ", "))
	}
	if !loUp {
		tb.Fatalf("loopback is down in this network namespace: run 'ip link set lo up' first (%s)", Hint)
	}
}

package gecko

import (
	"net"
	"strings"
	"testing"
)

// NamespaceHint is the skip message of RequireLoopbackOnly.
const NamespaceHint = "run inside a loopback-only network namespace: make test does"

// RequireLoopbackOnly skips the test unless the only network interfaces are
// loopback ones. The profile routes every request of Firefox through the
// Tor client's SOCKS port and switches off its background connections, but
// a test must not depend on a pref list being complete: inside a network
// namespace with nothing but lo, nothing can leave 127.0.0.1 whatever
// Firefox tries. It fails the test when loopback is down there, since then
// nothing can work.
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
		tb.Skipf("%s (interfaces besides loopback: %s)", NamespaceHint, strings.Join(others, ", "))
	}
	if !loUp {
		tb.Fatalf("loopback is down in this network namespace: run 'ip link set lo up' first (%s)", NamespaceHint)
	}
}

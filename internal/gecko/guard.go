package gecko

import (
	"testing"

	"tropa/internal/netns"
)

// NamespaceHint is the skip message of RequireLoopbackOnly.
const NamespaceHint = netns.Hint

// RequireLoopbackOnly skips the test outside a loopback-only network
// namespace (netns.RequireLoopbackOnly). The profile routes every request
// of Firefox through the Tor client's SOCKS port and switches off its
// background connections, but a test must not depend on a pref list being
// complete.
func RequireLoopbackOnly(tb testing.TB) {
	tb.Helper()
	netns.RequireLoopbackOnly(tb)
}

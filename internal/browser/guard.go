package browser

import (
	"testing"

	"tropa/internal/netns"
)

// NamespaceHint is the skip message of RequireLoopbackOnly.
const NamespaceHint = netns.Hint

// RequireLoopbackOnly skips the test outside a loopback-only network
// namespace (netns.RequireLoopbackOnly). Chromium opens a UDP socket to a
// public address when it starts, and no flag stops it.
func RequireLoopbackOnly(tb testing.TB) {
	tb.Helper()
	netns.RequireLoopbackOnly(tb)
}

// Package circuit carries a request's Tor circuit from the onion listener
// to the HTTP handlers, in memory only. The circuit is the key for
// per-visitor rate limits (behind tor every visitor is the same local
// address); it must never be written anywhere.
package circuit

import (
	"context"
	"net"
)

// Key names one circuit among all of tropa's tors. tor's circuit IDs are
// per tor process, so with several tors (Onionbalance instances) the same
// ID can name two circuits: the tor is part of the key.
type Key struct {
	// Instance is the tor the circuit belongs to: 0 for tropa's first (or
	// only) tor, i for its (i+1)-th. Negative for a tor on another machine
	// (`tropa instance`), which tropa cannot send commands to.
	Instance int
	// ID is tor's global circuit ID within that tor (the one CLOSECIRCUIT
	// takes).
	ID uint32
}

// Identifier is implemented by connections that know their circuit.
type Identifier interface {
	Circuit() (Key, bool)
}

type connKey struct{}

// ConnContext is an http.Server ConnContext hook: it remembers the
// connection so that handlers can ask for its circuit. It does not read
// from the connection (that would block the accept loop).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(Identifier); !ok {
		return ctx
	}
	return context.WithValue(ctx, connKey{}, c)
}

// ID returns the circuit a request came in on; false for connections that
// did not come through tor (the loopback preview).
func ID(ctx context.Context) (Key, bool) {
	c, ok := ctx.Value(connKey{}).(Identifier)
	if !ok {
		return Key{}, false
	}
	return c.Circuit()
}

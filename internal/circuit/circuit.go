// Package circuit carries a request's Tor circuit ID from the onion
// listener to the HTTP handlers, in memory only. The ID is the key for
// per-visitor rate limits (behind tor every visitor is the same local
// address); it must never be written anywhere.
package circuit

import (
	"context"
	"net"
)

// Identifier is implemented by connections that know their circuit.
type Identifier interface {
	CircuitID() (uint32, bool)
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
func ID(ctx context.Context) (uint32, bool) {
	c, ok := ctx.Value(connKey{}).(Identifier)
	if !ok {
		return 0, false
	}
	return c.CircuitID()
}

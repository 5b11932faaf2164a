package onion

import (
	"net"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// requireProxyHeader wraps a public service's listener: tor sends a PROXY
// header naming the rendezvous circuit before every connection
// (HiddenServiceExportCircuitID haproxy). A connection without one is
// refused at its first read.
func requireProxyHeader(ln net.Listener) net.Listener {
	return &circuitListener{&proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: 5 * time.Second,
		ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			return proxyproto.REQUIRE, nil
		},
	}}
}

type circuitListener struct{ *proxyproto.Listener }

func (l *circuitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return c, nil
	}
	return &circuitConn{pc}, nil
}

// circuitConn is a connection that knows its tor circuit.
type circuitConn struct{ *proxyproto.Conn }

// CircuitID returns the global ID of the rendezvous circuit the connection
// came in on: the last 32 bits of the PROXY header's source address
// (fc00:dead:beef:4dad::AABB:CCDD). It is kept in memory only.
func (c *circuitConn) CircuitID() (uint32, bool) {
	h := c.ProxyHeader()
	if h == nil {
		return 0, false
	}
	a, ok := h.SourceAddr.(*net.TCPAddr)
	if !ok {
		return 0, false
	}
	ip := a.IP.To16()
	if ip == nil || a.IP.To4() != nil {
		return 0, false
	}
	return uint32(ip[12])<<24 | uint32(ip[13])<<16 | uint32(ip[14])<<8 | uint32(ip[15]), true
}

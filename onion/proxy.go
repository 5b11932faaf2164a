package onion

import (
	"net"
	"net/netip"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"tropa/internal/circuit"
)

// requireProxyHeader wraps a public service's listener: tor sends a PROXY
// header naming the rendezvous circuit before every connection
// (HiddenServiceExportCircuitID haproxy). A connection without one is
// refused at its first read. instance is the tor the listener belongs to
// (0 for the first or only one), part of every connection's circuit key.
func requireProxyHeader(ln net.Listener, instance int) net.Listener {
	return &circuitListener{Listener: proxyListener(ln), instance: func(net.Conn) int { return instance }}
}

func proxyListener(ln net.Listener) *proxyproto.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: 5 * time.Second,
		ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			return proxyproto.REQUIRE, nil
		},
	}
}

type circuitListener struct {
	*proxyproto.Listener
	instance func(raw net.Conn) int
}

func (l *circuitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return c, nil
	}
	return &circuitConn{Conn: pc, instance: l.instance(pc.Raw())}, nil
}

// circuitConn is a connection that knows its tor circuit.
type circuitConn struct {
	*proxyproto.Conn
	instance int
}

// Circuit returns the rendezvous circuit the connection came in on: the
// tor it came through and that tor's global circuit ID, the last 32 bits
// of the PROXY header's source address (fc00:dead:beef:4dad::AABB:CCDD).
// It is kept in memory only.
func (c *circuitConn) Circuit() (circuit.Key, bool) {
	h := c.ProxyHeader()
	if h == nil {
		return circuit.Key{}, false
	}
	a, ok := h.SourceAddr.(*net.TCPAddr)
	if !ok {
		return circuit.Key{}, false
	}
	ip := a.IP.To16()
	if ip == nil || a.IP.To4() != nil {
		return circuit.Key{}, false
	}
	id := uint32(ip[12])<<24 | uint32(ip[13])<<16 | uint32(ip[14])<<8 | uint32(ip[15])
	return circuit.Key{Instance: c.instance, ID: id}, true
}

// remoteInstances numbers the machines whose tors (`tropa instance`)
// connect over the private link, by their address on it, so that their
// circuits get keys of their own: -1, -2, … The table is small (a few
// machines); past maxRemotePeers every further address shares one number.
type remoteInstances struct {
	mu    sync.Mutex
	peers map[netip.Addr]int
}

const maxRemotePeers = 64

func (r *remoteInstances) instance(raw net.Conn) int {
	ap, err := netip.ParseAddrPort(raw.RemoteAddr().String())
	if err != nil {
		return -maxRemotePeers - 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers == nil {
		r.peers = map[netip.Addr]int{}
	}
	a := ap.Addr().Unmap()
	n, ok := r.peers[a]
	if !ok {
		if len(r.peers) >= maxRemotePeers {
			return -maxRemotePeers - 1
		}
		n = -len(r.peers) - 1
		r.peers[a] = n
	}
	return n
}

// requireProxyHeaderRemote wraps the TCP listener that remote instances'
// tors forward to.
func requireProxyHeaderRemote(ln net.Listener) net.Listener {
	r := &remoteInstances{}
	return &circuitListener{Listener: proxyListener(ln), instance: r.instance}
}

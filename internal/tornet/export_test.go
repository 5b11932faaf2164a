package tornet

import "syscall"

// SysProcAttr lets the tests start a service tor the way the network
// starts its own.
func SysProcAttr() *syscall.SysProcAttr { return sysProcAttr() }

// PIDs returns the process ids of every tor the network started.
func (n *Network) PIDs() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := make(map[string]int, len(n.nodes))
	for _, nd := range n.nodes {
		m[nd.name] = nd.cmd.Process.Pid
	}
	return m
}

// NewForSocks returns a Network that has only a SOCKS address, for
// testing the HTTP clients against a fake proxy.
func NewForSocks(addr string) *Network {
	n := &Network{SocksAddr: addr}
	n.httpClient = n.newClient(nil)
	return n
}

// FindTor resolves a tor binary as Start does.
func FindTor(bin string) (string, error) { return findTor(bin) }

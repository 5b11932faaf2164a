package tornet

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// commonOptions go into every tor of the network, the service's included.
// TestingTorNetwork relaxes the timings and reachability checks; the rest
// keeps tor on IPv4 loopback, off the public fallback directories, quick
// to shut down, and its logs precise enough to measure.
const commonOptions = `TestingTorNetwork 1
AssumeReachable 1
PathsNeededToBuildCircuits 0.25
UseDefaultFallbackDirs 0
ClientUseIPv6 0
AddressDisableIPv6 1
ShutdownWaitLength 0
SafeLogging 0
LogTimeGranularity 1
ProtocolWarnings 1
`

// ServiceTorrc returns the torrc lines a service's tor adds to join this
// network: the options every node shares and one DirAuthority line per
// authority. The text holds no paths and no ports of its own, so it can
// be concatenated to a torrc or written to a file named by `%include`.
// The service's tor should still get its own DataDirectory, SocksPort 0
// unless it needs one, and only 127.0.0.1 addresses.
func (n *Network) ServiceTorrc() string { return n.common }

// WriteServiceTorrc writes ServiceTorrc to path (mode 0600).
func (n *Network) WriteServiceTorrc(path string) error {
	if err := os.WriteFile(path, []byte(n.common), 0o600); err != nil {
		return fmt.Errorf("tornet: %w", err)
	}
	return nil
}

// writeTorrcs writes every node's torrc, and common.torrc (the same text
// as ServiceTorrc) for anyone poking at the network by hand.
func (n *Network) writeTorrcs(auths, relays []*node, client *node, vote int) error {
	var dirauths strings.Builder
	for _, a := range auths {
		v3, err := fieldAfter(filepath.Join(a.dir, "keys", "authority_certificate"), "fingerprint")
		if err != nil {
			return err
		}
		fp, err := fieldAfter(filepath.Join(a.dir, "fingerprint"), a.name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&dirauths, "DirAuthority %s orport=%d no-v2 v3ident=%s %s %s\n",
			a.name, a.ports[0], v3, hostPort(a.ports[1]), fp)
	}
	n.common = "# private Tor network on 127.0.0.1 (internal/tornet)\n" + commonOptions + dirauths.String()
	if err := os.WriteFile(filepath.Join(n.Dir, "common.torrc"), []byte(n.common), 0o600); err != nil {
		return fmt.Errorf("tornet: %w", err)
	}

	for _, a := range auths {
		err := n.writeTorrc(a, relayOptions(a)+fmt.Sprintf(`AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
TestingV3AuthInitialVotingInterval %[1]d
TestingV3AuthInitialVoteDelay %[2]d
TestingV3AuthInitialDistDelay %[2]d
V3AuthVotingInterval %[1]d
V3AuthVoteDelay 2
V3AuthDistDelay 2
V3AuthNIntervalsValid 2
TestingDirAuthVoteGuard *
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
TestingMinExitFlagThreshold 0
AuthDirVoteStableGuaranteeMinUptime 0
AuthDirVoteStableGuaranteeMTBF 0
`, vote, initialDelay))
		if err != nil {
			return err
		}
	}
	for _, r := range relays {
		if err := n.writeTorrc(r, relayOptions(r)); err != nil {
			return err
		}
	}
	return n.writeClientTorrc(client)
}

// relayOptions are the lines authorities and relays share: non-exit
// relays on loopback.
func relayOptions(nd *node) string {
	return fmt.Sprintf(`Nickname %[1]s
ContactInfo %[1]s@tornet.invalid
SocksPort 0
Address %[2]s
ORPort %[3]s
DirPort %[4]s
ExitRelay 0
ExitPolicy reject *:*
`, nd.name, loopback, hostPort(nd.ports[0]), hostPort(nd.ports[1]))
}

func (n *Network) writeClientTorrc(c *node) error {
	return n.writeTorrc(c, fmt.Sprintf(`SocksPort %s ExtendedErrors
ControlPort %s
CookieAuthentication 1
`, hostPort(c.ports[0]), hostPort(c.ports[1])))
}

// writeTorrc writes nd's torrc: the shared options, its directory and
// logs, then its own lines.
func (n *Network) writeTorrc(nd *node, own string) error {
	text := n.common + fmt.Sprintf(`DataDirectory %[1]s
PidFile %[1]s/pid
Log notice file %[1]s/notice.log
`, nd.dir) + own
	if err := os.WriteFile(filepath.Join(nd.dir, "torrc"), []byte(text), 0o600); err != nil {
		return fmt.Errorf("tornet: %w", err)
	}
	return nil
}

// fieldAfter returns the word after the first line starting with key in
// file: "fingerprint HEX" in an authority certificate, "NICK HEX" in a
// fingerprint file.
func fieldAfter(file, key string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("tornet: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == key {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("tornet: no %q line in %s", key, file)
}

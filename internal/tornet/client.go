package tornet

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// getRetryFor bounds Get's retries: the first fetches right after a
	// descriptor upload often fail, for up to a minute when unlucky.
	getRetryFor = 90 * time.Second
	// attemptTimeout bounds one attempt up to its response headers.
	attemptTimeout = 30 * time.Second
	// retryPause separates attempts.
	retryPause = 500 * time.Millisecond
	// controlTimeout bounds one ClientControl exchange.
	controlTimeout = 30 * time.Second
)

// HTTPClient returns a client whose every request goes through the client
// tor's SOCKS port, with the host name resolved by tor: net/http sends the
// proxy the name unresolved for both "socks5" and "socks5h" proxy URLs,
// which is what a .onion name needs (it is never looked up locally; a
// test in this package checks that). The client can dial nothing but the
// SOCKS port.
func (n *Network) HTTPClient() *http.Client { return n.httpClient }

// IsolatedClient returns a client like HTTPClient whose SOCKS connections
// carry tag as their username. tor isolates streams by SOCKS credentials
// (IsolateSOCKSAuth is on by default), so each tag gets circuits of its
// own: a test can play two visitors who share nothing. The same tag may
// share circuits with earlier clients of that tag.
func (n *Network) IsolatedClient(tag string) *http.Client {
	if tag == "" {
		tag = "-" // SOCKS5 usernames cannot be empty
	}
	return n.newClient(url.UserPassword(tag, "tornet"))
}

func (n *Network) newClient(user *url.Userinfo) *http.Client {
	socks := n.SocksAddr
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "socks5h", Host: socks, User: user}),
		// The transport only ever dials its proxy; refusing anything else
		// makes sure no request leaves through another way.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != socks {
				return nil, fmt.Errorf("tornet: refusing to dial %s: only the SOCKS port %s", addr, socks)
			}
			return d.DialContext(ctx, "tcp4", addr)
		},
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       30 * time.Second,
	}
	n.mu.Lock()
	n.transports = append(n.transports, tr)
	n.mu.Unlock()
	return &http.Client{Transport: tr}
}

// Get fetches rawURL through HTTPClient, retrying for up to 90 s (and no
// longer than ctx allows) while the request fails before a response: a
// service's first fetches after its descriptor upload often fail with
// SOCKS errors. It does not retry an HTTP response, whatever its status,
// nor tor's answers that cannot change by waiting (missing or wrong client
// authorization, a malformed onion address). The caller closes the body.
func (n *Network) Get(ctx context.Context, rawURL string) (*http.Response, error) {
	start := time.Now()
	stop := start.Add(getRetryFor)
	var last error
	for attempt := 1; ; attempt++ {
		resp, err := n.getOnce(ctx, rawURL, stop)
		if err == nil {
			return resp, nil
		}
		err = explain(err)
		last = err
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("tornet: GET %s: %w (last error: %v)", rawURL, ctx.Err(), last)
		case n.client != nil && n.client.exited():
			return nil, fmt.Errorf("tornet: GET %s: client tor exited: %v%s", rawURL, last, n.client.report())
		case !retryable(err):
			return nil, err
		case time.Now().Add(retryPause).After(stop):
			return nil, fmt.Errorf("tornet: GET %s: giving up after %d attempts in %s: %w",
				rawURL, attempt, time.Since(start).Round(time.Second), last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryPause):
		}
	}
}

// getOnce makes one attempt, bounded until the response headers arrive by
// attemptTimeout and stop; the body is then bound by ctx alone.
func (n *Network) getOnce(ctx context.Context, rawURL string, stop time.Time) (*http.Response, error) {
	actx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(min(attemptTimeout, time.Until(stop)), cancel)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		timer.Stop()
		cancel()
		return nil, err
	}
	resp, err := n.httpClient.Do(req)
	if err != nil || !timer.Stop() {
		// The timer fired: the attempt was cancelled, even if a response
		// slipped in.
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("tornet: GET %s: no response within %s", rawURL, attemptTimeout)
		}
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// torSocksErrors are tor's extended SOCKS5 replies for onion services
// (tor(1), SocksPort ExtendedErrors), which net/http prints only as
// "unknown code: N".
var torSocksErrors = map[int]string{
	0xF0: "onion service descriptor not found (not uploaded yet?)",
	0xF1: "onion service descriptor invalid",
	0xF2: "onion service introduction failed",
	0xF3: "onion service rendezvous failed",
	0xF4: "onion service needs client authorization (ONION_CLIENT_AUTH_ADD)",
	0xF5: "onion service client authorization is wrong",
	0xF6: "invalid onion address",
	0xF7: "onion service introduction timed out",
}

// explain adds tor's meaning to an error carrying an extended SOCKS code.
func explain(err error) error {
	for code, what := range torSocksErrors {
		if strings.Contains(err.Error(), "unknown code: "+strconv.Itoa(code)) {
			return fmt.Errorf("%w (tor 0x%X: %s)", err, code, what)
		}
	}
	return err
}

// retryable reports whether waiting may cure err. With ExtendedErrors tor
// answers 0xF4 (client authorization missing), 0xF5 (wrong) and 0xF6
// (malformed onion address), which waiting cannot change; net/http shows
// them as "unknown code: 244" and so on. Everything else — descriptor not
// found yet, introduction or rendezvous failed, connection reset — is
// normal while a new descriptor spreads.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true // our per-attempt timeout; the caller checks its ctx
	}
	s := err.Error()
	for _, permanent := range []string{
		"unknown code: 244", "unknown code: 245", "unknown code: 246",
		"address type not supported", "command not supported",
		"unsupported protocol scheme",
	} {
		if strings.Contains(s, permanent) {
			return false
		}
	}
	return true
}

// ClientControl sends one command line to the client tor's control port,
// after authenticating with its cookie, and returns the status code and
// text of the reply (the lines of a multi-line reply joined by "\n",
// without their codes). A reply with any code is returned with a nil
// error; the caller decides what is success — ONION_CLIENT_AUTH_ADD, for
// one, answers 250, or 251/252 when it replaced a key or could decrypt an
// already fetched descriptor. err is for failing to talk to tor.
func (n *Network) ClientControl(cmd string) (code int, reply string, err error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return 0, "", errors.New("tornet: ClientControl takes a single command line")
	}
	cookie, err := os.ReadFile(filepath.Join(n.client.dir, "control_auth_cookie"))
	if err != nil {
		return 0, "", fmt.Errorf("tornet: control cookie: %w", err)
	}
	c, err := net.DialTimeout("tcp4", n.ClientControlAddr, 10*time.Second)
	if err != nil {
		return 0, "", fmt.Errorf("tornet: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(controlTimeout))
	r := textproto.NewReader(bufio.NewReader(c))

	if _, err := fmt.Fprintf(c, "AUTHENTICATE %s\r\n", hex.EncodeToString(cookie)); err != nil {
		return 0, "", fmt.Errorf("tornet: %w", err)
	}
	if code, text, err := readReply(r); err != nil {
		return 0, "", err
	} else if code != 250 {
		return 0, "", fmt.Errorf("tornet: control port AUTHENTICATE: %d %s", code, text)
	}
	if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
		return 0, "", fmt.Errorf("tornet: %w", err)
	}
	code, reply, err = readReply(r)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	return code, reply, nil
}

// readReply reads one control-port reply: "NNN-text" mid lines, "NNN+key="
// lines followed by data up to a lone ".", and a final "NNN text" line.
func readReply(r *textproto.Reader) (int, string, error) {
	var lines []string
	for {
		line, err := r.ReadLine()
		if err != nil {
			return 0, "", fmt.Errorf("tornet: control port: %w", err)
		}
		if len(line) < 4 {
			return 0, "", fmt.Errorf("tornet: control port: malformed line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("tornet: control port: malformed line %q", line)
		}
		lines = append(lines, line[4:])
		switch line[3] {
		case ' ':
			return code, strings.Join(lines, "\n"), nil
		case '-':
		case '+':
			data, err := r.ReadDotLines()
			if err != nil {
				return 0, "", fmt.Errorf("tornet: control port: %w", err)
			}
			lines = append(lines, data...)
		default:
			return 0, "", fmt.Errorf("tornet: control port: malformed line %q", line)
		}
	}
}

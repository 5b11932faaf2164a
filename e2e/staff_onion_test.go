package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaffOnionClientAuth: the staff onion is published only once a staff
// device key exists; a Tor client without the key cannot reach it, a client
// holding the line `tropa staff client-key` printed (as an .auth_private
// file) can; the public onion keeps answering throughout.
func TestStaffOnionClientAuth(t *testing.T) {
	needTor(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startTropa(t, nil, "serve", "--data", data, "--torrc", svcTorrc)
	pub := "http://" + p.WaitLine(t, onionLine, 2*time.Minute)[1] + ".onion"
	if !strings.Contains(p.Out(), "staff onion: not published until a client key exists") {
		t.Errorf("no notice that the staff onion waits for a key:\n%s", p.Out())
	}
	if resp, _ := fetchOnion(t, pub+"/ru/"); resp.StatusCode != 200 {
		t.Fatal("public onion")
	}
	// tropa status says why, rather than calling the descriptor missing.
	if out, _ := exec.Command(tropaBin, "status", "--data", data).CombinedOutput(); !strings.Contains(string(out), "descriptor: not published (no staff client keys yet") {
		t.Errorf("tropa status does not say the staff onion waits for a key:\n%s", out)
	}

	out, err := exec.Command(tropaBin, "staff", "client-key", "laptop", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("staff client-key: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})$`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no key line in:\n%s", out)
	}
	line, staffAddr := m[0], m[1]
	p.WaitLine(t, regexp.MustCompile(`^staff onion: 1 client key\(s\) registered; tor reloaded$`), 30*time.Second)
	p.WaitLine(t, regexp.MustCompile(`^staff onion: http://`+staffAddr+`\.onion$`), 2*time.Minute)
	staffURL := "http://" + staffAddr + ".onion/ru/staff/"

	// The public onion did not miss a beat.
	if resp, _ := fetchOnion(t, pub+"/en/"); resp.StatusCode != 200 {
		t.Fatal("public onion after adding a staff key")
	}

	// Without the key: refused by tor itself.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if resp, err := net0.Get(ctx, staffURL); err == nil {
		resp.Body.Close()
		t.Fatalf("the staff onion answered a client without a key: %d", resp.StatusCode)
	} else if !strings.Contains(err.Error(), "auth") && !strings.Contains(err.Error(), "0xf4") && !strings.Contains(strings.ToLower(err.Error()), "client") {
		t.Logf("refused without key: %v", err)
	}

	// With the key, as printed, in a Tor client's ClientOnionAuthDir.
	client := keyedClient(t, line)
	var body string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := client.Get(staffURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				body = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keyed client never reached the staff onion: %v", err)
		}
		time.Sleep(2 * time.Second)
	}
	if !strings.Contains(body, "<h1") {
		t.Errorf("staff page: %.300s", body)
	}
	// Over the staff onion: log in and read tor's health from the live tor.
	add := exec.Command(tropaBin, "staff", "add", "anna", "--role", "admin", "--display-name", "Анна", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("staff password over tor\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	client.Jar = jar
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := "http://" + staffAddr + ".onion"
	resp, err := client.Get(base + "/ru/staff/login")
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(lb))
	if csrf == nil {
		t.Fatalf("no login form over the staff onion:\n%.500s", lb)
	}
	resp, err = client.PostForm(base+"/ru/staff/login", url.Values{"csrf": {csrf[1]}, "name": {"anna"}, "password": {"staff password over tor"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login over the staff onion: %d", resp.StatusCode)
	}
	resp, err = client.Get(base + "/ru/staff/health")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	health := string(hb)
	for _, want := range []string{"0.4.", "работает", "опубликован", pubAddr(pub), "Защита proof-of-work</dt><dd>включена"} {
		if !strings.Contains(health, want) {
			t.Errorf("staff health page lacks %q:\n%.3000s", want, health)
		}
	}

	// Staff pages are not on the public onion.
	if resp, _ := fetchOnion(t, pub+"/ru/staff/"); resp.StatusCode != 404 {
		t.Errorf("public onion serves /ru/staff/: %d", resp.StatusCode)
	}
	p.Stop(t, 20*time.Second)
}

func pubAddr(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "http://"), ".onion")
}

// keyedClient starts a second Tor client on the private network whose
// ClientOnionAuthDir holds line, and returns an HTTP client through it.
func keyedClient(t *testing.T, line string) *http.Client {
	t.Helper()
	return socksClient(keyedTor(t, line))
}

// socksClient is an HTTP client through the Tor SOCKS port socks, host
// names resolved by Tor.
func socksClient(socks string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "socks5h", Host: socks}),
	}}
}

// keyedTor starts a second Tor client on the private network whose
// ClientOnionAuthDir holds line (as `tropa staff client-key` prints it),
// stops it when the test ends, and returns its SOCKS address,
// "127.0.0.1:P". It returns at once: the client may still be
// bootstrapping.
func keyedTor(t *testing.T, line string) string {
	t.Helper()
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	os.Mkdir(auth, 0o700)
	os.WriteFile(filepath.Join(auth, "laptop.auth_private"), []byte(line+"\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	socks := ln.Addr().String()
	ln.Close()
	torrc := filepath.Join(dir, "torrc")
	os.WriteFile(torrc, []byte(fmt.Sprintf("%%include %s\nDataDirectory %s\nSocksPort %s\nClientOnionAuthDir %s\n",
		svcTorrc, filepath.Join(dir, "data"), socks, auth)), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	bin, err := exec.LookPath("tor")
	if err != nil {
		bin = "/usr/sbin/tor"
	}
	cmd := exec.Command(bin, "--defaults-torrc", empty, "-f", torrc, "--__OwningControllerProcess", fmt.Sprint(os.Getpid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, _ := os.Create(filepath.Join(dir, "tor.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	return socks
}

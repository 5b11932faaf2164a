package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuietUnderLoad: serving requests writes nothing to stdout or stderr.
func TestQuietUnderLoad(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	p := startTropa(t, nil, "serve", "--tor=false", "--data", data, "--http", "127.0.0.1:0")
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	outBefore, errBefore := p.Out(), p.ErrOut()
	client := &http.Client{Timeout: 10 * time.Second}
	paths := []string{"/ru/", "/en/", "/", "/ru/nope?x=<script>", "/en/overdose", "/ru/../../etc/passwd"}
	for i := 0; i < 1000; i++ {
		req, _ := http.NewRequest("GET", base+paths[i%len(paths)], nil)
		req.Header.Set("User-Agent", fmt.Sprintf("distinctive-agent-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s: %d", paths[i%len(paths)], resp.StatusCode)
		}
	}
	if p.Out() != outBefore || p.ErrOut() != errBefore {
		t.Errorf("serving requests wrote output:\nstdout: %q\nstderr: %q", strings.TrimPrefix(p.Out(), outBefore), strings.TrimPrefix(p.ErrOut(), errBefore))
	}
	p.Stop(t, 20*time.Second)
}

// TestNoTorNetwork: without a reachable Tor network tropa says so plainly
// and keeps serving the local preview (what `make run` shows on a machine
// without internet). The torrc points tor at a directory authority on a
// closed loopback port, so nothing leaves 127.0.0.1.
func TestNoTorNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tor")
	}
	dir := t.TempDir()
	torrc := filepath.Join(dir, "nowhere.torrc")
	os.WriteFile(torrc, []byte("UseDefaultFallbackDirs 0\nDirAuthority nowhere orport=1 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:9 0000000000000000000000000000000000000000\n"), 0o600)
	p := startTropa(t, nil, "serve", "--data", filepath.Join(dir, "data"), "--torrc", torrc, "--http", "127.0.0.1:0")
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	p.WaitLine(t, regexp.MustCompile(`^tor: (cannot reach|has not reached) the Tor network`), 90*time.Second)
	resp, err := http.Get(base + "/ru/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("preview /ru/: %d", resp.StatusCode)
	}
	p.Stop(t, 20*time.Second)
}

// TestRefusals: bad command lines get a clear one-line error.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"public http address", nil, []string{"serve", "--tor=false", "--data", dir + "/a", "--http", "0.0.0.0:8080"}, "only a loopback address"},
		{"nothing to serve", nil, []string{"serve", "--tor=false", "--data", dir + "/b"}, "nothing to serve"},
		{"missing tor", nil, []string{"serve", "--tor-bin", "/nonexistent/tor", "--data", dir + "/c"}, "apt-get install -y tor"},
		{"unknown flag", nil, []string{"serve", "--frobnicate"}, "flag provided but not defined"},
		{"empty passphrase", []string{"TROPA_PASSPHRASE="}, []string{"serve", "--tor=false", "--http", "127.0.0.1:0", "--data", dir + "/d"}, "TROPA_PASSPHRASE is set but empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startTropa(t, c.env, c.args...)
			select {
			case <-p.Done:
			case <-time.After(20 * time.Second):
				t.Fatal("did not exit")
			}
			if p.Err == nil {
				t.Fatal("exit status 0")
			}
			if !strings.Contains(p.ErrOut(), c.want) {
				t.Errorf("stderr %q does not say %q", p.ErrOut(), c.want)
			}
			if strings.Contains(p.ErrOut(), "goroutine ") || strings.Contains(p.ErrOut(), "panic") {
				t.Errorf("stack trace on stderr: %s", p.ErrOut())
			}
		})
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fetchOnion gets url through the private network's Tor client.
func fetchOnion(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := net0.Get(ctx, url)
	if err != nil {
		t.Fatalf("GET %s through Tor: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestOnionLifecycle is the walking skeleton's acceptance: tropa publishes
// its portal as an onion that a real Tor client reaches, keeps the same
// address across restarts, keeps its keys encrypted with a passphrase, and
// never leaves its tor behind, even after SIGKILL.
func TestOnionLifecycle(t *testing.T) {
	needTor(t)
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"TROPA_PASSPHRASE=correct horse battery staple"}
	args := []string{"serve", "--data", data, "--torrc", svcTorrc}

	// First start: publish, fetch the Russian home page through Tor.
	p := startTropa(t, env, args...)
	addr := p.WaitLine(t, onionLine, 2*time.Minute)[1]
	resp, body := fetchOnion(t, "http://"+addr+".onion/ru/")
	if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="ru">`) || !strings.Contains(body, "Передозировка? Звоните 112 или 103") {
		t.Fatalf("GET /ru/ through the onion: status %d, body:\n%.400s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP over the onion = %q", csp)
	}
	// Every info page and the board, in both languages, through the onion.
	for _, path := range portalPaths(t) {
		resp, body := fetchOnion(t, "http://"+addr+".onion"+path)
		if resp.StatusCode != 200 || !strings.Contains(body, "<h1") || strings.Contains(body, "<script") {
			t.Errorf("GET %s through the onion: %d", path, resp.StatusCode)
		}
	}
	if !strings.Contains(p.Out(), "tor: bootstrapped 100%") {
		t.Errorf("no bootstrap progress on stdout:\n%s", p.Out())
	}

	// The onion key tor is using right now, from tropa's RAM directory:
	// it must never be found under the data dir.
	torKey := runningOnionKey(t, p.Cmd.Process.Pid)

	p.Stop(t, 20*time.Second)

	// Permissions: data dir 0700, key files 0600.
	checkMode(t, data, 0o700)
	checkMode(t, filepath.Join(data, "keys"), 0o700)
	keyFiles, _ := filepath.Glob(filepath.Join(data, "keys", "*"))
	if len(keyFiles) < 2 {
		t.Fatalf("expected the store key and an onion identity in keys/, got %v", keyFiles)
	}
	for _, f := range keyFiles {
		checkMode(t, f, 0o600)
	}
	assertAbsent(t, data, torKey)

	// A wrong passphrase: one line of error, nothing changed on disk.
	before := snapshot(t, data)
	bad := startTropa(t, []string{"TROPA_PASSPHRASE=wrong"}, args...)
	<-bad.Done
	if bad.Err == nil {
		t.Fatal("tropa started with a wrong passphrase")
	}
	if lines := strings.Split(strings.TrimSpace(bad.ErrOut()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "wrong passphrase") {
		t.Errorf("wrong passphrase: want one line naming it, got:\n%s", bad.ErrOut())
	}
	if after := snapshot(t, data); after != before {
		t.Errorf("a wrong passphrase changed the data dir:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Restart: the same address, reachable again.
	p2 := startTropa(t, env, args...)
	if addr2 := p2.WaitLine(t, onionLine, 2*time.Minute)[1]; addr2 != addr {
		t.Fatalf("address changed across restart: %s then %s", addr, addr2)
	}
	if resp, _ := fetchOnion(t, "http://"+addr+".onion/en/"); resp.StatusCode != 200 {
		t.Fatalf("GET /en/ after restart: %d", resp.StatusCode)
	}

	// SIGKILL of tropa: its tor must be gone within 20 s.
	tors := childrenNamed(p2.Cmd.Process.Pid, "tor")
	if len(tors) != 1 {
		t.Fatalf("expected one tor child of tropa, found %v", tors)
	}
	p2.Cmd.Process.Signal(syscall.SIGKILL)
	<-p2.Done
	deadline := time.Now().Add(20 * time.Second)
	for alive(tors[0]) {
		if time.Now().After(deadline) {
			syscall.Kill(tors[0], syscall.SIGKILL)
			t.Fatalf("tor (pid %d) outlived a SIGKILLed tropa by more than 20 s", tors[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertAbsent(t, data, torKey)
}

// runningOnionKey reads the expanded ed25519 key tor was given, from the
// RAM directory of tropa process pid.
func runningOnionKey(t *testing.T, pid int) []byte {
	t.Helper()
	matches, _ := filepath.Glob(fmt.Sprintf("/dev/shm/tropa-%d-*/hs-public/hs_ed25519_secret_key", pid))
	if len(matches) != 1 {
		t.Fatalf("tor's key file for tropa %d not found in /dev/shm: %v", pid, matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 32+64 {
		t.Fatalf("unexpected tor key file size %d", len(b))
	}
	return b[32:]
}

// assertAbsent fails if any file under dir holds the key, raw, hex or base64
// (like `strings` would find it), or either half of it.
func assertAbsent(t *testing.T, dir string, key []byte) {
	t.Helper()
	needles := [][]byte{}
	for _, k := range [][]byte{key, key[:32], key[32:]} {
		needles = append(needles, k, []byte(hex.EncodeToString(k)), []byte(base64.StdEncoding.EncodeToString(k)), []byte(base64.RawStdEncoding.EncodeToString(k)))
	}
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			return nil
		}
		n++
		for _, nd := range needles {
			if bytes.Contains(b, nd) {
				t.Errorf("onion private key material found in plaintext in %s", path)
			}
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no files under %s to check", dir)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

// snapshot describes every file under dir: path, size, mode, content hash.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		line := fmt.Sprintf("%s %v %d", rel, fi.Mode(), fi.Size())
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(path)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// portalPaths lists every info page (from the embedded content files), the
// board, a section and a thread, in both languages.
func portalPaths(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../site/content/ru/*.md")
	if err != nil || len(files) < 10 {
		t.Fatalf("content files: %v %v", files, err)
	}
	var paths []string
	for _, lang := range []string{"ru", "en"} {
		for _, f := range files {
			slug := strings.TrimSuffix(filepath.Base(f), ".md")
			switch {
			case slug == "home":
				paths = append(paths, "/"+lang+"/")
			case strings.HasPrefix(slug, "services-"):
				paths = append(paths, "/"+lang+"/services/"+strings.TrimPrefix(slug, "services-"))
			default:
				paths = append(paths, "/"+lang+"/"+slug)
			}
		}
		paths = append(paths, "/"+lang+"/board", "/"+lang+"/board/hiv", "/"+lang+"/t/1", "/"+lang+"/ask")
	}
	return paths
}

var previewLine = regexp.MustCompile(`^local preview: (http://127\.0\.0\.1:\d+)/ru/$`)

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: deploy/tropa.service has the hardening the install
// promises and passes `systemd-analyze verify` (Debian package systemd),
// when that is installed.
func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "tropa.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{"User=tropa", "StateDirectory=tropa", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
		"MemoryDenyWriteExecute=yes", "LockPersonality=yes", "RestrictRealtime=yes", "SystemCallFilter=@system-service",
		"\nCapabilityBoundingSet=\n", "TemporaryFileSystem=/dev/shm", "ExecStart=/usr/local/bin/tropa serve --config /etc/tropa/tropa.toml"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the unit was not verified")
	}
	// The binary is not installed here: verify checks ExecStart exists.
	dir := t.TempDir()
	p := filepath.Join(dir, "tropa.service")
	if err := os.WriteFile(p, []byte(strings.Replace(unit, "/usr/local/bin/tropa", "/bin/true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil || strings.Contains(string(out), "tropa.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

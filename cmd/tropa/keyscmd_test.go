package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tropa/keys"
)

func TestKeysExportImport(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	r, err := keys.Open(filepath.Join(src, "keys"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r.Identity("public")
	r.Identity("staff")
	r.NewStaffClient("phone")
	pubAddr := publicAddr(t, src)
	pass := writeSecret(t, "moving the onion to a new server")
	file := filepath.Join(root, "ids.tropa-keys")

	out := mustRun(t, "", "keys", "export", file, "--data", src, "--export-passphrase-file", pass, "--with-clients")
	if !strings.Contains(out, "public, staff") || !strings.Contains(out, "1 staff device") {
		t.Errorf("export said %q", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	if raw, _ := os.ReadFile(file); strings.Contains(string(raw), "phone") {
		t.Error("the export shows a device name in plaintext")
	}
	wantFail(t, 1, "", "exists", "keys", "export", file, "--data", src, "--export-passphrase-file", pass)

	// A new machine before its first start.
	dst := filepath.Join(root, "dst")
	wantFail(t, 1, "", "wrong passphrase", "keys", "import", file, "--data", dst, "--export-passphrase-file", writeSecret(t, "not the one"))
	out = mustRun(t, "", "keys", "import", file, "--data", dst, "--export-passphrase-file", pass)
	if publicAddr(t, dst) != pubAddr || !strings.Contains(out, pubAddr) {
		t.Fatalf("imported %s, want %s (%q)", publicAddr(t, dst), pubAddr, out)
	}
	d, _ := keys.Open(filepath.Join(dst, "keys"), nil, true)
	if cs, _ := d.StaffClients(); len(cs) != 1 || cs[0].Name != "phone" {
		t.Errorf("clients after import: %v", cs)
	}

	// A machine with its own identity: asks, and a no changes nothing.
	other := filepath.Join(root, "other")
	o, _ := keys.Open(filepath.Join(other, "keys"), nil, false)
	o.Identity("public")
	mine := publicAddr(t, other)
	wantFail(t, 1, "no\n", "nothing was changed", "keys", "import", file, "--data", other, "--export-passphrase-file", pass)
	if publicAddr(t, other) != mine {
		t.Fatal("changed after a no")
	}
	mustRun(t, "", "keys", "import", file, "--data", other, "--export-passphrase-file", pass, "--yes")
	if publicAddr(t, other) != pubAddr {
		t.Fatal("not replaced with --yes")
	}
	serveAdmin(t, other)
	wantFail(t, 1, "", "tropa is serving", "keys", "import", file, "--data", other, "--export-passphrase-file", pass, "--yes")
}

package keys_test

import (
	"errors"
	"path/filepath"
	"testing"

	"tropa/keys"
)

func TestIdentitiesExportImport(t *testing.T) {
	src, err := keys.Open(filepath.Join(t.TempDir(), "keys"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := src.Identity("public")
	staff, _ := src.Identity("staff")
	if _, err := src.NewStaffClient("phone"); err != nil {
		t.Fatal(err)
	}
	pass := []byte("a passphrase for the move")
	blob, err := src.ExportIdentities(pass, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.OpenIdentities(blob, []byte("not it")); !errors.Is(err, keys.ErrWrongExportPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	ids, err := keys.OpenIdentities(blob, pass)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := keys.Open(filepath.Join(t.TempDir(), "keys"), []byte("another store passphrase"), false)
	if err != nil {
		t.Fatal(err)
	}
	for n, k := range ids.Keys {
		if err := dst.SetIdentity(n, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range ids.Clients {
		if err := dst.SetStaffClient(c); err != nil {
			t.Fatal(err)
		}
	}
	gp, _ := dst.Identity("public")
	gs, _ := dst.Identity("staff")
	if !gp.Equal(pub) || !gs.Equal(staff) {
		t.Fatal("identities differ after the move")
	}
	a, _ := src.StaffClients()
	b, _ := dst.StaffClients()
	if len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Fatalf("staff clients: %v vs %v", a, b)
	}
}

func TestKeyFilesRoundTrip(t *testing.T) {
	src, err := keys.Open(filepath.Join(t.TempDir(), "keys"), []byte("store passphrase"), false)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := src.Identity("public")
	src.NewStaffClient("laptop")
	files, err := src.KeyFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("key files: %d, want store.key, onion-public.key, staff-clients/laptop.pub", len(files))
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keys.WriteKeyFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	dst, err := keys.Open(dir, []byte("store passphrase"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := dst.Identity("public"); !got.Equal(pub) {
		t.Fatal("identity differs")
	}
	if string(dst.StoreKey()) != string(src.StoreKey()) {
		t.Fatal("store key differs")
	}
	for _, bad := range []string{"../x", "onion-../../x.key", "staff-clients/../../x.pub", "other"} {
		if err := keys.WriteKeyFiles(t.TempDir(), []keys.KeyFile{{Name: bad}}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

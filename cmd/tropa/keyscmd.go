package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"tropa/keys"
	"tropa/onion"
)

func init() {
	register(&command{name: "keys", summary: "move the onion identities to another machine: export FILE, import FILE", run: runKeys})
}

const keysUsage = `Usage: tropa keys COMMAND FILE [flags]

Commands:
  export FILE   write the onion identities (public and staff onions) to FILE,
                encrypted with a passphrase (argon2id + secretbox);
                --with-clients adds the staff devices' public keys
  import FILE   store the identities from FILE in this data directory
                (asks before replacing different ones; --yes does not)

The passphrase is asked on the terminal, or read from --export-passphrase-file.
The store key is not exported: a backup made --with-keys carries it.
Every command takes --data DIR and --passphrase-file FILE (the store key's,
or TROPA_PASSPHRASE). Run ` + "`tropa keys COMMAND -h`" + ` for a command's flags.
`

// runKeys is `tropa keys export|import`.
func runKeys(args []string, stdout, stderr io.Writer) error {
	return group("keys", keysUsage, map[string]func([]string, io.Writer, io.Writer) error{
		"export": keysExport, "import": keysImport,
	})(args, stdout, stderr)
}

func keysExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys export", "keys export FILE [--data DIR] [--with-clients]", stderr)
	data := fs.String("data", "./data", "the data directory")
	storePass := fs.String("passphrase-file", "", "file holding the store key's passphrase (or set TROPA_PASSPHRASE)")
	passFile := fs.String("export-passphrase-file", "", "file holding the passphrase to encrypt FILE with (else asked twice on the terminal)")
	withClients := fs.Bool("with-clients", false, "also export the staff devices' public keys (their private halves are never stored)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	file, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(file); err == nil && !*force {
		return fmt.Errorf("%s exists: choose another name, or give --force to replace it", file)
	}
	sp, err := readPassphrase(*storePass)
	if err != nil {
		return err
	}
	ring, err := openExistingRing(*data, sp)
	if err != nil {
		return err
	}
	pass, err := readSecret(*passFile, "export passphrase", true, stderr)
	if err != nil {
		return err
	}
	b, err := ring.ExportIdentities(pass, *withClients)
	if err != nil {
		return err
	}
	if err := writePrivateFile(file, b); err != nil {
		return err
	}
	names, _ := ring.IdentityNames()
	fmt.Fprintf(stdout, "wrote %s: the identities %s", file, strings.Join(names, ", "))
	if *withClients {
		cs, _ := ring.StaffClients()
		fmt.Fprintf(stdout, " and %d staff device key(s)", len(cs))
	}
	fmt.Fprintln(stdout, ", encrypted with the passphrase")
	return nil
}

func keysImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys import", "keys import FILE [--data DIR] [--yes]", stderr)
	data := fs.String("data", "./data", "the data directory (tropa must not be serving it)")
	storePass := fs.String("passphrase-file", "", "file holding the store key's passphrase (or set TROPA_PASSPHRASE)")
	passFile := fs.String("export-passphrase-file", "", "file holding FILE's passphrase (else asked on the terminal)")
	yes := fs.Bool("yes", false, "replace different identities without asking")
	file, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if c, err := net.DialTimeout("unix", filepath.Join(*data, statusSocket), time.Second); err == nil {
		c.Close()
		return fmt.Errorf("tropa is serving %s: stop it first; imported identities are used from the next start", *data)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	pass, err := readSecret(*passFile, "export passphrase", false, stderr)
	if err != nil {
		return err
	}
	ids, err := keys.OpenIdentities(raw, pass)
	if err != nil {
		return err
	}
	sp, err := readPassphrase(*storePass)
	if err != nil {
		return err
	}
	var ring *keys.Ring
	if pathExists(filepath.Join(*data, "keys", "store.key")) {
		ring, err = openExistingRing(*data, sp)
	} else if err = os.MkdirAll(*data, 0o700); err == nil {
		// A new machine before its first start.
		ring, err = keys.Open(filepath.Join(*data, "keys"), sp, dirHasFiles(filepath.Join(*data, "store")))
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(ids.Keys))
	for n := range ids.Keys {
		names = append(names, n)
	}
	sort.Strings(names)
	var changes []string
	for _, n := range names {
		if !ring.HasIdentity(n) {
			continue
		}
		cur, err := ring.Identity(n)
		if err != nil {
			return err
		}
		if !cur.Equal(ids.Keys[n]) {
			changes = append(changes, fmt.Sprintf("%s onion: http://%s.onion -> http://%s.onion", n,
				onion.Address(cur.Public().(ed25519.PublicKey)), onion.Address(ids.Keys[n].Public().(ed25519.PublicKey))))
		}
	}
	existing, err := ring.StaffClients()
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, c := range existing {
		have[c.Name] = c.PublicB32
	}
	for _, c := range ids.Clients {
		if pub, ok := have[c.Name]; ok && pub != c.PublicB32 {
			changes = append(changes, fmt.Sprintf("staff device key %q (a different key)", c.Name))
		}
	}
	if len(changes) > 0 && !*yes {
		if !askYesNo("This replaces:\n  "+strings.Join(changes, "\n  ")+"\nReplace?", stderr) {
			return errors.New("nothing was changed")
		}
	}
	for _, n := range names {
		if err := ring.SetIdentity(n, ids.Keys[n]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s onion: http://%s.onion\n", n, onion.Address(ids.Keys[n].Public().(ed25519.PublicKey)))
	}
	for _, c := range ids.Clients {
		if err := ring.SetStaffClient(c); err != nil {
			return err
		}
	}
	if len(ids.Clients) > 0 {
		fmt.Fprintf(stdout, "%d staff device key(s) imported\n", len(ids.Clients))
	}
	fmt.Fprintln(stdout, "used from the next start of tropa serve")
	return nil
}

// writePrivateFile writes a new 0600 file through a temporary name.
func writePrivateFile(path string, b []byte) error {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

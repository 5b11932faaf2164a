package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"tropa/keys"
	"tropa/onion"
)

// runStaffClientKey is `tropa staff client-key NAME` and
// `tropa staff client-key --revoke NAME`: one x25519 key pair per staff
// device for the staff onion's client authorization. A running tropa
// notices the change within seconds and reloads tor; the public onion keeps
// answering throughout.
func runStaffClientKey(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("staff client-key", "staff client-key [--revoke] [--data DIR] NAME", stderr)
	data := fs.String("data", "./data", "data directory")
	passFile := fs.String("passphrase-file", "", "file holding the store key's passphrase (or set TROPA_PASSPHRASE)")
	revoke := fs.Bool("revoke", false, "remove the device's key instead of creating one")
	list := fs.Bool("list", false, "list the registered devices")
	// Accept NAME before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tropa staff client-key: unexpected argument %q\n", strings.Join(fs.Args(), " "))
		return errUsage
	}
	if name == "" && !*list {
		fs.Usage()
		return errUsage
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	ring, err := openExistingRing(*data, pass)
	if err != nil {
		return err
	}
	switch {
	case *list:
		cs, err := ring.StaffClients()
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			fmt.Fprintln(stdout, "no staff client keys")
		}
		for _, c := range cs {
			fmt.Fprintln(stdout, c.Name)
		}
		return nil
	case *revoke:
		if err := ring.RevokeStaffClient(name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked the staff client key %q; a running tropa stops accepting it within seconds\n", name)
		return nil
	}
	ident, err := ring.Identity("staff")
	if err != nil {
		return err
	}
	addr := onion.Address(ident.Public().(ed25519.PublicKey))
	priv, err := ring.NewStaffClient(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s:descriptor:x25519:%s\n", addr, priv)
	fmt.Fprintf(stdout, "\nThis is the private key for device %q, shown only once. In Tor Browser open http://%s.onion and, when it asks for the onion site's key, paste the part after \"x25519:\"; or save the whole line as a file ending in .auth_private in the ClientOnionAuthDir of a tor client. Anyone holding it can reach the staff onion (staff still log in): revoke it with `tropa staff client-key --revoke %s` if the device is lost.\n", name, addr, name)
	return nil
}

// openExistingRing unlocks the key directory of an existing installation
// (never creating one).
func openExistingRing(data string, pass []byte) (*keys.Ring, error) {
	if _, err := os.Stat(filepath.Join(data, "keys", "store.key")); err != nil {
		return nil, fmt.Errorf("no tropa data in %s (start `tropa serve --data %s` once first)", data, data)
	}
	return keys.Open(filepath.Join(data, "keys"), pass, true)
}

// watchStaffClients polls the registered staff devices and hands every
// change to tor; it returns when stop is closed.
func watchStaffClients(ring *keys.Ring, t *onion.Tor, out io.Writer, stop <-chan struct{}) {
	last := clientSet(ring)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := clientSet(ring)
		if now == last {
			continue
		}
		last = now
		cs, err := ring.StaffClients()
		if err != nil {
			fmt.Fprintf(out, "staff onion: cannot read the client keys: %v\n", err)
			continue
		}
		if err := t.SetClients("staff", toOnionClients(cs)); err != nil {
			fmt.Fprintf(out, "staff onion: reloading tor failed: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "staff onion: %d client key(s) registered; tor reloaded\n", len(cs))
	}
}

func clientSet(ring *keys.Ring) string {
	cs, err := ring.StaffClients()
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.PublicB32)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func toOnionClients(cs []keys.StaffClient) []onion.Client {
	out := make([]onion.Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, onion.Client{Name: c.Name, PublicB32: c.PublicB32})
	}
	return out
}

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"tropa/keys"
	"tropa/onion"
)

func init() {
	register(&command{name: "onion", summary: "onion identities: address (show them), vanity PREFIX (find an address with a prefix)", run: runOnion})
}

const onionUsage = `Usage: tropa onion COMMAND [flags]

Commands:
  address            print the onion addresses of the data directory's identities
  vanity PREFIX      search, on every core, for an identity whose address starts
                     with PREFIX (a-z, 2-7) and store it for the next start
                     (asks before replacing the current one; --yes does not)

Both take --data DIR and --passphrase-file FILE (or TROPA_PASSPHRASE).
Run ` + "`tropa onion COMMAND -h`" + ` for a command's flags.
`

// runOnion is `tropa onion address|vanity`.
func runOnion(args []string, stdout, stderr io.Writer) error {
	return group("onion", onionUsage, map[string]func([]string, io.Writer, io.Writer) error{
		"vanity": runVanity, "address": runOnionAddress,
	})(args, stdout, stderr)
}

func runOnionAddress(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("onion address", "onion address [--data DIR]", stderr)
	data := fs.String("data", "./data", "the data directory")
	passFile := fs.String("passphrase-file", "", "file holding the store key's passphrase (or set TROPA_PASSPHRASE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	ring, err := openExistingRing(*data, pass)
	if err != nil {
		return err
	}
	names, err := ring.IdentityNames()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "no onion identities yet: they are made at the first start")
	}
	for _, n := range names {
		k, err := ring.Identity(n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: http://%s.onion\n", n, onion.Address(k.Public().(ed25519.PublicKey)))
	}
	return nil
}

// vanityWorkers is how many goroutines search (tests make it small).
var vanityWorkers = runtime.NumCPU()

func runVanity(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("onion vanity", "onion vanity PREFIX [--data DIR] [--name public|staff] [--yes]", stderr)
	data := fs.String("data", "./data", "the data directory whose identity to replace (tropa must not be serving it)")
	passFile := fs.String("passphrase-file", "", "file holding the store key's passphrase (or set TROPA_PASSPHRASE)")
	name := fs.String("name", "public", "which onion: public, or staff (then every staff device needs the new address)")
	yes := fs.Bool("yes", false, "replace the current identity without asking")
	prefixArg, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	prefix, err := onion.CheckVanityPrefix(prefixArg)
	if err != nil {
		return err
	}
	if *name != "public" && *name != "staff" {
		return fmt.Errorf("--name must be public or staff, not %q", *name)
	}
	if c, err := net.DialTimeout("unix", filepath.Join(*data, statusSocket), time.Second); err == nil {
		c.Close()
		return fmt.Errorf("tropa is serving %s: stop it first; the new identity is used from the next start", *data)
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	var ring *keys.Ring
	if pathExists(filepath.Join(*data, "keys", "store.key")) {
		ring, err = openExistingRing(*data, pass)
	} else {
		// Before the first start: this makes the installation's keys.
		if err = os.MkdirAll(*data, 0o700); err == nil {
			ring, err = keys.Open(filepath.Join(*data, "keys"), pass, dirHasFiles(filepath.Join(*data, "store")))
		}
	}
	if err != nil {
		return err
	}
	if ring.HasIdentity(*name) && !*yes {
		cur, err := ring.Identity(*name)
		if err != nil {
			return err
		}
		q := fmt.Sprintf("The %s onion is now http://%s.onion. Replace it with the address found (the old one stops working at the next start)?", *name, onion.Address(cur.Public().(ed25519.PublicKey)))
		if !askYesNo(q, stderr) {
			return errors.New("nothing was changed")
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tried atomic.Uint64
	expected := onion.ExpectedVanityTries(len(prefix))
	fmt.Fprintf(stderr, "searching for %s… on %d cores; about %.0f keys to try on average (Ctrl-C stops)\n", prefix, vanityWorkers, expected)
	started := time.Now()
	progressDone := make(chan struct{})
	go vanityProgress(stderr, &tried, expected, started, progressDone)
	key, err := onion.SearchVanity(ctx, prefix, vanityWorkers, &tried)
	close(progressDone)
	took := time.Since(started)
	rate := float64(tried.Load()) / max(took.Seconds(), 1e-3)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("stopped after %d keys (%.0f keys/s); nothing was changed", tried.Load(), rate)
		}
		return err
	}
	if err := ring.SetIdentity(*name, key); err != nil {
		return err
	}
	addr := onion.Address(key.Public().(ed25519.PublicKey))
	fmt.Fprintf(stdout, "found after %d keys in %s (%.0f keys/s)\nthe %s onion from the next start: http://%s.onion\n",
		tried.Load(), took.Round(time.Millisecond), rate, *name, addr)
	if *name == "staff" {
		fmt.Fprintln(stdout, "staff devices keep their client keys, but need the new address.")
	}
	return nil
}

func vanityProgress(w io.Writer, tried *atomic.Uint64, expected float64, started time.Time, done <-chan struct{}) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		n := float64(tried.Load())
		secs := time.Since(started).Seconds()
		rate := n / secs
		eta := "?"
		if rate > 0 {
			left := expected / rate
			if left > 1e8 {
				eta = fmt.Sprintf("%.0f years", left/(365*24*3600))
			} else {
				eta = (time.Duration(left) * time.Second).String()
			}
		}
		fmt.Fprintf(w, "tried %.0f keys, %.0f keys/s; expected about %s for this length (%.0f keys)\n", n, rate, eta, expected)
	}
}

// askYesNo asks a yes/no question on stderr and reads the answer from stdin.
func askYesNo(question string, stderr io.Writer) bool {
	fmt.Fprintf(stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

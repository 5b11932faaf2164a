package main

// `tropa restore FILE --data DIR`: the whole file is read and
// authenticated first (a wrong key, a cut or an altered file is refused
// before anything is written); then it is read again and loaded into a new
// store beside DIR's, which takes the place of the old one only when the
// load has finished. Nothing is ever deleted: with --force, what was in
// DIR moves aside to store.replaced-<time> and keys.replaced-<time>.

import (
	"bufio"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"tropa/internal/store"
	"tropa/keys"
	"tropa/onion"
)

func init() {
	register(&command{name: "restore", summary: "restore a backup into a data directory (verifies it whole first)", run: runRestore})
}

// backupContents is what a verified backup holds, besides the store data.
type backupContents struct {
	manifest   backupManifest
	keyFiles   []keys.KeyFile
	end        backupEnd
	storeBytes int64
}

// readBackup reads a backup's records from r (the opened seal), calling
// onStore with each piece of store data (nil: verify only).
func readBackup(r io.Reader, onStore func([]byte) error) (*backupContents, error) {
	c := &backupContents{}
	br := bufio.NewReaderSize(r, 256<<10)
	buf := make([]byte, 0, keys.StreamChunk)
	first, ended := true, false
	for {
		var h [5]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if errors.Is(err, io.EOF) && ended {
				return c, nil
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("the backup is incomplete (it has no end record): it was not written to its end")
			}
			return nil, err
		}
		kind, n := h[0], binary.BigEndian.Uint32(h[1:])
		if n > maxRecord {
			return nil, fmt.Errorf("the backup holds an oversized record (%d bytes): not a backup this tropa can read", n)
		}
		if ended {
			return nil, errors.New("the backup has records after its end")
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		p := buf[:n]
		if _, err := io.ReadFull(br, p); err != nil {
			return nil, err
		}
		if first != (kind == recManifest) {
			return nil, errors.New("the backup does not start with its manifest")
		}
		first = false
		switch kind {
		case recManifest:
			if err := json.Unmarshal(p, &c.manifest); err != nil {
				return nil, fmt.Errorf("the backup's manifest is unreadable: %w", err)
			}
		case recKeyFile:
			if len(p) < 2 || int(binary.BigEndian.Uint16(p))+2 > len(p) {
				return nil, errors.New("the backup holds a malformed key file record")
			}
			ln := int(binary.BigEndian.Uint16(p))
			c.keyFiles = append(c.keyFiles, keys.KeyFile{Name: string(p[2 : 2+ln]), Data: append([]byte(nil), p[2+ln:]...)})
		case recStore:
			c.storeBytes += int64(n)
			if onStore != nil {
				if err := onStore(p); err != nil {
					return nil, err
				}
			}
		case recEnd:
			if err := json.Unmarshal(p, &c.end); err != nil {
				return nil, fmt.Errorf("the backup's end record is unreadable: %w", err)
			}
			if c.end.StoreBytes != c.storeBytes {
				return nil, errors.New("the backup's store data does not add up to what its end record says")
			}
			ended = true
		default:
			return nil, fmt.Errorf("the backup holds an unknown record kind %q: made by a newer tropa?", kind)
		}
	}
}

func runRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "restore FILE --data DIR [--backup-passphrase-file FILE] [--force]", stderr)
	data := fs.String("data", "", "the data directory to restore into (required)")
	storePass := fs.String("passphrase-file", "", "file holding the store key's passphrase (or TROPA_PASSPHRASE): for the keys in DIR, or the restored keys, or a new store key")
	passFile := fs.String("backup-passphrase-file", "", "file holding the backup's passphrase (else it is asked for on the terminal when the backup has one)")
	force := fs.Bool("force", false, "restore even though DIR holds a store (or keys, for a backup with keys): they are moved aside, not deleted")
	file, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if *data == "" {
		fmt.Fprintln(stderr, "tropa restore: give --data DIR")
		fs.Usage()
		return errUsage
	}
	if c, err := net.DialTimeout("unix", filepath.Join(*data, statusSocket), time.Second); err == nil {
		c.Close()
		return fmt.Errorf("tropa is serving %s: stop it first (systemctl stop tropa), then restore", *data)
	}

	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := keys.ReadStreamHeader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	withKeys := h.Flags&flagWithKeys != 0
	storeDir, keysDir := filepath.Join(*data, "store"), filepath.Join(*data, "keys")
	haveKeys := pathExists(filepath.Join(keysDir, "store.key"))
	if dirHasFiles(storeDir) && !*force {
		return fmt.Errorf("%s already holds a store: restore into an empty data directory, or give --force to move the store aside (nothing is deleted)", *data)
	}
	if withKeys && haveKeys && !*force {
		return fmt.Errorf("%s already holds keys and this backup carries its own: give --force to move them aside (nothing is deleted), or restore into an empty data directory", *data)
	}
	storePassphrase, err := readPassphrase(*storePass)
	if err != nil {
		return err
	}

	// The key that opens the backup.
	var key [32]byte
	var ring *keys.Ring // DIR's ring, for a store-key backup or a backup without keys
	switch h.KDF {
	case keys.KDFStoreKey:
		if !haveKeys {
			return fmt.Errorf("this backup is encrypted with the store key of the installation that made it, and %s has no keys/: copy that installation's keys/ directory there first (or make backups with --passphrase)", *data)
		}
		if ring, err = keys.Open(keysDir, storePassphrase, true); err != nil {
			return err
		}
		key = ring.StreamKey(h)
	case keys.KDFPassphrase:
		pass, err := readSecret(*passFile, "backup passphrase", false, stderr)
		if err != nil {
			return err
		}
		if key, err = keys.PassphraseKey(pass, h); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}

	// Pass 1: authenticate everything, write nothing.
	prog := newProgress(stderr, "verifying")
	or, err := keys.NewOpenReader(io.TeeReader(bufio.NewReaderSize(f, 1<<20), prog), key, h)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	contents, err := readBackup(or, nil)
	prog.done()
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was written", file, err)
	}
	if contents.manifest.WithKeys != withKeys || (withKeys && len(contents.keyFiles) == 0) {
		return fmt.Errorf("%s: the backup's manifest and header disagree about its keys; nothing was written", file)
	}

	// Pass 2: into a temporary directory beside the store.
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(*data, ".restore-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	tmpKeys, tmpStore := filepath.Join(tmp, "keys"), filepath.Join(tmp, "store")
	keysNote := "kept " + keysDir
	switch {
	case withKeys:
		if err := keys.WriteKeyFiles(tmpKeys, contents.keyFiles); err != nil {
			return err
		}
		if ring, err = keys.Open(tmpKeys, storePassphrase, true); err != nil {
			return fmt.Errorf("the restored keys: %w (the store key in the backup is protected by the passphrase it had: give it with TROPA_PASSPHRASE or --passphrase-file)", err)
		}
		keysNote = "restored from the backup"
	case ring == nil && haveKeys:
		if ring, err = keys.Open(keysDir, storePassphrase, true); err != nil {
			return err
		}
	case ring == nil:
		// A passphrase backup without keys into a fresh directory: a new
		// store key, and new onion identities at the first start.
		if ring, err = keys.Open(tmpKeys, storePassphrase, false); err != nil {
			return err
		}
		keysNote = "new (a new store key; the onions get new addresses at the first start unless you import identities with tropa keys import)"
	}
	db, err := store.Open(store.Options{Dir: tmpStore, Key: ring.StoreKey()})
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		db.Close()
		return err
	}
	if _, err := keys.ReadStreamHeader(f); err != nil {
		db.Close()
		return err
	}
	prog = newProgress(stderr, "restoring")
	or, err = keys.NewOpenReader(io.TeeReader(bufio.NewReaderSize(f, 1<<20), prog), key, h)
	if err != nil {
		db.Close()
		return err
	}
	pr, pw := io.Pipe()
	loaded := make(chan error, 1)
	go func() {
		err := db.Load(pr)
		pr.CloseWithError(err) // unblocks the writer if Load stopped early
		loaded <- err
	}()
	_, err = readBackup(or, func(p []byte) error {
		_, err := pw.Write(p)
		return err
	})
	pw.CloseWithError(err)
	loadErr := <-loaded
	prog.done()
	closeErr := db.Close()
	if err := errors.Join(err, loadErr, closeErr); err != nil {
		return fmt.Errorf("restoring %s: %w; the data directory was left as it was", file, err)
	}

	// Into place. Old contents move aside.
	stamp := time.Now().UTC().Format("20060102-150405")
	var moved []string
	if pathExists(storeDir) {
		aside := storeDir + ".replaced-" + stamp
		if err := os.Rename(storeDir, aside); err != nil {
			return err
		}
		moved = append(moved, aside)
	}
	if err := os.Rename(tmpStore, storeDir); err != nil {
		return err
	}
	if pathExists(tmpKeys) {
		if pathExists(keysDir) {
			aside := keysDir + ".replaced-" + stamp
			if err := os.Rename(keysDir, aside); err != nil {
				return err
			}
			moved = append(moved, aside)
		}
		if err := os.Rename(tmpKeys, keysDir); err != nil {
			return err
		}
	}
	os.RemoveAll(tmp)
	done = true
	syncDir(*data)

	fmt.Fprintf(stdout, "restored %s of records from %s (made %s by tropa %s) into %s\nkeys: %s\n",
		byteSize(contents.storeBytes), file, contents.manifest.Created.Format("2006-01-02 15:04 UTC"), contents.manifest.Tropa, storeDir, keysNote)
	if withKeys || haveKeys {
		if r, err := keys.Open(keysDir, storePassphrase, true); err == nil && r.HasIdentity("public") {
			if id, err := r.Identity("public"); err == nil {
				fmt.Fprintf(stdout, "public onion at the next start: http://%s.onion\n", onion.Address(id.Public().(ed25519.PublicKey)))
			}
		}
	}
	for _, m := range moved {
		fmt.Fprintf(stdout, "moved aside: %s (delete it once the restored portal works)\n", m)
	}
	return nil
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

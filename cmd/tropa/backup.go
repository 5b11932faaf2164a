package main

// `tropa backup FILE`: an encrypted, authenticated snapshot of the store.
//
// While tropa serves the data directory, the serving process makes the
// snapshot (the store is its alone) and streams the sealed file over the
// 0600 status socket (POST /admin?stream=backup); the command only writes
// what it receives. With nothing serving, the command opens the store
// itself. Either way the same writeBackup runs.
//
// The file is a keys sealed stream (keys/stream.go) holding records:
//
//	'M' manifest (JSON: tropa version, time, whether keys are included)
//	'K' a key directory file (with --with-keys only): name and content
//	'S' a piece of Badger's backup stream (plaintext inside the seal)
//	'E' end (JSON: bytes of store data, snapshot version)
//
// each as kind, a big-endian uint32 length and the payload. Restore
// (restore.go) reads them back.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"tropa/internal/store"
	"tropa/keys"
)

func init() {
	register(&command{name: "backup", summary: "write an encrypted snapshot of the store (while serving, too)", run: runBackup})
}

// Record kinds of the backup container.
const (
	recManifest = 'M'
	recKeyFile  = 'K'
	recStore    = 'S'
	recEnd      = 'E'
)

// Header flags.
const flagWithKeys = 1

// maxRecord bounds a record's payload (store pieces are at most a sealed
// chunk; key files and the manifest are small).
const maxRecord = 1 << 20

type backupManifest struct {
	Tropa    string    `json:"tropa"`
	Created  time.Time `json:"created"`
	WithKeys bool      `json:"with_keys"`
}

type backupEnd struct {
	StoreBytes int64  `json:"store_bytes"`
	Version    uint64 `json:"version"`
}

// backupRequest is what the command sends to the serving process: the key
// for a passphrase backup is derived by the command, so the passphrase
// itself never leaves it.
type backupRequest struct {
	WithKeys bool   `json:"with_keys"`
	KDF      uint8  `json:"kdf"`
	Salt     []byte `json:"salt,omitempty"`
	Key      []byte `json:"key,omitempty"`
}

// recordWriter frames records.
type recordWriter struct{ w io.Writer }

func (rw recordWriter) record(kind byte, payload []byte) error {
	var h [5]byte
	h[0] = kind
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	if _, err := rw.w.Write(h[:]); err != nil {
		return err
	}
	_, err := rw.w.Write(payload)
	return err
}

// storeWriter turns Badger's backup stream into 'S' records.
type storeWriter struct {
	rw recordWriter
	n  int64
}

func (s *storeWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		c := min(len(p), keys.StreamChunk)
		if err := s.rw.record(recStore, p[:c]); err != nil {
			return total - len(p), err
		}
		s.n += int64(c)
		p = p[c:]
	}
	return total, nil
}

// writeBackup writes the sealed backup of db (and, on request, of ring's
// key files) to w.
func writeBackup(w io.Writer, db *store.DB, ring *keys.Ring, req backupRequest) error {
	var flags uint8
	if req.WithKeys {
		flags |= flagWithKeys
	}
	h, err := keys.NewStreamHeader(req.KDF, flags)
	if err != nil {
		return err
	}
	var key [32]byte
	switch req.KDF {
	case keys.KDFStoreKey:
		if req.WithKeys {
			return errors.New("a backup with the keys needs a passphrase: the store key itself is in it")
		}
		key = ring.StreamKey(h)
	case keys.KDFPassphrase:
		if len(req.Key) != 32 || len(req.Salt) != len(h.Salt) {
			return errors.New("malformed backup request (key or salt)")
		}
		copy(h.Salt[:], req.Salt)
		copy(key[:], req.Key)
	default:
		return fmt.Errorf("unknown key kind %d", req.KDF)
	}
	// A buffer between Badger's many small writes and the sealer.
	bw := bufio.NewWriterSize(w, 256<<10)
	sw, err := keys.NewSealWriter(bw, key, h)
	if err != nil {
		return err
	}
	rw := recordWriter{w: sw}
	m, _ := json.Marshal(backupManifest{Tropa: version, Created: time.Now().UTC(), WithKeys: req.WithKeys})
	if err := rw.record(recManifest, m); err != nil {
		return err
	}
	if req.WithKeys {
		files, err := ring.KeyFiles()
		if err != nil {
			return err
		}
		for _, f := range files {
			p := make([]byte, 0, 2+len(f.Name)+len(f.Data))
			p = binary.BigEndian.AppendUint16(p, uint16(len(f.Name)))
			p = append(p, f.Name...)
			p = append(p, f.Data...)
			if err := rw.record(recKeyFile, p); err != nil {
				return err
			}
		}
	}
	stw := &storeWriter{rw: rw}
	ver, err := db.Backup(stw)
	if err != nil {
		return err
	}
	e, _ := json.Marshal(backupEnd{StoreBytes: stw.n, Version: ver})
	if err := rw.record(recEnd, e); err != nil {
		return err
	}
	if err := sw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// withBackupStream serves POST /admin?stream=backup on the status socket
// beside the admin commands (next).
func withBackupStream(next http.Handler, db *store.DB, ring *keys.Ring) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("stream") != "backup" {
			next.ServeHTTP(w, r)
			return
		}
		var req backupRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxAdminRequest)).Decode(&req); err != nil {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(adminFailure(fmt.Errorf("malformed request: %w", err)))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Trailer", "Tropa-Error")
		fw := &flushWriter{w: w, f: w.(http.Flusher)}
		if err := writeBackup(fw, db, ring, req); err != nil {
			w.Header().Set("Tropa-Error", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	})
}

// flushWriter sends what it gets at once, so the command's progress moves.
type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.f.Flush()
	return n, err
}

func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "backup FILE [--data DIR] [--with-keys] [--passphrase | --backup-passphrase-file FILE]", stderr)
	data := fs.String("data", "./data", "the data directory to back up (served or not)")
	storePass := fs.String("passphrase-file", "", "file holding the store key's passphrase (or TROPA_PASSPHRASE); needed only when tropa is not running")
	withKeys := fs.Bool("with-keys", false, "include the keys (store key, onion identities, staff device keys): needs a backup passphrase")
	ask := fs.Bool("passphrase", false, "encrypt with a passphrase asked for on the terminal instead of the store key (for a backup that may be restored elsewhere)")
	passFile := fs.String("backup-passphrase-file", "", "encrypt with the passphrase in this file (as --passphrase, for scripts)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	file, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	req := backupRequest{WithKeys: *withKeys, KDF: keys.KDFStoreKey}
	if *ask || *passFile != "" {
		pass, err := readSecret(*passFile, "backup passphrase", true, stderr)
		if err != nil {
			return err
		}
		h, err := keys.NewStreamHeader(keys.KDFPassphrase, 0)
		if err != nil {
			return err
		}
		k, err := keys.PassphraseKey(pass, h)
		if err != nil {
			return err
		}
		req.KDF, req.Salt, req.Key = keys.KDFPassphrase, h.Salt[:], k[:]
	} else if *withKeys {
		return errors.New("--with-keys needs a backup passphrase (--passphrase, or --backup-passphrase-file FILE): the store key itself travels in the backup, so it cannot be what protects it")
	}
	if _, err := os.Stat(file); err == nil && !*force {
		return fmt.Errorf("%s exists: choose another name, or give --force to replace it", file)
	}
	if fi, err := os.Stat(*data); err != nil || !fi.IsDir() {
		return fmt.Errorf("no data directory %s (check --data)", *data)
	}

	part := file + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(part)
		}
	}()
	prog := newProgress(stderr, "backup")
	out := io.MultiWriter(f, prog)
	started := time.Now()
	served, err := backupServed(*data, req, out)
	if !served && err == nil {
		err = backupDirect(*data, *storePass, req, out)
	}
	prog.done()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Check what was written reads to its end (the server could have
	// stopped half way): the seal's structure, without the key.
	if err := checkSealedFrames(part); err != nil {
		return fmt.Errorf("the backup written is incomplete (%v); nothing was kept", err)
	}
	if err := os.Rename(part, file); err != nil {
		return err
	}
	ok = true
	syncDir(filepath.Dir(file))
	took := time.Since(started)
	how := "this installation's store key: restore it with its keys/ directory in place (tropa restore FILE --data DIR)"
	if req.KDF == keys.KDFPassphrase {
		how = "the backup passphrase"
	}
	keysNote := "not included (onion identities and store key stay on this machine; see tropa keys export)"
	if req.WithKeys {
		keysNote = "INCLUDED: keep the file and its passphrase safe"
	}
	fmt.Fprintf(stdout, "wrote %s: %s in %s (%s/s)\nencrypted with %s\nkeys: %s\n",
		file, byteSize(prog.n), took.Round(time.Millisecond), byteSize(int64(float64(prog.n)/max(took.Seconds(), 1e-3))), how, keysNote)
	return nil
}

// backupServed asks a tropa serving data for the backup; served is false
// when nothing serves it.
func backupServed(data string, req backupRequest, out io.Writer) (served bool, err error) {
	sock := filepath.Join(data, statusSocket)
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return false, nil
		}
		return true, fmt.Errorf("cannot reach the running tropa at %s: %w (run this as the user tropa runs as)", sock, err)
	}
	conn.Close()
	body, _ := json.Marshal(req)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://tropa/admin?stream=backup", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return true, fmt.Errorf("the running tropa did not answer: %w", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		var rep adminReply
		if strings.HasPrefix(ct, "application/json") && json.NewDecoder(resp.Body).Decode(&rep) == nil && rep.Error != nil {
			return true, errors.New(rep.Error.Message)
		}
		return true, errors.New("the running tropa does not make backups (an older version?): upgrade it, or stop it and run this again")
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return true, fmt.Errorf("receiving the backup: %w", err)
	}
	if msg := resp.Trailer.Get("Tropa-Error"); msg != "" {
		return true, fmt.Errorf("the running tropa failed to make the backup: %s", msg)
	}
	return true, nil
}

// backupDirect opens the store of data (nothing serves it) and writes the
// backup.
func backupDirect(data, passFile string, req backupRequest, out io.Writer) error {
	ring, db, err := openStoreDirect(data, passFile)
	if err != nil {
		return err
	}
	defer db.Close()
	return writeBackup(out, db, ring, req)
}

// openStoreDirect unlocks the keys and opens the existing store of data.
func openStoreDirect(data, passFile string) (*keys.Ring, *store.DB, error) {
	storeDir := filepath.Join(data, "store")
	if !dirHasFiles(storeDir) {
		return nil, nil, fmt.Errorf("no tropa store in %s (check --data)", data)
	}
	pass, err := readPassphrase(passFile)
	if err != nil {
		return nil, nil, err
	}
	ring, err := openExistingRing(data, pass)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey()})
	if err != nil {
		if strings.Contains(err.Error(), "Another process is using this Badger database") {
			return nil, nil, fmt.Errorf("the store in %s is in use by another process (a tropa starting or stopping?): try again in a moment", data)
		}
		return nil, nil, storeOpenError(err, data)
	}
	return ring, db, nil
}

// checkSealedFrames walks a sealed file's frames without opening them: a
// file whose last frame is not flagged final was cut.
func checkSealedFrames(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	if _, err := keys.ReadStreamHeader(r); err != nil {
		return err
	}
	for {
		var word [4]byte
		if _, err := io.ReadFull(r, word[:]); err != nil {
			return keys.ErrTruncated
		}
		w := binary.BigEndian.Uint32(word[:])
		if _, err := r.Discard(int(w &^ (1 << 31))); err != nil {
			return keys.ErrTruncated
		}
		if w&(1<<31) != 0 {
			if _, err := r.ReadByte(); err != io.EOF {
				return keys.ErrDamaged
			}
			return nil
		}
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// readSecret reads a passphrase from file, or asks for it on the terminal
// (twice when confirm).
func readSecret(file, what string, confirm bool, stderr io.Writer) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return nil, fmt.Errorf("%s: the file is empty", file)
		}
		return []byte(p), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, fmt.Errorf("stdin is not a terminal, so the %s cannot be asked for: give it in a file (see -h)", what)
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return b, err
	}
	p, err := ask("The " + what + ": ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("the %s is empty", what)
	}
	if confirm {
		if len(p) < 12 {
			return nil, fmt.Errorf("the %s is too short: use at least 12 characters (a few words)", what)
		}
		again, err := ask("The same " + what + " again: ")
		if err != nil {
			return nil, err
		}
		if string(again) != string(p) {
			return nil, fmt.Errorf("the two %ss differ; nothing was written", what)
		}
	}
	return p, nil
}

// progress counts bytes and shows them with the rate on stderr: on one
// rewritten line on a terminal, else a line every few seconds.
type progress struct {
	w       io.Writer
	what    string
	tty     bool
	n       int64
	started time.Time
	last    time.Time
	shown   bool
}

func newProgress(w io.Writer, what string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	now := time.Now()
	return &progress{w: w, what: what, tty: tty, started: now, last: now}
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	every := 5 * time.Second
	if p.tty {
		every = 250 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.show()
	}
	return len(b), nil
}

func (p *progress) show() {
	secs := max(time.Since(p.started).Seconds(), 1e-3)
	line := fmt.Sprintf("%s: %s, %s/s", p.what, byteSize(p.n), byteSize(int64(float64(p.n)/secs)))
	if p.tty {
		fmt.Fprintf(p.w, "\r%-60s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.shown = true
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

package main

// Admin commands. The store is one process's alone (Badger locks it), so a
// command such as `tropa staff add` cannot open it while `tropa serve` runs.
// Instead it sends its request to the running process over the 0600 status
// socket (POST /admin, JSON) and that process runs it with its open store;
// with nothing serving, the CLI opens the store itself. Both paths build
// the same AdminDeps and call the same execAdmin, so a command behaves
// alike either way.
//
// A new command is a function registered with registerAdmin (see staff.go),
// plus, if it needs something new, a field in AdminDeps that NewAdminDeps
// fills.

import (
	"bytes"
	"context"
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

	"tropa/forum"
	"tropa/internal/store"
	"tropa/keys"
	"tropa/metrics"
	"tropa/staff"
)

// AdminDeps is what admin commands act on. serve.go builds it once over its
// store and shares it (the site uses the same staff service: the login
// throttle lives in it); the direct path builds it the same way.
type AdminDeps struct {
	Staff *staff.Service
	// Board is the forum. serve.go sets its own (the forum's keys have one
	// writer per store); the direct path opens one. Nil: the forum
	// commands refuse.
	Board *forum.Service
	// OnBoardChange, when set, is told what a command changed on the board
	// (a thread; 0: the lists), so the site's page cache drops those pages.
	OnBoardChange func(forum.ThreadID)
	// Metrics is the outreach metrics (stats.go). serve.go sets the one
	// the site counts into, so its counts not yet stored are included.
	Metrics *metrics.Recorder
}

// staffOptions tune the staff service; tests make hashing cheap.
var staffOptions staff.Options

// NewAdminDeps builds the admin dependencies over an open store and writes
// the first saved replies on the store's first start.
func NewAdminDeps(ctx context.Context, db *store.DB) (*AdminDeps, error) {
	svc := staff.NewService(store.NewStaffRepo(db), nil, staffOptions)
	if err := svc.Seed(ctx); err != nil {
		return nil, fmt.Errorf("seed the saved replies: %w", err)
	}
	return &AdminDeps{Staff: svc, Metrics: metrics.NewRecorder(store.NewMetricsRepo(db), nil)}, nil
}

// adminCommand runs one command. args is the whole request object (its
// "cmd" field included); the result is sent back as JSON.
type adminCommand func(ctx context.Context, d *AdminDeps, args json.RawMessage) (any, error)

var adminCommands = map[string]adminCommand{}

func registerAdmin(name string, fn adminCommand) {
	if _, dup := adminCommands[name]; dup {
		panic("admin command registered twice: " + name)
	}
	adminCommands[name] = fn
}

// adminFunc adapts a function taking its arguments as a struct.
func adminFunc[A any](fn func(ctx context.Context, d *AdminDeps, args A) (any, error)) adminCommand {
	return func(ctx context.Context, d *AdminDeps, raw json.RawMessage) (any, error) {
		var a A
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("malformed request: %w", err)
		}
		return fn(ctx, d, a)
	}
}

// adminReply is the answer to a request, on either path.
type adminReply struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *adminError     `json:"error,omitempty"`
}

type adminError struct {
	// Message is one line for the operator.
	Message string `json:"message"`
	// Code and Key are a domain error's, when it is one.
	Code string `json:"code,omitempty"`
	Key  string `json:"key,omitempty"`
}

// maxAdminRequest bounds a request body.
const maxAdminRequest = 64 << 10

// execAdmin runs the request in body ({"cmd": "staff.add", ...}) against d.
// It is the one handler behind both paths.
func execAdmin(ctx context.Context, d *AdminDeps, body []byte) adminReply {
	var env struct {
		Cmd string `json:"cmd"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return adminFailure(fmt.Errorf("malformed request: %w", err))
	}
	fn := adminCommands[env.Cmd]
	if fn == nil {
		return adminFailure(fmt.Errorf("unknown admin command %q", env.Cmd))
	}
	res, err := fn(ctx, d, body)
	if err != nil {
		return adminFailure(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return adminFailure(err)
	}
	return adminReply{OK: true, Result: b}
}

func adminFailure(err error) adminReply {
	e := &adminError{Message: adminMessage(err)}
	var se *staff.Error
	var ses staff.Errors
	if errors.As(err, &se) || errors.As(err, &ses) {
		e.Code, e.Key = staff.ErrorCode(err), staff.ErrorKey(err)
	}
	return adminReply{Error: e}
}

// adminMessage is err as one line for the operator: a domain error's
// message key turned into English, other errors as they are (the operator
// is local; nothing here carries a password).
func adminMessage(err error) string {
	var ses staff.Errors
	if errors.As(err, &ses) {
		parts := make([]string, len(ses))
		for i, e := range ses {
			parts[i] = staffMessage(e)
		}
		return strings.Join(parts, "; ")
	}
	var se *staff.Error
	if errors.As(err, &se) {
		return staffMessage(se)
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// AdminHandler serves execAdmin on the status socket (POST /admin).
func AdminHandler(d *AdminDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminRequest))
		var rep adminReply
		if err != nil {
			rep = adminFailure(fmt.Errorf("request too large or cut: %w", err))
		} else {
			rep = execAdmin(r.Context(), d, body)
		}
		json.NewEncoder(w).Encode(rep)
	})
}

// adminTarget says where a command's data directory is and how to open its
// store when nothing serves it.
type adminTarget struct {
	data           string
	passphraseFile string
	// create lets the direct path make a new data directory and store
	// (`staff add` before the first start); other commands refuse a
	// directory without a store, which is most often a mistyped --data.
	create bool
	stderr io.Writer
}

// callAdmin runs req ({"cmd": ..., args}) over the socket of a tropa
// serving t.data, or, with none, against the store opened here, and
// decodes the result into out (nil: ignore it). A refused command returns
// an error whose text is one line for the operator.
func callAdmin(ctx context.Context, t adminTarget, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sock := filepath.Join(t.data, statusSocket)
	var rep adminReply
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	switch {
	case err == nil:
		conn.Close()
		if rep, err = postAdmin(ctx, sock, body); err != nil {
			return err
		}
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		// Nothing is serving (a refused socket was left by a killed tropa).
		d, closeStore, err := openAdminDirect(ctx, t)
		if err != nil {
			return err
		}
		rep = execAdmin(ctx, d, body)
		if err := closeStore(); err != nil && rep.OK {
			return fmt.Errorf("close the store: %w", err)
		}
	default:
		return fmt.Errorf("cannot reach the running tropa at %s: %w (run this as the user tropa runs as)", sock, err)
	}
	if !rep.OK {
		if rep.Error == nil {
			return errors.New("the command failed without saying why")
		}
		return errors.New(rep.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(rep.Result, out); err != nil {
			return fmt.Errorf("unreadable answer: %w", err)
		}
	}
	return nil
}

// postAdmin sends body to the running tropa.
func postAdmin(ctx context.Context, sock string, body []byte) (adminReply, error) {
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://tropa/admin", bytes.NewReader(body))
	if err != nil {
		return adminReply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return adminReply{}, fmt.Errorf("the running tropa did not answer: %w", err)
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return adminReply{}, errors.New("the running tropa does not take admin commands (an older version?): upgrade it, or stop it and run this again")
		}
		return adminReply{}, fmt.Errorf("the running tropa answered %s", resp.Status)
	}
	var rep adminReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&rep); err != nil {
		return adminReply{}, fmt.Errorf("unreadable answer from the running tropa: %w", err)
	}
	return rep, nil
}

// openAdminDirect opens the store of t.data as serve.go does and builds the
// admin dependencies over it.
func openAdminDirect(ctx context.Context, t adminTarget) (*AdminDeps, func() error, error) {
	storeDir := filepath.Join(t.data, "store")
	exists := dirHasFiles(storeDir)
	if !exists && !t.create {
		return nil, nil, fmt.Errorf("no tropa store in %s (check --data)", t.data)
	}
	pass, err := readPassphrase(t.passphraseFile)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(t.data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(t.data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	ring, err := keys.Open(filepath.Join(t.data, "keys"), pass, exists)
	if err != nil {
		return nil, nil, err
	}
	if !ring.Protected && !exists {
		// serve repeats this at every start; a command says it once, when
		// it made the key.
		fmt.Fprintf(t.stderr, "warning: no passphrase given, so the store key lies unprotected in %s: the data is only as safe as this disk (set TROPA_PASSPHRASE or --passphrase-file)\n", filepath.Join(t.data, "keys", "store.key"))
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey()})
	if err != nil {
		if strings.Contains(err.Error(), "Another process is using this Badger database") {
			return nil, nil, fmt.Errorf("the store in %s is in use by another process (a tropa starting or stopping?): try again in a moment", t.data)
		}
		return nil, nil, storeOpenError(err, t.data)
	}
	d, err := NewAdminDeps(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	boardRepo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	d.Board = forum.NewService(boardRepo, nil, forum.Options{})
	return d, func() error { boardRepo.Close(); return db.Close() }, nil
}

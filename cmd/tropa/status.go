package main

import (
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
	"time"

	"tropa/onion"
)

func init() {
	register(&command{name: "status", summary: "show the running portal's tor and onion health", run: runStatus})
}

// statusReport is what `tropa serve` answers on its status socket: states
// and counts only, never anything about a visitor.
type statusReport struct {
	Version string        `json:"version"`
	Started time.Time     `json:"started"`
	Tor     *onion.Status `json:"tor,omitempty"`
	// Maintenance: retention and garbage collection (retention.go).
	Maintenance *maintenanceStatus `json:"maintenance,omitempty"`
}

const statusSocket = "tropa.sock"

// serveStatus answers `tropa status` on a 0600 unix socket in the data
// directory, and admin commands too when given their handler (AdminHandler
// in admin.go). It returns a function that stops it.
func serveStatus(dataDir string, report func() statusReport, admin ...http.Handler) (func(), error) {
	path := filepath.Join(dataDir, statusSocket)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another tropa is already serving %s", dataDir)
	}
	os.Remove(path) // left by a killed tropa
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(report())
	})
	if len(admin) > 0 {
		mux.Handle("POST /admin", admin[0])
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLog}
	go srv.Serve(ln)
	return func() {
		srv.Close()
		os.Remove(path)
	}, nil
}

func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "status [--data DIR] [--json]", stderr)
	data := fs.String("data", "./data", "the data directory of the running tropa")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path := filepath.Join(*data, statusSocket)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	resp, err := client.Get("http://tropa/status")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such file") {
			return fmt.Errorf("tropa is not running with --data %s", *data)
		}
		return err
	}
	defer resp.Body.Close()
	var rep statusReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return fmt.Errorf("unreadable status: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printStatus(stdout, rep, time.Now())
	return nil
}

func printStatus(w io.Writer, rep statusReport, now time.Time) {
	fmt.Fprintf(w, "tropa %s, up %s\n", rep.Version, now.Sub(rep.Started).Round(time.Second))
	printMaintenance(w, rep.Maintenance, now)
	t := rep.Tor
	if t == nil {
		fmt.Fprintln(w, "tor: off (--tor=false)")
		return
	}
	running := "running"
	if !t.Running {
		running = "NOT RUNNING (restarting)"
	}
	fmt.Fprintf(w, "tor %s: %s, pid %d, bootstrap %d%% (%s), restarts %d\n", t.Version, running, t.PID, t.Bootstrap, t.Summary, t.Restarts)
	fmt.Fprintf(w, "circuits closed for abuse today: %d\n", t.ClosedToday)
	for _, s := range t.Services {
		last := "never"
		if !s.LastUpload.IsZero() {
			last = s.LastUpload.Format(time.RFC3339) + " (" + now.Sub(s.LastUpload).Round(time.Second).String() + " ago)"
		}
		pow := "off"
		if s.PoW {
			pow = "on"
			if s.PoWEffort != "" {
				pow += ", suggested effort " + s.PoWEffort
			}
		}
		desc := yesNo(s.HasDescriptor, "published", "MISSING")
		if s.Withdrawn {
			desc = "not published (no staff client keys yet: tropa staff client-key NAME)"
		}
		fmt.Fprintf(w, "%s onion: http://%s.onion\n  descriptor: %s, last upload %s, failed uploads %d\n  introduction points: %d\n  proof-of-work defense: %s\n",
			s.Name, s.Address, desc, last, s.UploadFailures, s.IntroPoints, pow)
	}
	printBalance(w, t.Balance, now) // instance.go
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

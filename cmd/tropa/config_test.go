package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tropa.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigRefusals: every refusal names the key and what is allowed.
func TestConfigRefusals(t *testing.T) {
	preview := "tor = false\nhttp = \"127.0.0.1:8080\"\n"
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "bogus = 1\n", []string{`unknown key "bogus"`, "the keys are:", "retention-days"}},
		{"config names a config", `config = "other.toml"` + "\n", []string{`unknown key "config"`}},
		{"a table", "[serve]\nhttp = \"127.0.0.1:1\"\n", []string{`unknown key "serve"`}},
		{"syntax", "http = \n", []string{"line 1", "TOML"}},
		{"bool as string", `tor = "false"` + "\n", []string{"tor (in", "want true or false", `not "false"`}},
		{"int as string", `max-streams = "5"` + "\n", []string{"max-streams (in", "want a whole number"}},
		{"int as float", "pow-queue-rate = 1.5\n", []string{"pow-queue-rate", "want a whole number"}},
		{"duration as int", "gc-interval = 5\n", []string{"gc-interval", "want a duration"}},
		{"bad duration", `gc-interval = "soon"` + "\n", []string{"gc-interval", `"soon" is not a duration`}},
		{"string as int", "torrc = 5\n", []string{"torrc", "want a string"}},
		{"http not loopback", `http = "0.0.0.0:8080"` + "\n", []string{`http = "0.0.0.0:8080" (in`, "only a loopback address"}},
		{"staff-http not loopback", preview + `staff-http = "10.1.2.3:80"` + "\n", []string{"staff-http", "only a loopback address"}},
		{"http without port", `http = "127.0.0.1"` + "\n", []string{"http", "HOST:PORT"}},
		{"nothing to serve", "tor = false\n", []string{"tor = false (in", "nothing to serve"}},
		{"same address twice", preview + `staff-http = "127.0.0.1:8080"` + "\n", []string{"staff-http", "must differ from http"}},
		{"retention zero", preview + "retention-days = 0\n", []string{"retention-days = 0", "between 1 and 3650"}},
		{"retention huge", preview + "retention-days = 100000\n", []string{"retention-days", "between 1 and 3650"}},
		{"pow rate negative", preview + "pow-queue-rate = -1\n", []string{"pow-queue-rate = -1", "between 0 and 1000000"}},
		{"pow burst huge", preview + "pow-queue-burst = 20000000\n", []string{"pow-queue-burst", "between 0 and 10000000"}},
		{"max streams", preview + "max-streams = 70000\n", []string{"max-streams = 70000", "between 0 and 65535"}},
		{"gc too often", preview + `gc-interval = "10s"` + "\n", []string{"gc-interval", `between "1m" and "168h"`}},
		{"empty data", preview + `data = ""` + "\n", []string{"data", "give the data directory"}},
		{"empty tor-bin", `tor-bin = ""` + "\n", []string{"tor-bin", "give the tor executable"}},
		{"missing passphrase file", preview + `passphrase-file = "/nonexistent/pass"` + "\n", []string{"passphrase-file", "no such file"}},
		{"missing tor", `tor-bin = "/nonexistent/tor"` + "\n", []string{"tor-bin", "not found"}},
		{"several at once", "retention-days = 0\nmax-streams = -2\n", []string{"problems in the settings", "retention-days", "max-streams"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.file)
			code, _, errs := runCLI(t, "", "config", "check", path)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	// A readable-by-others passphrase file is refused by check.
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte("secret"), 0o644)
	code, _, errs := runCLI(t, "", "config", "check", writeConfig(t, preview+"passphrase-file = \""+pf+"\"\n"))
	if code != 1 || !strings.Contains(errs, "chmod 600") {
		t.Errorf("0644 passphrase file: exit %d\n%s", code, errs)
	}
	// serve refuses the same way before starting anything.
	dir := t.TempDir()
	wantFail(t, 1, "", "only a loopback address", "serve", "--config", writeConfig(t, `http = "192.168.1.1:80"`+"\ndata = \""+dir+"\"\n"))
	if dirHasFiles(dir) {
		t.Error("serve wrote to the data directory before refusing its configuration")
	}
}

func TestConfigFlagsOverrideFile(t *testing.T) {
	path := writeConfig(t, "tor = false\nhttp = \"127.0.0.1:8080\"\nretention-days = 0\nmax-streams = 7\ngc-interval = \"2h\"\n")
	var cfg serveConfig
	fs := serveFlags(&cfg, io.Discard)
	if err := fs.Parse([]string{"--config", path, "--retention-days", "30", "--http", "127.0.0.1:9999"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(fs, &cfg); err != nil {
		t.Fatalf("a flag should override the file's bad value: %v", err)
	}
	if cfg.retentionDays != 30 || cfg.http != "127.0.0.1:9999" || cfg.defense.MaxStreams != 7 || cfg.tor || cfg.gcInterval != 2*time.Hour {
		t.Errorf("merged settings: %+v", cfg)
	}
	// A flag's own bad value is named as a flag.
	var cfg2 serveConfig
	fs2 := serveFlags(&cfg2, io.Discard)
	fs2.Parse([]string{"--config", path, "--max-streams", "-1", "--retention-days", "5"})
	err := applyConfig(fs2, &cfg2)
	if err == nil || !strings.Contains(err.Error(), "--max-streams -1") {
		t.Errorf("flag error: %v", err)
	}
}

// TestConfigExample: the example holds every serve flag and parses back
// into a configuration that passes the checks.
func TestConfigExample(t *testing.T) {
	out := mustRun(t, "", "config", "example")
	var cfg serveConfig
	fs := serveFlags(&cfg, io.Discard)
	for _, k := range configKeys(fs) {
		if !strings.Contains(out, "\n"+k+" = ") {
			t.Errorf("the example lacks %s", k)
		}
	}
	if strings.Contains(out, "\nconfig = ") {
		t.Error("the example names a config key")
	}
	path := writeConfig(t, out)
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(fs, &cfg); err != nil {
		t.Fatalf("the example does not parse back: %v\n%s", err, out)
	}
	if cfg.data != "/var/lib/tropa" || cfg.retentionDays != 90 || cfg.gcInterval != time.Hour || !cfg.tor {
		t.Errorf("example settings: %+v", cfg)
	}
	// Through the command too, with tor off so no tor is needed.
	preview := strings.Replace(out, "\ntor = true\n", "\ntor = false\n", 1)
	preview = strings.Replace(preview, "\nhttp = \"\"\n", "\nhttp = \"127.0.0.1:8080\"\n", 1)
	if got := mustRun(t, "", "config", "check", writeConfig(t, preview)); !strings.Contains(got, ": ok") {
		t.Errorf("config check said %q", got)
	}
}

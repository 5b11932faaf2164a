package onion

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// features is what the installed tor supports, asked once at start.
type features struct {
	version string
	options map[string]bool
	modules map[string]bool
}

func detectFeatures(ctx context.Context, bin string) (features, error) {
	f := features{options: map[string]bool{}, modules: map[string]bool{}}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return f, fmt.Errorf("%s --version: %v (is it tor?)", bin, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	f.version = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "Tor version "), ".")
	if out, err := exec.CommandContext(ctx, bin, "--list-torrc-options").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f.options[strings.TrimSpace(sc.Text())] = true
		}
	}
	if out, err := exec.CommandContext(ctx, bin, "--list-modules").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(val) == "yes" {
				f.modules[strings.TrimSpace(name)] = true
			}
		}
	}
	return f, nil
}

func (f features) has(option string) bool { return f.options[option] }

func (f features) pow() bool {
	return f.options["HiddenServicePoWDefensesEnabled"] && f.modules["pow"]
}

// missing names the configured defenses this tor cannot provide.
func (f features) missing(d Defense) []string {
	var out []string
	if d.PoW && !f.pow() {
		out = append(out, "the proof-of-work defense (needs tor >= 0.4.9 built with the pow module)")
	}
	if d.IntroRate > 0 && !f.has("HiddenServiceEnableIntroDoSDefense") {
		out = append(out, "the introduction-point DoS defense")
	}
	return out
}

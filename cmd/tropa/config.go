package main

// The configuration file. Its keys are serve's flag names and nothing else
// (`http = "127.0.0.1:8080"` is `--http 127.0.0.1:8080`), so every setting
// that has a flag can be in the file, and a flag added to serve is a key at
// once. A flag given on the command line wins over the file. Unknown keys,
// values of the wrong type, values out of range and combinations that
// cannot work are refused before anything starts, each with the key's name,
// where it came from and what is allowed.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"tropa/onion"
)

func init() {
	register(&command{name: "config", summary: "check a configuration file (config check FILE) or print an example (config example)", run: runConfig})
}

const configUsage = `Usage: tropa config COMMAND

Commands:
  check FILE   check FILE as ` + "`tropa serve --config FILE`" + ` would, without starting
               anything: unknown keys, bad values, impossible combinations,
               and whether the files it names exist
  example      print a commented example configuration

The keys are the flags of ` + "`tropa serve`" + ` (see ` + "`tropa help serve`" + `); a flag given
on the command line overrides the file.
`

// runConfig is `tropa config example|check FILE`.
func runConfig(args []string, stdout, stderr io.Writer) error {
	return group("config", configUsage, map[string]func([]string, io.Writer, io.Writer) error{
		"example": configExample, "check": configCheck,
	})(args, stdout, stderr)
}

func configExample(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprint(stderr, configUsage)
		return errUsage
	}
	_, err := io.WriteString(stdout, exampleConfig())
	return err
}

func configCheck(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, configUsage)
		return errUsage
	}
	var cfg serveConfig
	fs := serveFlags(&cfg, io.Discard)
	if err := fs.Parse([]string{"--config", args[0]}); err != nil {
		return err
	}
	if err := applyConfig(fs, &cfg); err != nil {
		return err
	}
	if err := checkFiles(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	return nil
}

// configErrors are all the problems found, one line each.
type configErrors []string

func (e configErrors) Error() string {
	if len(e) == 1 {
		return e[0]
	}
	return fmt.Sprintf("%d problems in the settings:\n  %s", len(e), strings.Join(e, "\n  "))
}

// applyConfig reads cfg.config (if set) into the flags the command line
// left unset, then checks every setting.
func applyConfig(fs *flag.FlagSet, cfg *serveConfig) error {
	fromFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlag[f.Name] = true })
	fromFile := map[string]bool{}
	if cfg.config != "" {
		var err error
		if fromFile, err = loadConfigFile(fs, cfg.config, fromFlag); err != nil {
			return err
		}
	}
	// setting names a key's value and where it came from.
	setting := func(key, value string) string {
		switch {
		case fromFlag[key]:
			return fmt.Sprintf("--%s %s", key, value)
		case fromFile[key]:
			return fmt.Sprintf("%s = %s (in %s)", key, value, cfg.config)
		}
		return fmt.Sprintf("--%s %s (the default)", key, value)
	}
	return checkSettings(*cfg, setting)
}

// loadConfigFile sets the flags named by the file's keys, except those in
// skip, and returns which it set.
func loadConfigFile(fs *flag.FlagSet, path string, skip map[string]bool) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(b), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: line %d: %s (the file is TOML: key = value, strings in double quotes)", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems configErrors
	set := map[string]bool{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	// In the file's order, so the first problem reported is the first one
	// the operator reads.
	order := map[string]int{}
	for i, k := range md.Keys() {
		if len(k) == 1 {
			if _, seen := order[k[0]]; !seen {
				order[k[0]] = i
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return order[keys[i]] < order[keys[j]] })
	for _, key := range keys {
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			problems = append(problems, fmt.Sprintf("%s: unknown key %q; the keys are: %s", path, key, strings.Join(configKeys(fs), ", ")))
			continue
		}
		if skip[key] {
			continue // the command line wins
		}
		// A list sets a repeatable flag once per element.
		vals := []any{raw[key]}
		if list, ok := raw[key].([]any); ok && kindOf(f) == kindString {
			vals = list
		}
		var err error
		for _, v := range vals {
			var s string
			if s, err = configValue(f, v); err != nil {
				break
			}
			if err = f.Value.Set(s); err != nil {
				err = fmt.Errorf("%q: %v", s, err)
				break
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s (in %s): %v", key, path, err))
			continue
		}
		set[key] = true
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return set, nil
}

// configKeys lists the keys a file may hold.
func configKeys(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			out = append(out, f.Name)
		}
	})
	return out
}

type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindInt
	kindDuration
)

func kindOf(f *flag.Flag) flagKind {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return kindString
	}
	switch g.Get().(type) {
	case bool:
		return kindBool
	case int, int64, uint, uint64:
		return kindInt
	case time.Duration:
		return kindDuration
	}
	return kindString
}

func wantOf(f *flag.Flag) string {
	switch kindOf(f) {
	case kindBool:
		return "want true or false, without quotes"
	case kindInt:
		return "want a whole number, without quotes"
	case kindDuration:
		return `want a duration in quotes, such as "30m", "1h" or "24h"`
	}
	return "want a string in double quotes"
}

// Settings take the flag's text form: a repeatable flag takes a list of
// strings too (remote-instance = ["a.onion", "b.onion"]).

// configValue turns a TOML value into the flag's text form, refusing a
// value of the wrong TOML type (a quoted "false" for a bool, say).
func configValue(f *flag.Flag, v any) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("%s, not %s", wantOf(f), tomlShow(v))
	}
	switch kindOf(f) {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		return strconv.FormatBool(b), nil
	case kindInt:
		n, ok := v.(int64)
		if !ok {
			return bad()
		}
		return strconv.FormatInt(n, 10), nil
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		if _, err := time.ParseDuration(s); err != nil {
			return "", fmt.Errorf("%q is not a duration (%s)", s, wantOf(f))
		}
		return s, nil
	}
	s, ok := v.(string)
	if !ok {
		return bad()
	}
	return s, nil
}

func tomlShow(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case map[string]any:
		return "a table (the file has no sections: write every key = value at the top)"
	case []any, []map[string]any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// checkSettings refuses values out of range and combinations that cannot
// work. setting names a key's value and where it came from.
func checkSettings(c serveConfig, setting func(key, value string) string) error {
	var p configErrors
	bad := func(key, value, why string) {
		p = append(p, fmt.Sprintf("%s: %s", setting(key, value), why))
	}
	q := strconv.Quote
	if strings.TrimSpace(c.data) == "" {
		bad("data", q(c.data), "give the data directory, e.g. \"/var/lib/tropa\"")
	}
	for _, l := range []struct{ key, addr string }{{"http", c.http}, {"staff-http", c.staffHTTP}} {
		if l.addr != "" {
			if err := checkLoopback(l.addr); err != nil {
				bad(l.key, q(l.addr), err.Error())
			}
		}
	}
	// Port 0 asks the system for a free port, so two of them never clash.
	if c.http != "" && c.http == c.staffHTTP && !strings.HasSuffix(c.http, ":0") {
		bad("staff-http", q(c.staffHTTP), "must differ from http: the public site and the staff interface need an address each")
	}
	if !c.tor && c.http == "" {
		p = append(p, fmt.Sprintf("%s without http: nothing to serve; give http (e.g. \"127.0.0.1:8080\") for the local preview, or leave tor on", setting("tor", "false")))
	}
	if c.tor && strings.TrimSpace(c.torBin) == "" {
		bad("tor-bin", q(c.torBin), "give the tor executable, e.g. \"tor\" or \"/usr/sbin/tor\"")
	}
	ints := []struct {
		key      string
		v        int
		min, max int
		note     string
	}{
		{"pow-queue-rate", c.defense.PoWQueueRate, 0, 1_000_000, " (0: tor's default)"},
		{"pow-queue-burst", c.defense.PoWQueueBurst, 0, 10_000_000, " (0: tor's default)"},
		{"max-streams", c.defense.MaxStreams, 0, 65535, " (0: no limit)"},
		{"retention-days", c.retentionDays, 1, 3650, ""},
	}
	for _, n := range ints {
		if n.v < n.min || n.v > n.max {
			bad(n.key, strconv.Itoa(n.v), fmt.Sprintf("must be between %d and %d%s", n.min, n.max, n.note))
		}
	}
	if c.gcInterval < time.Minute || c.gcInterval > 7*24*time.Hour {
		bad("gc-interval", q(c.gcInterval.String()), `must be between "1m" and "168h"`)
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// checkFiles checks what `config check` can see beyond the values: the
// files the settings name exist (serve checks the same when it starts).
func checkFiles(c serveConfig) error {
	var p configErrors
	if c.passphraseFile != "" {
		if fi, err := os.Stat(c.passphraseFile); err != nil {
			p = append(p, fmt.Sprintf("passphrase-file = %q: %v", c.passphraseFile, err))
		} else if fi.Mode().Perm()&0o077 != 0 {
			p = append(p, fmt.Sprintf("passphrase-file = %q: readable by others (mode %v): chmod 600 it", c.passphraseFile, fi.Mode().Perm()))
		}
	}
	if c.tor {
		if _, err := onion.LookTor(c.torBin); err != nil {
			p = append(p, fmt.Sprintf("tor-bin = %q: %v", c.torBin, err))
		}
		if c.torrc != "" {
			if _, err := os.Stat(c.torrc); err != nil {
				p = append(p, fmt.Sprintf("torrc = %q: %v", c.torrc, err))
			}
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// exampleNotes add to a flag's help in the example file.
var exampleNotes = map[string]string{
	"data":            "Where the store, the keys and tor's state live. The systemd unit uses /var/lib/tropa.",
	"passphrase-file": "Without a passphrase the store key lies unprotected next to the data (tropa warns at each start).\nThe environment variable TROPA_PASSPHRASE works too.",
	"http":            "Empty: no local preview. Only loopback addresses are accepted.",
	"staff-http":      "Empty: the staff interface is only on the staff onion. Only loopback addresses are accepted.",
	"retention-days":  "Counted from the last post in the thread, whoever wrote it. Public threads are kept.",
	"gc-interval":     "A Go duration: \"30m\", \"1h\", \"24h\".",
}

// exampleValues replace a flag's default in the example file.
var exampleValues = map[string]string{
	"data": "/var/lib/tropa",
}

// exampleConfig is a commented file holding every key with its default,
// generated from serve's flags so it never misses one.
func exampleConfig() string {
	var cfg serveConfig
	fs := serveFlags(&cfg, io.Discard)
	var b bytes.Buffer
	b.WriteString(`# tropa configuration: ` + "`tropa serve --config FILE`" + `.
# Every key is a flag of ` + "`tropa serve`" + ` (same name, same meaning); a flag given
# on the command line overrides the file. Check a file with
# ` + "`tropa config check FILE`" + `. Values below are the defaults unless noted.

`)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		_, usage := flag.UnquoteUsage(f)
		for _, line := range wrapText(usage, 76) {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		if n := exampleNotes[f.Name]; n != "" {
			for _, para := range strings.Split(n, "\n") {
				for _, line := range wrapText(para, 76) {
					fmt.Fprintf(&b, "# %s\n", line)
				}
			}
		}
		v := f.DefValue
		if ev, ok := exampleValues[f.Name]; ok {
			fmt.Fprintf(&b, "# (default: %s)\n", tomlLiteral(f, v))
			v = ev
		}
		fmt.Fprintf(&b, "%s = %s\n\n", f.Name, tomlLiteral(f, v))
	})
	return b.String()
}

func tomlLiteral(f *flag.Flag, v string) string {
	switch kindOf(f) {
	case kindBool, kindInt:
		return v
	}
	return strconv.Quote(v)
}

func wrapText(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

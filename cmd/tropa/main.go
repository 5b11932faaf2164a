// Command tropa is the fund's anonymous information portal, published as a
// Tor onion service. One binary, with subcommands; this package only wires
// flags, the store, the site and tor together.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"sort"
	"strings"
)

// discardLog swallows net/http's own error log, which would print client
// addresses.
var discardLog = log.New(io.Discard, "", 0)

// version is set at build time by the Makefile (-ldflags -X main.version=…).
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run parses args and runs. It returns errUsage for a bad command line.
	run func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage means the command line was wrong; the message was printed.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := commands[args[1]]; c != nil {
				// `help staff add` is `staff add -h`: a subcommand's flags.
				_ = c.run(append(args[2:], "-h"), stdout, stdout)
				return 0
			}
			fmt.Fprintf(stderr, "tropa: no command %q\n", args[1])
			return 2
		}
		usage(stdout)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "tropa %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	c := commands[name]
	if c == nil {
		fmt.Fprintf(stderr, "tropa: unknown command %q (see `tropa help`)\n", name)
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	default:
		fmt.Fprintf(stderr, "tropa %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "tropa %s: the fund's anonymous portal, served as a Tor onion service\n\nUsage: tropa COMMAND [flags]\n\nCommands:\n", version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n  %-10s %s\n\nRun `tropa help COMMAND` for a command's flags (`tropa help COMMAND SUBCOMMAND` for a subcommand's).\n", "version", "print the version", "help", "show this help or a command's flags")
}

// newFlags makes a FlagSet whose errors and help go to w, in one format.
func newFlags(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: tropa %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and refuses stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "tropa %s: unexpected argument %q\n", fs.Name(), strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}

// group runs one of a command's subcommands: `tropa NAME SUB args…`. With
// no SUB, or an unknown one, it prints usage and returns errUsage; -h and
// help print it and return flag.ErrHelp.
func group(name, usage string, subs map[string]func(args []string, stdout, stderr io.Writer) error) func(args []string, stdout, stderr io.Writer) error {
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stderr, usage)
			return flag.ErrHelp
		}
		run := subs[args[0]]
		if run == nil {
			fmt.Fprintf(stderr, "tropa %s: unknown command %q\n\n%s", name, args[0], usage)
			return errUsage
		}
		return run(args[1:], stdout, stderr)
	}
}

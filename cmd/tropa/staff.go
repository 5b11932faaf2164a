package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"tropa/forum"
	"tropa/staff"
)

func init() {
	register(&command{name: "staff", summary: "manage staff accounts and devices: add, passwd, remove, list, client-key", run: runStaff})
	registerAdmin("staff.add", adminFunc(adminStaffAdd))
	registerAdmin("staff.passwd", adminFunc(adminStaffPasswd))
	registerAdmin("staff.remove", adminFunc(adminStaffRemove))
	registerAdmin("staff.list", adminFunc(adminStaffList))
}

// stdin is where passwords are read from; tests replace it.
var stdin io.Reader = os.Stdin

const staffUsage = `Usage: tropa staff COMMAND [flags]

Commands:
  add NAME [--role outreach|admin] [--display-name TEXT] [--password-stdin]
                  add an account; asks for the password twice (no echo)
  passwd NAME [--password-stdin]
                  set a new password; the account's sessions end
  remove NAME     remove an account; its sessions end
  list            list the accounts (never their passwords)
  client-key NAME [--revoke] | client-key --list
                  a staff device's key for the staff onion

Every command takes --data DIR (default ./data) and --passphrase-file FILE
(or TROPA_PASSPHRASE). While tropa serves DIR, add, passwd, remove and list
are sent to it over DIR/tropa.sock; otherwise they open the store here.

NAME is 2 to 32 of a-z, 0-9, '.', '_', '-'. A password has 12 to 256
characters. Run ` + "`tropa staff COMMAND -h`" + ` for a command's flags.
`

// runStaff is `tropa staff add|passwd|remove|list|client-key`.
func runStaff(args []string, stdout, stderr io.Writer) error {
	return group("staff", staffUsage, map[string]func([]string, io.Writer, io.Writer) error{
		"add": staffAdd, "passwd": staffPasswd, "remove": staffRemove, "list": staffList,
		"client-key": runStaffClientKey,
	})(args, stdout, stderr)
}

// adminFlags adds the flags every admin command takes.
func adminFlags(fs *flag.FlagSet, t *adminTarget) {
	fs.StringVar(&t.data, "data", "./data", "the data directory")
	fs.StringVar(&t.passphraseFile, "passphrase-file", "", "file holding the passphrase that protects the store key (or set TROPA_PASSPHRASE); needed only when tropa is not running")
}

// parseWithName parses flags given before or after the one NAME argument.
func parseWithName(fs *flag.FlagSet, args []string) (string, error) {
	return parseOneArg(fs, args, "NAME")
}

func staffAdd(args []string, stdout, stderr io.Writer) error {
	t := adminTarget{stderr: stderr, create: true}
	fs := newFlags("staff add", "staff add NAME [flags]", stderr)
	adminFlags(fs, &t)
	role := fs.String("role", string(staff.RoleOutreach), "outreach (answers and moderates) or admin (also manages staff and settings)")
	display := fs.String("display-name", forum.StaffTeamName, "the name visitors see on the account's posts, next to the staff badge")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of asking on the terminal")
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if !staff.Role(*role).Valid() {
		fmt.Fprintf(stderr, "tropa staff add: --role must be outreach or admin, not %q\n", *role)
		return errUsage
	}
	pw, err := readNewPassword(*fromStdin, "staff add", stderr)
	if err != nil {
		return err
	}
	var a staff.Account
	req := staffRequest{Cmd: "staff.add", Name: name, DisplayName: *display, Role: *role, Password: pw}
	if err := callAdmin(context.Background(), t, req, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s (%s), shown on the board as %q\n", a.Name, a.Role, a.DisplayName)
	return nil
}

func staffPasswd(args []string, stdout, stderr io.Writer) error {
	t := adminTarget{stderr: stderr}
	fs := newFlags("staff passwd", "staff passwd NAME [flags]", stderr)
	adminFlags(fs, &t)
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of asking on the terminal")
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	pw, err := readNewPassword(*fromStdin, "staff passwd", stderr)
	if err != nil {
		return err
	}
	var a staff.Account
	if err := callAdmin(context.Background(), t, staffRequest{Cmd: "staff.passwd", Name: name, Password: pw}, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new password set for %s; their sessions have ended\n", a.Name)
	return nil
}

func staffRemove(args []string, stdout, stderr io.Writer) error {
	t := adminTarget{stderr: stderr}
	fs := newFlags("staff remove", "staff remove NAME [flags]", stderr)
	adminFlags(fs, &t)
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	var a staff.Account
	if err := callAdmin(context.Background(), t, staffRequest{Cmd: "staff.remove", Name: name}, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s; their sessions have ended\n", a.Name)
	return nil
}

func staffList(args []string, stdout, stderr io.Writer) error {
	t := adminTarget{stderr: stderr}
	fs := newFlags("staff list", "staff list [flags]", stderr)
	adminFlags(fs, &t)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var list []staff.Account
	if err := callAdmin(context.Background(), t, staffRequest{Cmd: "staff.list"}, &list); err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no staff accounts yet: add one with `tropa staff add NAME --role admin`")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tROLE\tCREATED")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.DisplayName, a.Role, a.Created.Time().Format("2006-01-02 15:00 UTC"))
	}
	return tw.Flush()
}

// readNewPassword reads a new password from the first line of stdin, or
// asks for it twice on the terminal without echo.
func readNewPassword(fromStdin bool, cmd string, stderr io.Writer) (string, error) {
	if fromStdin {
		line, err := bufio.NewReaderSize(io.LimitReader(stdin, 64<<10), 4096).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if pw == "" {
			return "", errors.New("no password on stdin (give it on the first line)")
		}
		return pw, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "tropa %s: stdin is not a terminal, so the password cannot be asked for: pipe it in with --password-stdin\n", cmd)
		return "", errUsage
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	pw, err := ask("New password (12 to 256 characters): ")
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	again, err := ask("The same password again: ")
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if pw != again {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return pw, nil
}

// staffRequest is every staff command's request: "cmd" and the fields it
// uses.
type staffRequest struct {
	Cmd         string `json:"cmd"`
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Role        string `json:"role,omitempty"`
	Password    string `json:"password,omitempty"`
}

func adminStaffAdd(ctx context.Context, d *AdminDeps, r staffRequest) (any, error) {
	return d.Staff.AddAccount(ctx, staff.NewAccount{Name: r.Name, DisplayName: r.DisplayName, Role: staff.Role(r.Role), Password: r.Password})
}

func adminStaffPasswd(ctx context.Context, d *AdminDeps, r staffRequest) (any, error) {
	a, err := d.Staff.Account(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	if err := d.Staff.SetPassword(ctx, a.Name, r.Password); err != nil {
		return nil, err
	}
	return a, nil
}

func adminStaffRemove(ctx context.Context, d *AdminDeps, r staffRequest) (any, error) {
	a, err := d.Staff.Account(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	if err := d.Staff.RemoveAccount(ctx, a.Name); err != nil {
		return nil, err
	}
	return a, nil
}

func adminStaffList(ctx context.Context, d *AdminDeps, _ staffRequest) (any, error) {
	list, err := d.Staff.Accounts(ctx)
	if list == nil && err == nil {
		list = []staff.Account{}
	}
	return list, err
}

// staffMessages are the operator's English for the staff message keys (the
// site has its own catalogues for the web pages).
var staffMessages = map[string]string{
	staff.KeyInternal:           "internal error",
	staff.KeyBusy:               "the store is busy or closing: try again",
	staff.KeyNameInvalid:        "invalid name: use 2 to 32 of a-z, 0-9, '.', '_', '-'",
	staff.KeyNameTaken:          "an account with that name exists",
	staff.KeyAccountNotFound:    "no account with that name",
	staff.KeyDisplayNameEmpty:   "the display name is empty",
	staff.KeyDisplayNameTooLong: fmt.Sprintf("the display name is too long: at most %d characters", staff.DisplayNameMax),
	staff.KeyRoleInvalid:        "unknown role: use outreach or admin",
	staff.KeyLastAdmin:          "this is the only admin: add another admin first",
	staff.KeyPasswordTooShort:   fmt.Sprintf("the password is too short: use at least %d characters", staff.PasswordMin),
	staff.KeyPasswordTooLong:    fmt.Sprintf("the password is too long: at most %d characters", staff.PasswordMax),
	staff.KeyPasswordInvalid:    "the password holds invalid characters (not UTF-8, or NUL)",
	staff.KeyLoginFailed:        "wrong name or password",
	staff.KeyLoginThrottled:     "too many failed logins: wait and try again",
	staff.KeySessionEnded:       "the session has ended: log in again",
	staff.KeyText:               "the text holds characters that are not allowed",
	staff.KeyReplyTitleEmpty:    "the saved reply needs a title",
	staff.KeyReplyTitleTooLong:  fmt.Sprintf("the saved reply's title is too long: at most %d characters", staff.ReplyTitleMax),
	staff.KeyReplyBodyEmpty:     "the saved reply is empty",
	staff.KeyReplyBodyTooLong:   fmt.Sprintf("the saved reply is too long: at most %d characters", staff.ReplyBodyMax),
	staff.KeyReplyLang:          "the saved reply's language must be ru or en",
	staff.KeyReplyOrder:         fmt.Sprintf("the position must be between 0 and %d", staff.ReplyOrderMax),
	staff.KeyReplyNotFound:      "no such saved reply",
	staff.KeyModTarget:          "invalid moderation target",
	staff.KeyModAction:          "unknown moderation action",
	staff.KeyModDetailTooLong:   fmt.Sprintf("the note is too long: at most %d characters", staff.ModDetailMax),
}

func staffMessage(e *staff.Error) string {
	m, ok := staffMessages[e.Key]
	if !ok {
		m = e.Key
	}
	if e.Code == staff.EINTERNAL && e.Err != nil {
		m += ": " + e.Err.Error()
	}
	return m
}

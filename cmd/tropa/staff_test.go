package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tropa/forum"
	"tropa/internal/store"
	"tropa/keys"
	"tropa/staff"
)

const (
	rootPassword = "a long enough password"
	annaPassword = "another good password"
)

// runCLI runs tropa in-process with input on stdin and cheap password
// hashing, and returns its exit code and output.
func runCLI(t *testing.T, input string, args ...string) (int, string, string) {
	t.Helper()
	oldIn, oldOpts := stdin, staffOptions
	stdin = strings.NewReader(input)
	staffOptions = staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	defer func() { stdin, staffOptions = oldIn, oldOpts }()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, input string, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, input, args...)
	if code != 0 {
		t.Fatalf("tropa %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// wantFail checks an exit code and that stderr ends in one line holding
// want.
func wantFail(t *testing.T, code int, input, want string, args ...string) {
	t.Helper()
	got, _, errs := runCLI(t, input, args...)
	if got != code {
		t.Fatalf("tropa %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, errs)
	}
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, want) {
		t.Errorf("tropa %s: stderr ends %q, want it to say %q", strings.Join(args, " "), last, want)
	}
}

// withStore opens the data directory's store as serve would and runs fn.
func withStore(t *testing.T, dir string, fn func(d *AdminDeps)) {
	t.Helper()
	ring, err := keys.Open(filepath.Join(dir, "keys"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: filepath.Join(dir, "store"), Key: ring.StoreKey(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := staffOptions
	staffOptions = staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	defer func() { staffOptions = old }()
	d, err := NewAdminDeps(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	fn(d)
}

func TestStaffCLIDirect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	data := "--data=" + dir
	out := mustRun(t, rootPassword+"\n", "staff", "add", "Root", "--role", "admin", "--password-stdin", data)
	if !strings.Contains(out, "added root (admin)") {
		t.Errorf("add said %q", out)
	}
	// Flags before NAME work too; a password line may end in CRLF.
	mustRun(t, annaPassword+"\r\n", "staff", "add", "--password-stdin", data, "--display-name", "Анна из фонда", "anna")

	out = mustRun(t, "", "staff", "list", data)
	for _, want := range []string{"NAME", "anna", "Анна из фонда", "outreach", "root", forum.StaffTeamName, "admin", "UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"argon2", "$", rootPassword, annaPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("list shows %q:\n%s", secret, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "anna ") {
		t.Errorf("list is not a header and two rows in name order:\n%s", out)
	}

	const newPassword = "a brand new password"
	mustRun(t, newPassword+"\n", "staff", "passwd", "anna", "--password-stdin", data)
	withStore(t, dir, func(d *AdminDeps) {
		if _, _, err := d.Staff.Login(context.Background(), "anna", newPassword); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		if _, _, err := d.Staff.Login(context.Background(), "root", rootPassword); err != nil {
			t.Errorf("root: %v", err)
		}
	})

	out = mustRun(t, "", "staff", "remove", "anna", data)
	if !strings.Contains(out, "removed anna") {
		t.Errorf("remove said %q", out)
	}
	if out := mustRun(t, "", "staff", "list", data); strings.Contains(out, "anna") {
		t.Errorf("anna still listed:\n%s", out)
	}

	// Refusals: one line, exit 1, nothing changed.
	wantFail(t, 1, rootPassword+"\n", "an account with that name exists", "staff", "add", "root", "--password-stdin", data)
	wantFail(t, 1, "", "only admin", "staff", "remove", "root", data)
	wantFail(t, 1, "", "no account with that name", "staff", "remove", "ghost", data)
	wantFail(t, 1, "short\n", "too short", "staff", "passwd", "root", "--password-stdin", data)
	wantFail(t, 1, "\n", "no password on stdin", "staff", "passwd", "root", "--password-stdin", data)
	wantFail(t, 1, rootPassword+"\n", "invalid name", "staff", "add", "a b", "--password-stdin", data)
	wantFail(t, 1, "", "no tropa store", "staff", "list", "--data", filepath.Join(dir, "typo"))
	withStore(t, dir, func(d *AdminDeps) {
		if _, _, err := d.Staff.Login(context.Background(), "root", rootPassword); err != nil {
			t.Errorf("root after refusals: %v", err)
		}
	})
}

func TestStaffCLIUsage(t *testing.T) {
	data := "--data=" + t.TempDir()
	for _, tc := range []struct {
		code int
		args []string
	}{
		{2, []string{"staff"}},
		{2, []string{"staff", "bogus"}},
		{2, []string{"staff", "add", "--password-stdin", data}},
		{2, []string{"staff", "add", "a", "b", "--password-stdin", data}},
		{2, []string{"staff", "add", "anna", "--role", "boss", "--password-stdin", data}},
		{2, []string{"staff", "add", "anna", "--nope", data}},
		{2, []string{"staff", "list", "extra", data}},
		{2, []string{"staff", "remove", data}},
		// Without --password-stdin the password is asked on a terminal,
		// and stdin here is not one.
		{2, []string{"staff", "add", "anna", data}},
		{2, []string{"staff", "passwd", "anna", data}},
		{0, []string{"help", "staff"}},
		{0, []string{"staff", "add", "-h"}},
	} {
		if code, _, errs := runCLI(t, rootPassword+"\n", tc.args...); code != tc.code {
			t.Errorf("tropa %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, errs)
		}
	}
	code, _, errs := runCLI(t, "", "staff", "add", "anna", data)
	if code != 2 || !strings.Contains(errs, "--password-stdin") {
		t.Errorf("no terminal: exit %d, %q", code, errs)
	}
}

func TestStaffCLIPassphrase(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TROPA_PASSPHRASE", "the operator's passphrase")
	mustRun(t, rootPassword+"\n", "staff", "add", "root", "--role", "admin", "--password-stdin", "--data", dir)
	os.Unsetenv("TROPA_PASSPHRASE") // readPassphrase did; be sure
	wantFail(t, 1, "", "protected by a passphrase", "staff", "list", "--data", dir)
	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte("the operator's passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "", "staff", "list", "--data", dir, "--passphrase-file", pf); !strings.Contains(out, "root") {
		t.Errorf("list with --passphrase-file:\n%s", out)
	}
}

// serveAdmin starts the status socket of a pretend running tropa in dir,
// with the admin handler over an in-memory store.
func serveAdmin(t *testing.T, dir string) *AdminDeps {
	t.Helper()
	db, err := store.Open(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	old := staffOptions
	staffOptions = staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	d, err := NewAdminDeps(context.Background(), db)
	staffOptions = old
	if err != nil {
		t.Fatal(err)
	}
	stop, err := serveStatus(dir, func() statusReport { return statusReport{Version: "test"} }, AdminHandler(d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d
}

// TestStaffCLIOverSocket: while a tropa serves the data directory, the CLI
// sends its commands over the socket and never opens the store itself.
func TestStaffCLIOverSocket(t *testing.T) {
	dir := t.TempDir()
	d := serveAdmin(t, dir)
	ctx := context.Background()

	mustRun(t, rootPassword+"\n", "staff", "add", "root", "--role", "admin", "--password-stdin", "--data", dir)
	mustRun(t, annaPassword+"\n", "staff", "add", "anna", "--password-stdin", "--data", dir)
	if a, err := d.Staff.Account(ctx, "root"); err != nil || a.Role != staff.RoleAdmin {
		t.Fatalf("the running process does not have root: %+v, %v", a, err)
	}
	for _, sub := range []string{"store", "keys"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err == nil {
			t.Errorf("the CLI made %s/ instead of using the socket", sub)
		}
	}
	if out := mustRun(t, "", "staff", "list", "--data", dir); !strings.Contains(out, "anna") || strings.Contains(out, "argon2") {
		t.Errorf("list over the socket:\n%s", out)
	}

	tok, _, err := d.Staff.Login(ctx, "anna", annaPassword)
	if err != nil {
		t.Fatal(err)
	}
	const newPassword = "a brand new password"
	mustRun(t, newPassword+"\n", "staff", "passwd", "anna", "--password-stdin", "--data", dir)
	if _, err := d.Staff.Session(ctx, tok); staff.ErrorCode(err) != staff.EUNAUTHORIZED {
		t.Errorf("session survived passwd over the socket: %v", err)
	}
	if _, _, err := d.Staff.Login(ctx, "anna", newPassword); err != nil {
		t.Errorf("new password: %v", err)
	}

	// Refusals come back as the same one line as on the direct path.
	wantFail(t, 1, "", "only admin", "staff", "remove", "root", "--data", dir)
	wantFail(t, 1, "short\n", "too short", "staff", "add", "bob", "--password-stdin", "--data", dir)
	mustRun(t, "", "staff", "remove", "anna", "--data", dir)
	if _, err := d.Staff.Account(ctx, "anna"); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("anna after remove: %v", err)
	}
}

// TestStaffCLIStaleSocket: a socket left by a killed tropa is not mistaken
// for a running one.
func TestStaffCLIStaleSocket(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, statusSocket))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(filepath.Join(dir, statusSocket)); err != nil {
		t.Fatal("the stale socket is gone:", err)
	}
	mustRun(t, rootPassword+"\n", "staff", "add", "root", "--password-stdin", "--data", dir)
	if out := mustRun(t, "", "staff", "list", "--data", dir); !strings.Contains(out, "root") {
		t.Errorf("list:\n%s", out)
	}
}

// TestStaffCLIOldServer: a running tropa that does not take admin commands
// is reported, not worked around (its store is locked).
func TestStaffCLIOldServer(t *testing.T) {
	dir := t.TempDir()
	stop, err := serveStatus(dir, func() statusReport { return statusReport{Version: "old"} })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	wantFail(t, 1, "", "does not take admin commands", "staff", "list", "--data", dir)
}

func TestExecAdminRefusesBadRequests(t *testing.T) {
	db, err := store.Open(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := NewAdminDeps(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{"cmd":"nope"}`:               "unknown admin command",
		`not json`:                     "malformed request",
		`{"cmd":"staff.add","name":1}`: "malformed request",
	} {
		rep := execAdmin(context.Background(), d, []byte(body))
		if rep.OK || rep.Error == nil || !strings.Contains(rep.Error.Message, want) {
			t.Errorf("%s: %+v, want a refusal saying %q", body, rep, want)
		}
	}
	rep := execAdmin(context.Background(), d, []byte(`{"cmd":"staff.remove","name":"ghost"}`))
	if rep.OK || rep.Error.Code != staff.ENOTFOUND || rep.Error.Key != staff.KeyAccountNotFound {
		t.Errorf("domain error: %+v", rep.Error)
	}
}

func TestStaffMessagesCoverKeys(t *testing.T) {
	for _, k := range staff.MessageKeys() {
		if staffMessages[k] == "" {
			t.Errorf("no operator message for %s", k)
		}
	}
	// A display name staff accept must be one the forum signs posts with.
	if staff.DisplayNameMax > forum.StaffNameMax {
		t.Errorf("staff.DisplayNameMax %d > forum.StaffNameMax %d", staff.DisplayNameMax, forum.StaffNameMax)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
	"tropa/keys"
	"tropa/onion"
	"tropa/staff"
)

// install is a data directory opened as serve opens it.
type install struct {
	t     *testing.T
	dir   string
	ring  *keys.Ring
	db    *store.DB
	repo  *store.ForumRepo
	board *forum.Service
}

var cheapKDF = forum.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func openInstall(t *testing.T, dir string, pass []byte) *install {
	t.Helper()
	storeDir := filepath.Join(dir, "store")
	ring, err := keys.Open(filepath.Join(dir, "keys"), pass, dirHasFiles(storeDir))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	board := forum.NewService(repo, nil, forum.Options{KDF: cheapKDF})
	if err := board.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &install{t: t, dir: dir, ring: ring, db: db, repo: repo, board: board}
}

func (i *install) close() {
	i.t.Helper()
	i.repo.Close()
	if err := i.db.Close(); err != nil {
		i.t.Fatal(err)
	}
}

// fill writes a board with private and public threads, replies, a staff
// account, and about kib KiB of text.
func (i *install) fill(kib int) {
	i.t.Helper()
	ctx := context.Background()
	old := staffOptions
	staffOptions = staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	d, err := NewAdminDeps(ctx, i.db)
	staffOptions = old
	if err != nil {
		i.t.Fatal(err)
	}
	if _, err := d.Staff.AddAccount(ctx, staff.NewAccount{Name: "root", DisplayName: "Команда фонда", Role: staff.RoleAdmin, Password: rootPassword}); err != nil {
		i.t.Fatal(err)
	}
	body := strings.Repeat("Где сдать анализ на ВИЧ анонимно? ", 30) // ~1 KiB
	for n := 0; n < kib; n++ {
		res, err := i.board.Ask(ctx, forum.AskInput{Section: forum.SeedSlugs()[n%3], Title: fmt.Sprintf("вопрос %d", n), Body: fmt.Sprintf("%d %s", n, body), Private: n%2 == 0})
		if err != nil {
			i.t.Fatal(err)
		}
		if n%4 == 0 {
			if _, err := i.board.StaffReply(ctx, res.Thread.ID, "root", "Команда фонда", "ответ "+body); err != nil {
				i.t.Fatal(err)
			}
		}
	}
}

func (i *install) publicAddress() string {
	k, err := i.ring.Identity("public")
	if err != nil {
		i.t.Fatal(err)
	}
	return onion.Address(k.Public().(ed25519.PublicKey))
}

// dump returns every key and value of the store in dir.
func dump(t *testing.T, dir string, pass []byte) map[string]string {
	t.Helper()
	ring, err := keys.Open(filepath.Join(dir, "keys"), pass, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: filepath.Join(dir, "store"), Key: ring.StoreKey(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := map[string]string{}
	if err := db.ForEach(nil, func(k, v []byte) error { m[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func sameStore(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("the source store is empty")
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("record %q: missing or different after restore", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("record %q appeared after restore", k)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeSecret(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBackupRestore: backups made with nothing serving restore every
// record: with the store key (into a directory holding the keys), with a
// passphrase (into an empty directory, new keys), and with the keys (the
// same onion address).
func TestBackupRestore(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	in := openInstall(t, src, nil)
	in.fill(150)
	addr := in.publicAddress()
	in.close()
	want := dump(t, src, nil)
	bp := writeSecret(t, "the backup passphrase")

	// Store-key backup: restore needs the installation's keys/.
	b1 := filepath.Join(root, "b1.tropa")
	out := mustRun(t, "", "backup", b1, "--data", src)
	if !strings.Contains(out, "wrote "+b1) || !strings.Contains(out, "store key") {
		t.Errorf("backup said %q", out)
	}
	if raw, _ := os.ReadFile(b1); bytes.Contains(raw, []byte("Где сдать")) || bytes.Contains(raw, []byte("root")) {
		t.Fatal("the backup file holds plaintext")
	}
	wantFail(t, 1, "", "has no keys/", "restore", b1, "--data", filepath.Join(root, "nokeys"))
	d1 := filepath.Join(root, "d1")
	copyDir(t, filepath.Join(src, "keys"), filepath.Join(d1, "keys"))
	out = mustRun(t, "", "restore", b1, "--data", d1)
	if !strings.Contains(out, "restored") || !strings.Contains(out, addr) {
		t.Errorf("restore said %q", out)
	}
	sameStore(t, want, dump(t, d1, nil))

	// Passphrase backup into an empty directory: new keys, same records.
	b2 := filepath.Join(root, "b2.tropa")
	mustRun(t, "", "backup", b2, "--data", src, "--backup-passphrase-file", bp)
	d2 := filepath.Join(root, "d2")
	mustRun(t, "", "restore", b2, "--data", d2, "--backup-passphrase-file", bp)
	sameStore(t, want, dump(t, d2, nil))

	// With the keys: the same onion address, even with a protected store key.
	wantFail(t, 1, "", "needs a backup passphrase", "backup", filepath.Join(root, "b3.tropa"), "--data", src, "--with-keys")
	b3 := filepath.Join(root, "b3.tropa")
	mustRun(t, "", "backup", b3, "--data", src, "--with-keys", "--backup-passphrase-file", bp)
	d3 := filepath.Join(root, "d3")
	out = mustRun(t, "", "restore", b3, "--data", d3, "--backup-passphrase-file", bp)
	if !strings.Contains(out, "restored from the backup") || !strings.Contains(out, addr) {
		t.Errorf("restore with keys said %q", out)
	}
	sameStore(t, want, dump(t, d3, nil))
	re := openInstall(t, d3, nil)
	if got := re.publicAddress(); got != addr {
		t.Errorf("onion after restore %s, want %s", got, addr)
	}
	// The board reads as before.
	secs, err := re.board.Sections(context.Background())
	if err != nil || len(secs) != len(forum.SeedSlugs()) {
		t.Errorf("sections after restore: %v, %v", secs, err)
	}
	re.close()

	// A store is never overwritten: refused, or moved aside with --force.
	wantFail(t, 1, "", "already holds a store", "restore", b1, "--data", d1)
	wantFail(t, 1, "", "exists", "backup", b1, "--data", src)
	out = mustRun(t, "", "restore", b1, "--data", d1, "--force")
	if !strings.Contains(out, "moved aside") {
		t.Errorf("--force said %q", out)
	}
	aside, _ := filepath.Glob(filepath.Join(d1, "store.replaced-*"))
	if len(aside) != 1 {
		t.Errorf("moved-aside stores: %v", aside)
	}
	sameStore(t, want, dump(t, d1, nil))
}

// TestRestoreRefusesBadBackups: a wrong key, a truncated or a tampered
// file is refused with a clear error and nothing is written.
func TestRestoreRefusesBadBackups(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	in := openInstall(t, src, nil)
	in.fill(200) // several 64 KiB frames
	in.close()
	bp := writeSecret(t, "the backup passphrase")
	good := filepath.Join(root, "good.tropa")
	mustRun(t, "", "backup", good, "--data", src, "--backup-passphrase-file", bp)
	keyed := filepath.Join(root, "keyed.tropa")
	mustRun(t, "", "backup", keyed, "--data", src)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 3*(64<<10) {
		t.Fatalf("backup is only %d bytes: the test wants several frames", len(raw))
	}
	frame := 4 + 64<<10 + 16
	variant := func(name string, b []byte) string {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flip := func(pos int) []byte { b := bytes.Clone(raw); b[pos] ^= 1; return b }
	// Another installation's keys, without its store.
	o := openInstall(t, filepath.Join(root, "other"), nil)
	o.close()
	otherKeys := filepath.Join(root, "otherkeys")
	copyDir(t, filepath.Join(root, "other", "keys"), filepath.Join(otherKeys, "keys"))

	for _, tc := range []struct {
		name, file, want string
		extra            []string
	}{
		{"wrong passphrase", good, "wrong key", []string{"--backup-passphrase-file", writeSecret(t, "not the passphrase")}},
		{"another installation's store key", keyed, "wrong key", nil},
		{"truncated in a frame", variant("cut1", raw[:len(raw)/2]), "truncated", nil},
		{"truncated at a frame boundary", variant("cut2", raw[:67+2*frame]), "truncated", nil},
		{"truncated in the header", variant("cut3", raw[:40]), "not a tropa backup", nil},
		{"last byte cut", variant("cut4", raw[:len(raw)-1]), "truncated", nil},
		{"tampered in the middle", variant("flip1", flip(len(raw)/2)), "damaged or was tampered", nil},
		{"tampered at the end", variant("flip2", flip(len(raw)-3)), "damaged or was tampered", nil},
		{"tampered header", variant("flip3", flip(30)), "wrong key", nil},
		{"data appended", variant("long", append(bytes.Clone(raw), "more"...)), "damaged", nil},
		{"not a backup", variant("text", []byte("hello, this is not a backup file at all, not at all")), "not a tropa backup", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "data")
			if tc.file == keyed {
				target = otherKeys
			}
			before := listTree(t, target)
			args := append([]string{"restore", tc.file, "--data", target, "--backup-passphrase-file", bp}, tc.extra...)
			if tc.extra != nil {
				args = append([]string{"restore", tc.file, "--data", target}, tc.extra...)
			}
			code, _, errs := runCLI(t, "", args...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, want 1 and %q:\n%s", code, tc.want, errs)
			}
			if after := listTree(t, target); after != before {
				t.Errorf("restore wrote something:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// The good file restores (the checks above are not just refusing all).
	mustRun(t, "", "restore", good, "--data", filepath.Join(root, "ok"), "--backup-passphrase-file", bp)
}

// listTree names every file under dir with its size.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s %d\n", strings.TrimPrefix(p, dir), fi.Size())
		}
		return nil
	})
	return b.String()
}

// TestBackupWhileServing: while a tropa serves the directory (the store is
// its alone), the backup comes over the socket, taken while visitors post,
// and restores a consistent state: every thread's post counter equals its
// posts, every section's counters its threads.
func TestBackupWhileServing(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	in := openInstall(t, src, nil)
	in.fill(60)
	old := staffOptions
	staffOptions = staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	d, err := NewAdminDeps(context.Background(), in.db)
	staffOptions = old
	if err != nil {
		t.Fatal(err)
	}
	stop, err := serveStatus(src, func() statusReport { return statusReport{Version: "test"} }, withBackupStream(AdminHandler(d), in.db, in.ring))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	defer in.close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var posted atomic.Int64
	threads, err := in.repo.Threads(ctx, 1, false, 0, 100)
	if err != nil || len(threads) == 0 {
		t.Fatalf("threads: %v %v", threads, err)
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				th := threads[(w+n)%len(threads)]
				if _, err := in.board.Reply(ctx, forum.ReplyInput{Thread: th.ID, Body: fmt.Sprintf("reply %d from %d", n, w)}); err == nil {
					posted.Add(1)
				}
				if n%5 == 0 {
					in.board.Ask(ctx, forum.AskInput{Section: "hiv", Title: "concurrent", Body: "asked during the backup"})
				}
			}
		}(w)
	}
	for deadline := time.Now().Add(10 * time.Second); posted.Load() < 20; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writers did not get going")
		}
	}
	bp := writeSecret(t, "the backup passphrase")
	b := filepath.Join(root, "live.tropa")
	out := mustRun(t, "", "backup", b, "--data", src, "--backup-passphrase-file", bp)
	during := posted.Load()
	cancel()
	wg.Wait()
	if !strings.Contains(out, "wrote") {
		t.Errorf("backup said %q", out)
	}
	t.Logf("%d replies posted while the backup ran", during)

	dst := filepath.Join(root, "dst")
	mustRun(t, "", "restore", b, "--data", dst, "--backup-passphrase-file", bp)
	re := openInstall(t, dst, nil)
	defer re.close()
	secs, err := re.repo.Sections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range secs {
		for _, private := range []bool{false, true} {
			ts, err := re.repo.Threads(context.Background(), s.ID, private, 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			want := s.Threads
			if private {
				want = s.PrivateThreads
			}
			if len(ts) != want {
				t.Errorf("section %s private=%v counts %d threads, lists %d", s.Slug, private, want, len(ts))
			}
			for _, th := range ts {
				ps, err := re.repo.Posts(context.Background(), th.ID, 1, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if len(ps) != th.Posts {
					t.Errorf("thread %d counts %d posts, holds %d", th.ID, th.Posts, len(ps))
				}
				total += len(ps)
			}
		}
	}
	if total == 0 {
		t.Fatal("nothing restored")
	}
}

// BenchmarkBackup measures writeBackup (Badger's stream, framing, sealing)
// over a store of about 64 MiB of 1 KiB records, and the restore's load.
func BenchmarkBackup(b *testing.B) {
	dir := b.TempDir()
	ring, err := keys.Open(filepath.Join(dir, "keys"), nil, false)
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: filepath.Join(dir, "store"), Key: ring.StoreKey(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 1024)
	for i := 0; i < 64<<10; i++ {
		copy(val, fmt.Sprintf("record %d ", i))
		if err := db.SetMeta(fmt.Sprintf("bench/%08d", i), val); err != nil {
			b.Fatal(err)
		}
	}
	var n countWriter
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n = 0
		if err := writeBackup(&n, db, ring, backupRequest{KDF: keys.KDFStoreKey}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(n))
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

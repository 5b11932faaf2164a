package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
)

type retClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *retClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *retClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// retEnv is a forum over an UNENCRYPTED store on disk, so the test can
// search the files for deleted text.
type retEnv struct {
	t     *testing.T
	dir   string
	db    *store.DB
	repo  *store.ForumRepo
	svc   *forum.Service
	clock *retClock
}

func (e *retEnv) open() {
	e.t.Helper()
	db, err := store.Open(store.Options{Dir: e.dir, NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db, e.repo = db, repo
	e.svc = forum.NewService(repo, e.clock.now, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
}

func (e *retEnv) close() {
	e.t.Helper()
	if err := e.repo.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// filesHolding lists the files under dir that contain s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// threadKeys lists the keys of every record that names thread id.
func threadKeys(t *testing.T, db *store.DB, id forum.ThreadID) []string {
	t.Helper()
	var idb [8]byte
	binary.BigEndian.PutUint64(idb[:], uint64(id))
	var out []string
	for _, prefix := range []string{"f/t/", "f/p/", "f/purge/"} {
		err := db.ForEach([]byte(prefix), func(k, _ []byte) error {
			if bytes.HasPrefix(k[len(prefix):], idb[:]) {
				out = append(out, string(k[:len(prefix)]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Index entries end with the thread ID (activity, queue) or hold it
	// inverted (an asker's list).
	inv := make([]byte, 8)
	binary.BigEndian.PutUint64(inv, ^uint64(id))
	for _, prefix := range []string{"f/sa/", "f/q/", "f/ak/"} {
		err := db.ForEach([]byte(prefix), func(k, _ []byte) error {
			if bytes.HasSuffix(k, idb[:]) || bytes.HasSuffix(k, inv) {
				out = append(out, prefix)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func randomWord(t *testing.T) string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func countPrefix(t *testing.T, db *store.DB, prefix string) int {
	t.Helper()
	n := 0
	if err := db.ForEach([]byte(prefix), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetentionDeletesExpiredPrivateThreadsFromTheFiles: with a fake clock,
// private threads quiet for the retention period are gone from the store
// (every key) and, after garbage collection, from every file, while the
// store stays open and after it is closed and reopened.
func TestRetentionDeletesExpiredPrivateThreadsFromTheFiles(t *testing.T) {
	ctx := context.Background()
	e := &retEnv{t: t, dir: filepath.Join(t.TempDir(), "store"), clock: &retClock{t: time.Date(2026, 1, 10, 12, 30, 0, 0, time.UTC)}}
	e.open()
	if err := e.svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	// Random words, so that no text shares a run of bytes with another
	// (Badger's Snappy blocks would turn it into a back-reference).
	var (
		oldSecret   = randomWord(t) // asked and answered on day 0
		oldReply    = randomWord(t)
		staffAnswer = randomWord(t)
		keptSecret  = randomWord(t) // asked with it, active again 90 days later
		publicText  = randomWord(t)
	)
	old, err := e.svc.Ask(ctx, forum.AskInput{Section: "hiv", Title: "old private", Body: oldSecret, Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, forum.ReplyInput{Thread: old.Thread.ID, Body: oldReply, Asker: old.Asker}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StaffReply(ctx, old.Thread.ID, "anna", "Команда фонда", staffAnswer); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Report(ctx, forum.ReportInput{Post: forum.PostRef{Thread: old.Thread.ID, N: 3}, Reason: forum.ReasonOther}, forum.Viewer{Asker: old.Asker}); err != nil {
		t.Fatal(err)
	}
	kept, err := e.svc.Ask(ctx, forum.AskInput{Section: "hepatitis", Title: "kept private", Body: keptSecret, Private: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := e.svc.Ask(ctx, forum.AskInput{Section: "hiv", Title: "public", Body: publicText})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(90 * 24 * time.Hour)
	if _, err := e.svc.Reply(ctx, forum.ReplyInput{Thread: kept.Thread.ID, Body: "still here", Asker: kept.Asker}); err != nil {
		t.Fatal(err)
	}

	// Before: the text is in the files (else the check below proves
	// nothing: Badger compresses blocks, but not these short texts away).
	e.close()
	e.open()
	for _, s := range []string{oldSecret, oldReply, staffAnswer} {
		if len(filesHolding(t, e.dir, s)) == 0 {
			t.Fatalf("%q is not in the files before retention: the test cannot see the store's files", s)
		}
	}
	receipts := countPrefix(t, e.db, "f/rh/")

	// Exactly 90 days after the old thread's last post: its hour is not
	// wholly past yet, so nothing goes (posts keep only their hour).
	res, err := e.svc.ExpirePrivate(ctx, 90*24*time.Hour)
	if err != nil || res.Threads != 0 {
		t.Fatalf("day 90: deleted %+v, %v", res, err)
	}
	e.clock.add(time.Hour)
	res, err = e.svc.ExpirePrivate(ctx, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res.Threads != 1 || res.Posts != 3 || res.Askers != 1 || res.Reports != 1 || len(res.Deleted) != 1 || res.Deleted[0] != old.Thread.ID {
		t.Fatalf("retention deleted %+v, want the old private thread (3 posts), its asker's receipt and its report", res)
	}
	if ks := threadKeys(t, e.db, old.Thread.ID); len(ks) != 0 {
		t.Errorf("records of the expired thread remain: %v", ks)
	}
	if got := countPrefix(t, e.db, "f/rh/"); got != receipts-1 {
		t.Errorf("receipt lookups: %d, want %d", got, receipts-1)
	}
	if n := countPrefix(t, e.db, "f/r/"); n != 0 {
		t.Errorf("%d reports remain", n)
	}
	for _, id := range []forum.ThreadID{kept.Thread.ID, pub.Thread.ID} {
		if _, err := e.repo.Thread(ctx, id); err != nil {
			t.Errorf("thread %d should stay: %v", id, err)
		}
	}
	if _, err := e.svc.OpenReceipt(ctx, old.Receipt.Format()); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Errorf("the expired asker's receipt still opens: %v", err)
	}
	if _, err := e.svc.OpenReceipt(ctx, kept.Receipt.Format()); err != nil {
		t.Errorf("the kept asker's receipt: %v", err)
	}
	secs, err := e.repo.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		if s.Slug == "hiv" && s.PrivateThreads != 0 {
			t.Errorf("hiv still counts %d private threads", s.PrivateThreads)
		}
	}

	st, err := e.repo.CollectGarbage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Started.IsZero() || st.SizeAfter == 0 {
		t.Errorf("gc stats: %+v", st)
	}
	for _, s := range []string{oldSecret, oldReply, staffAnswer} {
		if f := filesHolding(t, e.dir, s); len(f) != 0 {
			t.Errorf("after GC, with the store open, %q is still in %v", s, f)
		}
	}
	e.close()
	e.open()
	defer e.close()
	for _, s := range []string{oldSecret, oldReply, staffAnswer} {
		if f := filesHolding(t, e.dir, s); len(f) != 0 {
			t.Errorf("after GC and a restart, %q is still in %v", s, f)
		}
	}
	for _, s := range []string{keptSecret, publicText} {
		if len(filesHolding(t, e.dir, s)) == 0 {
			t.Errorf("%q, which stays, is not in the files", s)
		}
	}
	if p, err := e.repo.Posts(ctx, kept.Thread.ID, 1, 10); err != nil || len(p) != 2 || !strings.Contains(p[0].Source, keptSecret) {
		t.Errorf("kept thread after restart: %v, %v", p, err)
	}
}

// TestRetentionRecheckesInTheWrite: a thread that got a reply after being
// listed is left alone.
func TestRetentionRechecksInTheWrite(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "s")
	nt := newThread(sec.ID, "private", true)
	th, err := r.CreateThread(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := r.ExpiredPrivateThreads(ctx, 101, 10)
	if err != nil || len(ids) != 1 {
		t.Fatalf("listed %v, %v", ids, err)
	}
	addReply(t, r, th.ID, "late") // LastActive 101
	if n, err := r.DeleteExpiredThread(ctx, th.ID, 101); err != nil || n != 0 {
		t.Fatalf("deleted %d posts (%v) of a thread active since", n, err)
	}
	if n, err := r.DeleteExpiredThread(ctx, th.ID, 102); err != nil || n != 2 {
		t.Fatalf("deleted %d posts (%v), want 2", n, err)
	}
	if _, err := r.Thread(ctx, th.ID); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Fatalf("thread after delete: %v", err)
	}
}

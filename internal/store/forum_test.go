package store_test

import (
	"context"
	"encoding/binary"
	"html/template"
	"strings"
	"testing"

	"tropa/forum"
	"tropa/internal/store"
)

func mustRepo(tb testing.TB, db *store.DB) *store.ForumRepo {
	tb.Helper()
	r, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func mustSection(tb testing.TB, r *store.ForumRepo, slug string) *forum.Section {
	tb.Helper()
	s, err := r.CreateSection(context.Background(), forum.Section{Slug: slug, Title: forum.L10n{RU: "Раздел", EN: "Section"}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newThread(sec forum.SectionID, title string, private bool) forum.NewThread {
	return forum.NewThread{
		Thread:   forum.Thread{Section: sec, Title: title, Private: private, Awaiting: true, Created: 100, LastActive: 100},
		Question: forum.Post{Author: forum.Author{Kind: forum.AskerAuthor}, Hour: 100, Source: "q", HTML: "<p>q</p>"},
	}
}

func addReply(tb testing.TB, r *store.ForumRepo, id forum.ThreadID, body string) *forum.Post {
	tb.Helper()
	_, p, err := r.AddPost(context.Background(), id, func(t *forum.Thread) (*forum.Post, error) {
		t.Replies++
		t.LastActive = 101
		return &forum.Post{Author: forum.Author{Kind: forum.Anonymous}, Hour: 101, Source: body, HTML: template.HTML("<p>" + body + "</p>")}, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestForumRepoRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "hiv")
	if _, err := r.CreateSection(ctx, forum.Section{Slug: "hiv"}, nil); forum.ErrorCode(err) != forum.ECONFLICT {
		t.Fatalf("duplicate slug: %v", err)
	}
	nt := newThread(sec.ID, "Тема", false)
	nt.ReceiptHash = []byte(strings.Repeat("h", 32))
	th, err := r.CreateThread(ctx, nt)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID == 0 || th.Asker == 0 || th.Posts != 1 {
		t.Fatalf("created %+v", th)
	}
	// The same hash again is a conflict (the service draws a new receipt).
	if _, err := r.CreateThread(ctx, nt); forum.ErrorCode(err) != forum.ECONFLICT {
		t.Fatalf("hash collision: %v", err)
	}
	a, err := r.AskerByReceiptHash(ctx, nt.ReceiptHash)
	if err != nil || a != th.Asker {
		t.Fatalf("asker %d %v", a, err)
	}
	addReply(t, r, th.ID, "ответ")
	got, err := r.Thread(ctx, th.ID)
	if err != nil || got.Posts != 2 || got.Replies != 1 || got.LastActive != 101 || got.Title != "Тема" || !got.Awaiting {
		t.Fatalf("thread %+v %v", got, err)
	}
	ps, err := r.Posts(ctx, th.ID, 1, 10)
	if err != nil || len(ps) != 2 || ps[1].Source != "ответ" || ps[1].HTML != "<p>ответ</p>" || ps[1].N != 2 || ps[1].Hour != 101 {
		t.Fatalf("posts %+v %v", ps, err)
	}
	if ps, _ := r.Posts(ctx, th.ID, 3, 10); len(ps) != 0 {
		t.Fatal("posts past the end")
	}
	if _, err := r.Thread(ctx, 12345); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Fatalf("missing: %v", err)
	}
	if _, err := r.CreateThread(ctx, newThread(999, "x", false)); forum.ErrorKey(err) != forum.KeySectionNotFound {
		t.Fatalf("missing section: %v", err)
	}
	ts, _ := r.AskerThreads(ctx, th.Asker, 10)
	if len(ts) != 1 || ts[0].ID != th.ID {
		t.Fatalf("asker threads %+v", ts)
	}
	if err := r.RekeyReceipt(ctx, nt.ReceiptHash, []byte(strings.Repeat("n", 32)), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AskerByReceiptHash(ctx, nt.ReceiptHash); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Fatal("old hash still there")
	}
	if a, _ := r.AskerByReceiptHash(ctx, []byte(strings.Repeat("n", 32))); a != th.Asker {
		t.Fatal("new hash missing")
	}
}

// Every index entry and counter follows the thread through moves, pins,
// visibility changes and deletion: no stale keys are left behind.
func TestForumRepoIndexes(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	a, b := mustSection(t, r, "a"), mustSection(t, r, "b")
	th, _ := r.CreateThread(ctx, newThread(a.ID, "Тема", false))
	for i := 0; i < 5; i++ {
		addReply(t, r, th.ID, "x")
	}
	count := func(prefix string) int {
		n := 0
		db.ForEach([]byte(prefix), func(k, v []byte) error { n++; return nil })
		return n
	}
	steps := []func(t *forum.Thread){
		func(t *forum.Thread) { t.Pinned = true },
		func(t *forum.Thread) { t.Section = b.ID },
		func(t *forum.Thread) { t.Private = true },
		func(t *forum.Thread) { t.Awaiting = false },
		func(t *forum.Thread) { t.Awaiting = true; t.Locked = true },
	}
	for i, step := range steps {
		if _, err := r.UpdateThread(ctx, th.ID, func(t *forum.Thread) error { step(t); return nil }); err != nil {
			t.Fatal(err)
		}
		if n := count("f/sa/"); n != 1 {
			t.Fatalf("step %d: %d activity entries", i, n)
		}
		wantQ := 1
		if i == 3 {
			wantQ = 0
		}
		if n := count("f/q/"); n != wantQ {
			t.Fatalf("step %d: %d queue entries", i, n)
		}
	}
	sa, _ := r.Section(ctx, a.ID)
	sb, _ := r.Section(ctx, b.ID)
	if sa.Threads != 0 || sa.PrivateThreads != 0 || sb.Threads != 0 || sb.PrivateThreads != 1 {
		t.Fatalf("counters a=%+v b=%+v", sa, sb)
	}
	ts, _ := r.Threads(ctx, b.ID, true, 0, 10)
	if len(ts) != 1 || !ts[0].Pinned || !ts[0].Locked || ts[0].Replies != 5 {
		t.Fatalf("listing copy is stale: %+v", ts)
	}
	if _, err := r.UpdateThread(ctx, th.ID, func(t *forum.Thread) error { t.Section = 77; return nil }); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Fatalf("move to a missing section: %v", err)
	}
	if err := r.DeleteThread(ctx, th.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"f/t/", "f/p/", "f/sa/", "f/q/", "f/ak/", "f/purge/"} {
		if n := count(p); n != 0 {
			t.Fatalf("%d keys left under %s", n, p)
		}
	}
	sb, _ = r.Section(ctx, b.ID)
	if sb.PrivateThreads != 0 {
		t.Fatalf("counter after delete %+v", sb)
	}
}

// A deletion interrupted after its first write is finished when the store
// is opened again.
func TestForumRepoPurgeResumes(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "a")
	th, _ := r.CreateThread(ctx, newThread(sec.ID, "Тема", false))
	for i := 0; i < 3; i++ {
		addReply(t, r, th.ID, "x")
	}
	r.Close()
	// Simulate the crash: the marker is written, the posts are still there.
	b := store.NewBatcher(db, store.BatchOptions{})
	err := b.Do(ctx, func(tx *store.Tx) error {
		tx.Set(binary.BigEndian.AppendUint64([]byte("f/purge/"), uint64(th.ID)), []byte{1, 4})
		return nil
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	mustRepo(t, db)
	n := 0
	db.ForEach([]byte("f/p"), func(k, v []byte) error { n++; return nil }) // posts and purge markers
	if n != 0 {
		t.Fatalf("%d keys left", n)
	}
}

func TestForumRepoCorruptRecord(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "a")
	th, _ := r.CreateThread(ctx, newThread(sec.ID, "Тема", false))
	b := store.NewBatcher(db, store.BatchOptions{})
	b.Do(ctx, func(tx *store.Tx) error {
		tx.Set(binary.BigEndian.AppendUint64([]byte("f/t/"), uint64(th.ID)), []byte{9, 9, 9})
		return nil
	})
	b.Close()
	_, err := r.Thread(ctx, th.ID)
	if forum.ErrorCode(err) != forum.EINTERNAL || forum.ErrorKey(err) != forum.KeyInternal {
		t.Fatalf("corrupt record: %v", err)
	}
}

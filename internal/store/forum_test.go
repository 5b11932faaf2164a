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

// sliceAll walks a section's list with ThreadSlice, limit threads at a
// time, older and older, and returns the IDs seen, page by page.
func sliceAll(tb testing.TB, r *store.ForumRepo, sec forum.SectionID, private bool, limit int) [][]forum.ThreadID {
	tb.Helper()
	var pages [][]forum.ThreadID
	var after *forum.Position
	seen := 0
	for {
		sl, err := r.ThreadSlice(context.Background(), forum.ListQuery{Section: sec, Private: private, After: after, Limit: limit, CountNewer: true})
		if err != nil {
			tb.Fatal(err)
		}
		if len(sl.Threads) != len(sl.Pos) || len(sl.Threads) > limit {
			tb.Fatalf("%d threads, %d positions, limit %d", len(sl.Threads), len(sl.Pos), limit)
		}
		if want := min(seen, limit+1); sl.Newer != want && len(sl.Threads) > 0 {
			tb.Fatalf("page %d: Newer %d, want %d", len(pages)+1, sl.Newer, want)
		}
		var ids []forum.ThreadID
		for i, th := range sl.Threads {
			if sl.Pos[i].Thread != th.ID || sl.Pos[i].Pinned != th.Pinned {
				tb.Fatalf("position %+v for thread %d (pinned %v)", sl.Pos[i], th.ID, th.Pinned)
			}
			if th.Private != private || th.Section != sec {
				tb.Fatalf("listed %+v", th)
			}
			ids = append(ids, th.ID)
		}
		if len(ids) > 0 {
			pages = append(pages, ids)
		}
		seen += len(ids)
		if !sl.Older {
			if len(ids) == limit {
				// The next slice must be empty.
				p := sl.Pos[len(sl.Pos)-1]
				if rest, _ := r.ThreadSlice(context.Background(), forum.ListQuery{Section: sec, Private: private, After: &p, Limit: limit}); len(rest.Threads) != 0 {
					tb.Fatalf("Older false but %d threads follow", len(rest.Threads))
				}
			}
			return pages
		}
		if len(ids) != limit {
			tb.Fatalf("Older set on a short page of %d", len(ids))
		}
		p := sl.Pos[len(sl.Pos)-1]
		after = &p
	}
}

func flatten(pages [][]forum.ThreadID) []forum.ThreadID {
	var out []forum.ThreadID
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func threadIDs(ts []forum.Thread) []forum.ThreadID {
	var out []forum.ThreadID
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func sameIDs(a, b []forum.ThreadID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Cursor paging lists every thread once, in the index's order (pinned
// first, then newest activity), whatever the page size, in both directions;
// private threads only in the private list.
func TestForumRepoThreadSlice(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "a")
	other := mustSection(t, r, "b")
	var ids []forum.ThreadID
	for i := 0; i < 40; i++ {
		th, err := r.CreateThread(ctx, newThread(sec.ID, "Тема", i%5 == 4))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, th.ID)
		if i%3 == 0 {
			r.CreateThread(ctx, newThread(other.ID, "Чужая", false))
		}
	}
	// Replies reorder some (all in the same hour: order is by activity
	// sequence, not time); three are pinned.
	for _, i := range []int{3, 17, 0, 25} {
		addReply(t, r, ids[i], "x")
	}
	for _, i := range []int{8, 30, 11} {
		if _, err := r.UpdateThread(ctx, ids[i], func(t *forum.Thread) error { t.Pinned = true; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, private := range []bool{false, true} {
		all, err := r.Threads(ctx, sec.ID, private, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		want := threadIDs(all)
		if private && len(want) != 8 || !private && len(want) != 32 {
			t.Fatalf("private %v: %d threads", private, len(want))
		}
		for _, limit := range []int{1, 3, 7, 8, 32, 50} {
			pages := sliceAll(t, r, sec.ID, private, limit)
			if got := flatten(pages); !sameIDs(got, want) {
				t.Fatalf("private %v, limit %d: paged %v, want %v", private, limit, got, want)
			}
			// Back from the last page, newer and newer.
			last := pages[len(pages)-1]
			sl, _ := r.ThreadSlice(ctx, forum.ListQuery{Section: sec.ID, Private: private, Skip: len(want) - len(last), Limit: limit})
			if !sameIDs(threadIDs(sl.Threads), last) {
				t.Fatalf("skip to the last page: %v, want %v", threadIDs(sl.Threads), last)
			}
			for i := len(pages) - 2; i >= 0; i-- {
				before := sl.Pos[0]
				sl, err = r.ThreadSlice(ctx, forum.ListQuery{Section: sec.ID, Private: private, Before: &before, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				if !sameIDs(threadIDs(sl.Threads), pages[i]) || !sl.Older {
					t.Fatalf("limit %d, newer page %d: %v (older %v), want %v", limit, i+1, threadIDs(sl.Threads), sl.Older, pages[i])
				}
				if want := min(i*limit, limit+1); sl.Newer != want {
					t.Fatalf("limit %d, newer page %d: Newer %d, want %d", limit, i+1, sl.Newer, want)
				}
			}
		}
	}
	// The other section's threads never show.
	for _, id := range flatten(sliceAll(t, r, other.ID, false, 5)) {
		for _, mine := range ids {
			if id == mine {
				t.Fatalf("section b lists %d", id)
			}
		}
	}
}

// Slices at the edges of the list and around positions that hold no thread
// (bumped, deleted, made up with equal sequence numbers).
func TestForumRepoThreadSliceEdges(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t, store.Options{NoSync: true})
	r := mustRepo(t, db)
	sec := mustSection(t, r, "a")
	empty := mustSection(t, r, "e")
	q := func(q forum.ListQuery) *forum.ThreadSlice {
		t.Helper()
		if q.Section == 0 {
			q.Section = sec.ID
		}
		sl, err := r.ThreadSlice(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return sl
	}
	if sl := q(forum.ListQuery{Section: empty.ID, Limit: 5}); len(sl.Threads) != 0 || sl.Older || sl.Newer != 0 {
		t.Fatalf("empty section: %+v", sl)
	}
	var ids []forum.ThreadID
	for i := 0; i < 10; i++ {
		th, _ := r.CreateThread(ctx, newThread(sec.ID, "Тема", false))
		ids = append(ids, th.ID)
	}
	// Newest first: ids[9] .. ids[0].
	top := q(forum.ListQuery{Limit: 4})
	if got := threadIDs(top.Threads); !sameIDs(got, []forum.ThreadID{ids[9], ids[8], ids[7], ids[6]}) || !top.Older || top.Newer != 0 {
		t.Fatalf("top: %v %+v", got, top)
	}
	if sl := q(forum.ListQuery{Limit: 0}); len(sl.Threads) != 0 {
		t.Fatal("limit 0 listed threads")
	}
	if sl := q(forum.ListQuery{Limit: 10}); len(sl.Threads) != 10 || sl.Older {
		t.Fatalf("exactly one full page: %d, older %v", len(sl.Threads), sl.Older)
	}
	if sl := q(forum.ListQuery{Skip: 10, Limit: 3}); len(sl.Threads) != 0 || sl.Older {
		t.Fatalf("skip past the end: %+v", sl)
	}
	bottom := q(forum.ListQuery{Skip: 9, Limit: 3})
	last := bottom.Pos[0]
	if bottom.Threads[0].ID != ids[0] || bottom.Older || bottom.Newer != 4 {
		t.Fatalf("last thread: %+v", bottom)
	}
	if sl := q(forum.ListQuery{After: &last, Limit: 3}); len(sl.Threads) != 0 || sl.Older {
		t.Fatalf("after the last: %+v", sl)
	}
	first := top.Pos[0]
	if sl := q(forum.ListQuery{Before: &first, Limit: 3}); len(sl.Threads) != 0 || !sl.Older || sl.Newer != 0 {
		t.Fatalf("before the first: %+v", sl)
	}
	// Equal sequence numbers: the thread ID breaks the tie.
	p := top.Pos[1] // ids[8]
	lower, higher := p, p
	lower.Thread--
	higher.Thread++
	if sl := q(forum.ListQuery{After: &lower, Limit: 1}); sl.Threads[0].ID != ids[8] {
		t.Fatalf("after a lower ID with the same sequence: %d", sl.Threads[0].ID)
	}
	if sl := q(forum.ListQuery{After: &higher, Limit: 1}); sl.Threads[0].ID != ids[7] {
		t.Fatalf("after a higher ID with the same sequence: %d", sl.Threads[0].ID)
	}
	if sl := q(forum.ListQuery{Before: &lower, Limit: 1}); sl.Threads[0].ID != ids[9] {
		t.Fatalf("before a lower ID with the same sequence: %d", sl.Threads[0].ID)
	}
	if sl := q(forum.ListQuery{Before: &higher, Limit: 1}); sl.Threads[0].ID != ids[8] {
		t.Fatalf("before a higher ID with the same sequence: %d", sl.Threads[0].ID)
	}
	// A position made up past every real one (pinned flag, huge sequence).
	far := forum.Position{Pinned: false, Seq: 1, Thread: 1 << 40}
	if sl := q(forum.ListQuery{After: &far, Limit: 3}); len(sl.Threads) != 0 {
		t.Fatalf("after a far position: %+v", sl)
	}
	if sl := q(forum.ListQuery{Before: &far, Limit: 3}); !sameIDs(threadIDs(sl.Threads), []forum.ThreadID{ids[2], ids[1], ids[0]}) || sl.Newer != 4 || sl.Older {
		t.Fatalf("before a far position: %v %+v", threadIDs(sl.Threads), sl)
	}
	pinnedTop := forum.Position{Pinned: true, Seq: 1 << 47, Thread: 1}
	if sl := q(forum.ListQuery{After: &pinnedTop, Limit: 2}); !sameIDs(threadIDs(sl.Threads), []forum.ThreadID{ids[9], ids[8]}) {
		t.Fatalf("after a pinned position: %v", threadIDs(sl.Threads))
	}

	// Between two page loads: the thread the cursor names is bumped, a
	// thread further down is bumped, one is deleted, one goes private. The
	// next page goes on from where the first ended, with no thread twice.
	cur := top.Pos[len(top.Pos)-1] // ids[6]
	addReply(t, r, ids[6], "bump")
	addReply(t, r, ids[2], "bump")
	if err := r.DeleteThread(ctx, ids[4]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.UpdateThread(ctx, ids[3], func(t *forum.Thread) error { t.Private = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if sl := q(forum.ListQuery{After: &cur, Limit: 4}); sl.Newer != 0 {
		t.Fatalf("Newer counted without CountNewer: %d", sl.Newer)
	}
	next := q(forum.ListQuery{After: &cur, Limit: 4, CountNewer: true})
	if got := threadIDs(next.Threads); !sameIDs(got, []forum.ThreadID{ids[5], ids[1], ids[0]}) || next.Older {
		t.Fatalf("next page after changes: %v, want %v", got, []forum.ThreadID{ids[5], ids[1], ids[0]})
	}
	// ids[2], ids[6], ids[9], ids[8], ids[7] are newer than ids[5] now.
	if next.Newer != 5 {
		t.Fatalf("Newer after changes: %d, want 5 (limit+1)", next.Newer)
	}
	back := q(forum.ListQuery{Before: &next.Pos[0], Limit: 4})
	if got := threadIDs(back.Threads); !sameIDs(got, []forum.ThreadID{ids[6], ids[9], ids[8], ids[7]}) || back.Newer != 1 || !back.Older {
		t.Fatalf("newer page after changes: %v %+v", got, back)
	}
	if priv := q(forum.ListQuery{Private: true, Limit: 4}); !sameIDs(threadIDs(priv.Threads), []forum.ThreadID{ids[3]}) {
		t.Fatalf("private list: %v", threadIDs(priv.Threads))
	}
}

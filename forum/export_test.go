package forum_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"tropa/forum"
	"tropa/internal/store"
)

// exportAll builds the whole export in memory, as the CLI assembles it.
func exportAll(tb testing.TB, svc *forum.Service, private bool) *forum.Export {
	tb.Helper()
	ctx := context.Background()
	x, err := svc.ExportIndex(ctx, private)
	if err != nil {
		tb.Fatal(err)
	}
	e := x.Header
	reports := x.ReportsByThread()
	for _, ref := range x.Threads {
		t, total, err := svc.ExportThread(ctx, ref.ID, 1, 1000, private)
		if err != nil {
			tb.Fatal(err)
		}
		if len(t.Posts) != total {
			tb.Fatalf("thread %d: %d of %d posts", ref.ID, len(t.Posts), total)
		}
		for i := range t.Posts {
			t.Posts[i].Reports = reports[ref.ID][t.Posts[i].N]
		}
		e.Threads = append(e.Threads, *t)
	}
	return &e
}

func encodeExport(tb testing.TB, e *forum.Export) string {
	tb.Helper()
	var b bytes.Buffer
	w, err := forum.NewExportWriter(&b, e)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range e.Threads {
		if err := w.Thread(&e.Threads[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// importAll writes a checked file into svc, each thread whole.
func importAll(tb testing.TB, svc *forum.Service, e *forum.Export) *forum.ImportPlan {
	tb.Helper()
	ctx := context.Background()
	b, err := svc.BoardIdentity(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	plan := forum.PlanImport(e, b)
	var secs []forum.ExportSection
	for _, i := range plan.Sections {
		secs = append(secs, e.Sections[i])
	}
	if _, err := svc.ImportSections(ctx, secs); err != nil {
		tb.Fatal(err)
	}
	for _, i := range plan.Threads {
		t := e.Threads[i]
		meta := t
		meta.Posts = nil
		if _, err := svc.ImportChunks(ctx, []forum.ImportChunk{{Total: len(t.Posts), Posts: t.Posts, Thread: &meta}}); err != nil {
			tb.Fatal(err)
		}
	}
	return plan
}

func TestExportRoundTrip(t *testing.T) {
	e := mustOpen(t)
	q := e.ask("hiv", "Где сдать тест?", "Текст & <b>", false)
	e.reply(q.Thread.ID, "ответ", q.Asker)
	e.reply(q.Thread.ID, "ещё", nil)
	if err := e.svc.Report(e.ctx, forum.ReportInput{Post: forum.PostRef{Thread: q.Thread.ID, N: 3}, Reason: forum.ReasonSpam}, forum.Viewer{}); err != nil {
		t.Fatal(err)
	}
	p := e.ask("hiv", "Закрытый вопрос", "тайна", true)

	file := encodeExport(t, exportAll(t, e.svc, false))
	if strings.Contains(file, p.Thread.Title) || strings.Contains(file, q.Receipt.String()) {
		t.Fatal("the public export holds a private thread or a receipt")
	}
	if !strings.Contains(file, "Текст & <b>") {
		t.Error("the export escapes Markdown's <, > or &")
	}
	got, err := forum.DecodeExport(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Threads) != 6 || len(got.Sections) != 5 || got.Threads[0].Posts[0].Author != "staff" {
		t.Fatalf("decoded %d sections, %d threads", len(got.Sections), len(got.Threads))
	}

	// Into an empty board, then once more: the second adds nothing, and the
	// new board exports the same file.
	f := emptyBoard(t)
	if plan := importAll(t, f.svc, got); len(plan.Threads) != 6 || len(plan.Sections) != 5 {
		t.Fatalf("plan: %+v", plan)
	}
	if plan := importAll(t, f.svc, got); len(plan.Threads) != 0 || plan.Present != 6 || len(plan.Sections) != 0 {
		t.Fatalf("second plan: %+v", plan)
	}
	again := exportAll(t, f.svc, false)
	again.ExportedHour = got.ExportedHour
	if s := encodeExport(t, again); s != file {
		t.Errorf("the imported board exports:\n%s\nwant:\n%s", s, file)
	}
	// The board it came from has it all (its opening threads too, though
	// another install seeds them at another hour).
	if plan := importAll(t, e.svc, got); len(plan.Threads) != 0 {
		t.Errorf("into the source: %+v", plan)
	}
	other := mustOpen(t) // seeded at the same hour...
	other.clock.Add(48 * 3600e9)
	if plan := importAll(t, other.svc, got); len(plan.Threads) != 1 { // ...the question alone is new
		t.Errorf("into a seeded board: %+v", plan)
	}
}

// emptyBoard is a board with no sections.
func emptyBoard(tb testing.TB) *env {
	tb.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { repo.Close(); db.Close() })
	e := &env{t: tb, db: db, repo: repo, clock: newClock(), ctx: context.Background()}
	e.svc = forum.NewService(repo, e.clock.Now, forum.Options{KDF: testKDF})
	return e
}

const goodFile = `{
  "format": "tropa-forum-export",
  "version": 1,
  "exported_hour": 490000,
  "private_included": false,
  "sections": [
    {"slug": "hiv", "order": 1, "title": {"ru": "ВИЧ", "en": "HIV"}, "description": {"ru": "Тесты"}}
  ],
  "threads": [
    {"section": "hiv", "title": "Первый вопрос", "created_hour": 480000, "last_active_hour": 480001,
     "posts": [{"n": 1, "author": "asker", "hour": 480000, "source": "Вопрос?"},
               {"n": 2, "author": "staff", "name": "Анна", "staff_id": "anna", "hour": 480001, "source": "Ответ."}]},
    {"section": "hiv", "title": "Второй вопрос", "created_hour": 480002, "last_active_hour": 480002,
     "posts": [{"n": 1, "author": "asker", "hour": 480002, "source": "  Ещё\r\nвопрос  "}]}
  ]
}`

func TestDecodeExportErrors(t *testing.T) {
	e, err := forum.DecodeExport(strings.NewReader(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Threads[1].Posts[0].Source; got != "Ещё\nвопрос" {
		t.Errorf("source not normalised: %q", got)
	}
	for _, tc := range []struct {
		name, old, new string
		path           string
		post, line     int
		field, key     string
		msg            string
	}{
		{name: "syntax", old: `"order": 1,`, new: `"order": 1,,`, line: 7, msg: "not valid JSON"},
		{name: "syntax in a post", old: `"source": "Ответ."}`, new: `"source": "Ответ." x}`, path: "threads[0]", line: 12, msg: "invalid character 'x'"},
		{name: "syntax between fields", old: `"version": 1,`, new: `"version": 1`, line: 4, msg: "not valid JSON"},
		{name: "syntax in a field", old: `"exported_hour": 490000`, new: `"exported_hour": 49x`, line: 4, msg: "not valid JSON"},
		{name: "cut", old: `"private_included": false,`, new: `"private_included": fa`, line: 5, field: "private_included", msg: "ends too early"},
		{name: "unknown post field", old: `"hour": 480001,`, new: `"hour": 480001, "ip": "1.2.3.4",`, path: "threads[0].posts[1]", post: 2, line: 10, msg: `unknown field "ip"`},
		{name: "unknown thread field", old: `"title": "Второй вопрос",`, new: `"title": "Второй вопрос", "asker": 3,`, path: "threads[1]", line: 13, msg: `unknown field "asker"`},
		{name: "wrong type", old: `"created_hour": 480002`, new: `"created_hour": "вчера"`, path: "threads[1]", line: 13, field: "created_hour", msg: "a whole number"},
		{name: "version", old: `"version": 1`, new: `"version": 3`, field: "version", msg: "version 3"},
		{name: "empty body", old: `"source": "Ответ."`, new: `"source": "   "`, path: "threads[0].posts[1]", post: 2, line: 10, field: "source", key: forum.KeyBodyEmpty},
		{name: "long title", old: `"Второй вопрос"`, new: `"` + strings.Repeat("т", forum.TitleMax+1) + `"`, path: "threads[1]", line: 13, field: "title", key: forum.KeyTitleTooLong},
		{name: "nul", old: `"Вопрос?"`, new: `"Во\u0000прос?"`, path: "threads[0].posts[0]", post: 1, field: "source", key: "err.body.nul"},
		{name: "staff without name", old: `"name": "Анна", `, new: ``, post: 2, field: "name", key: forum.KeyNameEmpty},
		{name: "name on a visitor", old: `"author": "staff"`, new: `"author": "anonymous"`, post: 2, field: "name", msg: "only staff posts"},
		{name: "staff id", old: `"staff_id": "anna"`, new: `"staff_id": "Анна"`, post: 2, field: "staff_id"},
		{name: "gap", old: `{"n": 2,`, new: `{"n": 3,`, post: 2, field: "n"},
		{name: "no posts", old: `"posts": [{"n": 1, "author": "asker", "hour": 480002, "source": "  Ещё\r\nвопрос  "}]`, new: `"posts": []`, path: "threads[1]", field: "posts"},
		{name: "anonymous question", old: `[{"n": 1, "author": "asker"`, new: `[{"n": 1, "author": "anonymous"`, post: 1, field: "author"},
		{name: "section twice", old: `"sections": [`, new: `"sections": [{"slug": "hiv", "order": 2, "title": {"ru": "Ещё"}, "description": {"ru": ""}},`, path: "sections[1]", field: "slug"},
		{name: "section title", old: `{"ru": "ВИЧ", "en": "HIV"}`, new: `{"ru": "", "en": "HIV"}`, path: "sections[0]", field: "title.ru"},
		{name: "hour in seconds", old: `"exported_hour": 490000`, new: `"exported_hour": 1764000000`, field: "exported_hour"},
		{name: "twice", old: `"version": 1,`, new: `"version": 1, "version": 1,`, field: "version", msg: "given twice"},
		{name: "report", old: `"source": "Ответ."`, new: `"source": "Ответ.", "reports": [{"reason": "spam", "hour": 480001, "resolved_by": "anna"}]`, post: 2, field: "reports[0].resolved_by"},
		{name: "trailing", old: "\n}", new: "\n}\n[]", msg: "more data"},
	} {
		file := strings.Replace(goodFile, tc.old, tc.new, 1)
		if tc.name == "cut" {
			file = file[:strings.Index(file, tc.new)+len(tc.new)]
		}
		if file == goodFile {
			t.Fatalf("%s: the change did not apply", tc.name)
		}
		_, err := forum.DecodeExport(strings.NewReader(file))
		var ie *forum.ImportError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an ImportError", tc.name, err)
			continue
		}
		if tc.path != "" && ie.Path != tc.path || ie.Post != tc.post || ie.Field != tc.field ||
			tc.line != 0 && ie.Line != tc.line ||
			tc.key != "" && forum.ErrorKey(ie.Err) != tc.key ||
			!strings.Contains(ie.Error(), tc.msg) {
			t.Errorf("%s: %#v (%v)", tc.name, ie, err)
		}
	}
}

func TestPlanImport(t *testing.T) {
	th := func(section, title string, pinned bool, hour forum.Hour) forum.ExportThread {
		return forum.ExportThread{Section: section, Title: title, Pinned: pinned, Created: hour, LastActive: hour,
			Posts: []forum.ExportPost{{N: 1, Author: "asker", Hour: hour, Source: "?"}}}
	}
	e := &forum.Export{
		Sections: []forum.ExportSection{{Slug: "a"}, {Slug: "b"}},
		Threads: []forum.ExportThread{ // as the section pages list them
			th("a", "pinned", true, 5),
			th("a", "newest", false, 9),
			th("a", "same", false, 7), // twice: one on the board
			th("a", "same", false, 7),
			th("a", "oldest", false, 2),
			th("b", "b-new", false, 8),
			th("b", "b-old", false, 3),
		},
	}
	board := &forum.BoardIdentity{Sections: []string{"b"}, Threads: map[string]int{e.Threads[2].Identity(): 1}}
	p := forum.PlanImport(e, board)
	var got []string
	for _, i := range p.Threads {
		got = append(got, e.Threads[i].Title)
	}
	// Each list from its end, the lists interleaved by last activity.
	if want := "oldest b-old pinned same b-new newest"; strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
	if p.Present != 1 || len(p.Sections) != 1 || p.Sections[0] != 0 {
		t.Errorf("plan %+v", p)
	}
	// A question asked twice is two threads; a staff thread is known
	// without its hour.
	if a, b := e.Threads[2].Identity(), e.Threads[3].Identity(); a != b {
		t.Error("identity is not a function of the content")
	}
	s1, s2 := th("a", "x", true, 1), th("a", "x", true, 2)
	s1.Posts[0].Author, s2.Posts[0].Author = "staff", "staff"
	a1, a2 := th("a", "x", false, 1), th("a", "x", false, 2)
	if s1.Identity() != s2.Identity() || a1.Identity() == a2.Identity() {
		t.Error("staff threads should match across hours, askers' not")
	}
}

// TestImportParts: a thread written in parts shows only when its last part
// is written; an interrupted one is erased, by AbortImport or by reopening
// the store, and leaves nothing behind.
func TestImportParts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*store.DB, *store.ForumRepo, *forum.Service) {
		db, err := store.Open(store.Options{Dir: dir, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		repo, err := store.NewForumRepo(db, store.BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return db, repo, forum.NewService(repo, newClock().Now, forum.Options{KDF: testKDF})
	}
	keys := func(db *store.DB) string {
		var b strings.Builder
		db.ForEach(nil, func(k, v []byte) error { fmt.Fprintf(&b, "%x=%x\n", k, v); return nil })
		return b.String()
	}
	db, repo, svc := open()
	if _, err := svc.ImportSections(ctx, []forum.ExportSection{{Slug: "s", Title: forum.ExportL10n{RU: "Раздел"}}}); err != nil {
		t.Fatal(err)
	}
	posts := func(from, to int) []forum.ExportPost {
		var ps []forum.ExportPost
		for n := from; n <= to; n++ {
			a := "anonymous"
			if n == 1 {
				a = "asker"
			}
			ps = append(ps, forum.ExportPost{N: n, Author: a, Hour: 100, Source: fmt.Sprint("пост ", n), Deleted: false})
		}
		return ps
	}
	meta := &forum.ExportThread{Section: "s", Title: "Долгая ветка", Created: 100, LastActive: 101}
	clean := keys(db)

	// Begun and aborted: nothing left.
	ids, err := svc.ImportChunks(ctx, []forum.ImportChunk{{Total: 5, Posts: posts(1, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ThreadPage(ctx, ids[0], 1, forum.Viewer{Staff: true}); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Errorf("a half-written thread shows: %v", err)
	}
	if err := svc.AbortImport(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if k := keys(db); !strings.Contains(k, "662f632f746872656164") /* f/c/thread */ || strings.Count(k, "\n") != strings.Count(clean, "\n")+1 {
		t.Errorf("abort left:\n%s", k)
	}

	// Refusals: a part that does not fit its thread.
	ids, err = svc.ImportChunks(ctx, []forum.ImportChunk{{Total: 5, Posts: posts(1, 2), Reports: []forum.ExportReportRef{{N: 2, ExportReport: forum.ExportReport{Reason: forum.ReasonSpam, Hour: 100}}}}})
	if err != nil {
		t.Fatal(err)
	}
	stage := ids[0]
	for name, c := range map[string]forum.ImportChunk{
		"twice":       {Stage: stage, Posts: posts(2, 2)},
		"outside":     {Stage: stage, Posts: posts(6, 6)},
		"unfinished":  {Stage: stage, Posts: posts(3, 4), Thread: meta},
		"no such":     {Stage: stage + 100, Posts: posts(3, 3)},
		"bad section": {Stage: stage, Posts: posts(3, 5), Thread: &forum.ExportThread{Section: "nope", Title: "Долгая ветка", Created: 1, LastActive: 1}},
	} {
		if _, err := svc.ImportChunks(ctx, []forum.ImportChunk{c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	// Interrupted: the store reopened erases it, and the next import
	// sweeps the last marker.
	repo.Close()
	db.Close()
	db, repo, svc = open()
	if _, err := svc.ImportChunks(ctx, []forum.ImportChunk{{Stage: stage, Posts: posts(3, 5), Thread: meta}}); err == nil {
		t.Error("a thread erased by a restart was continued")
	}
	ids, err = svc.ImportChunks(ctx, []forum.ImportChunk{{Total: 1, Posts: posts(1, 1), Thread: &forum.ExportThread{Section: "s", Title: "Короткая", Created: 99, LastActive: 99}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteThread(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	k := keys(db)
	for _, prefix := range []string{"662f702f" /* f/p/ */, "662f696d702f" /* f/imp/ */, "662f70757267652f" /* f/purge/ */, "662f722f" /* f/r/ */} {
		for _, line := range strings.Split(k, "\n") {
			if strings.HasPrefix(line, prefix) {
				t.Errorf("left behind: %s", line)
			}
		}
	}

	// Written in three parts, with a report: it shows whole.
	ids, err = svc.ImportChunks(ctx, []forum.ImportChunk{{Total: 5, Posts: posts(1, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	stage = ids[0]
	if _, err := svc.ImportChunks(ctx, []forum.ImportChunk{{Stage: stage, Posts: posts(3, 4),
		Reports: []forum.ExportReportRef{{N: 4, ExportReport: forum.ExportReport{Reason: forum.ReasonAbuse, Hour: 101}}}}}); err != nil {
		t.Fatal(err)
	}
	last := posts(5, 5)
	last[0].Deleted, last[0].Source = true, ""
	if _, err := svc.ImportChunks(ctx, []forum.ImportChunk{{Stage: stage, Posts: last, Thread: meta}}); err != nil {
		t.Fatal(err)
	}
	tp, err := svc.ThreadPage(ctx, stage, 1, forum.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	if tp.Thread.Posts != 5 || tp.Thread.Replies != 3 || tp.Thread.Asker != 0 || len(tp.Posts) != 5 || tp.Posts[3].HTML != "<p>пост 4</p>" {
		t.Errorf("imported thread: %+v, posts %+v", tp.Thread, tp.Posts)
	}
	rs, _, err := svc.ReportQueue(ctx, 1)
	if err != nil || len(rs) != 1 || rs[0].Post != (forum.PostRef{Thread: stage, N: 4}) {
		t.Errorf("reports: %+v, %v", rs, err)
	}
	if k := keys(db); strings.Contains(k, "662f696d702f") || strings.Contains(k, "662f70757267652f") {
		t.Error("markers left after the thread showed")
	}
	repo.Close()
	db.Close()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
	"tropa/keys"
)

// testBoard is the forum of a data directory opened as serve opens it, with
// cheap receipts and a clock the test moves.
type testBoard struct {
	t    *testing.T
	db   *store.DB
	repo *store.ForumRepo
	svc  *forum.Service
	now  time.Time
	ctx  context.Context
}

func openTestBoard(t *testing.T, dir string) *testBoard {
	t.Helper()
	storeDir := filepath.Join(dir, "store")
	ring, err := keys.Open(filepath.Join(dir, "keys"), nil, dirHasFiles(storeDir))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	b := &testBoard{t: t, db: db, repo: repo, now: time.Date(2025, 5, 1, 10, 20, 0, 0, time.UTC), ctx: context.Background()}
	b.svc = forum.NewService(repo, func() time.Time { return b.now }, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 256, Threads: 1}})
	return b
}

func (b *testBoard) close() {
	b.repo.Close()
	b.db.Close()
}

func (b *testBoard) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *testBoard) ask(section, title, body string, private bool) *forum.AskResult {
	b.t.Helper()
	res, err := b.svc.Ask(b.ctx, forum.AskInput{Section: section, Title: title, Body: body, Private: private})
	b.must(err)
	return res
}

func (b *testBoard) reply(id forum.ThreadID, body string, a *forum.Asker) *forum.Post {
	b.t.Helper()
	p, err := b.svc.Reply(b.ctx, forum.ReplyInput{Thread: id, Body: body, Asker: a})
	b.must(err)
	return p
}

func (b *testBoard) staff(id forum.ThreadID, body string) {
	b.t.Helper()
	_, err := b.svc.StaffReply(b.ctx, id, "anna", "Анна из фонда", body)
	b.must(err)
}

// fillBoard writes a board with every kind of thing an export holds, and
// returns the receipts and private titles it must not hold.
func fillBoard(b *testBoard) (receipts, privateTitles []string) {
	b.must(b.svc.Seed(b.ctx))
	tick := func() { b.now = b.now.Add(time.Hour) }
	tick()
	q := b.ask("hiv", "Где сдать тест на ВИЧ анонимно?", "Живу в Купчино.\nЕсть ли **бесплатно**? <script>alert(1)</script> & [ссылка](http://example.org)", false)
	receipts = append(receipts, q.Receipt.String(), q.Receipt.Format())
	b.reply(q.Thread.ID, "Я сдавал в автобусе фонда.", nil)
	tick()
	b.reply(q.Thread.ID, "Уточню: нужен экспресс-тест.", q.Asker)
	b.staff(q.Thread.ID, "Расписание автобуса — в канале.\n\n- пн\n- ср")
	spam := b.reply(q.Thread.ID, "КУПИ СКОРОСТЬ", nil)
	gone := b.reply(q.Thread.ID, "мой телефон 8-900-000-00-00", nil)
	b.must(b.svc.HidePost(b.ctx, spam.Ref(), true))
	b.must(b.svc.DeletePost(b.ctx, gone.Ref()))
	b.must(b.svc.Report(b.ctx, forum.ReportInput{Post: spam.Ref(), Reason: forum.ReasonSelling, Note: "продажа"}, forum.Viewer{}))
	b.must(b.svc.Report(b.ctx, forum.ReportInput{Post: forum.PostRef{Thread: q.Thread.ID, N: 2}, Reason: forum.ReasonOther}, forum.Viewer{}))
	open, _, err := b.svc.ReportQueue(b.ctx, 1)
	b.must(err)
	b.must(b.svc.ResolveReport(b.ctx, open[len(open)-1].ID, "anna"))

	tick()
	p := b.ask("hepatitis", "Личный вопрос про гепатит C", "Мне страшно, что делать?", true)
	receipts = append(receipts, p.Receipt.String(), p.Receipt.Format())
	privateTitles = append(privateTitles, p.Thread.Title)
	b.reply(p.Thread.ID, "И ещё: лечение платное?", p.Asker)
	b.staff(p.Thread.ID, "Лечение бесплатное по ОМС.")
	b.must(b.svc.Report(b.ctx, forum.ReportInput{Post: forum.PostRef{Thread: p.Thread.ID, N: 2}, Reason: forum.ReasonPersonalData}, forum.Viewer{Staff: true}))

	// Many threads in one section, some in one hour, to span pages.
	for i := 0; i < 24; i++ {
		if i%5 == 0 {
			tick()
		}
		r := b.ask("harm-reduction", fmt.Sprintf("Вопрос номер %d о шприцах", i), fmt.Sprintf("Текст вопроса %d.", i), i%7 == 3)
		if i%7 == 3 {
			privateTitles = append(privateTitles, r.Thread.Title)
		}
		if i%3 == 0 {
			b.staff(r.Thread.ID, "Ответ фонда.")
		}
		if i == 4 {
			b.must(b.svc.LockThread(b.ctx, r.Thread.ID, true))
		}
		if i == 8 {
			b.must(b.svc.PinThread(b.ctx, r.Thread.ID, true))
		}
		if i == 10 {
			b.must(b.svc.MoveThread(b.ctx, r.Thread.ID, "services"))
		}
	}
	// A long thread, written in several parts, bumped last.
	tick()
	long := b.ask("overdose", "Длинная ветка про налоксон", "С чего начать?", false)
	for i := 0; i < 60; i++ {
		b.reply(long.Thread.ID, fmt.Sprintf("Ответ %d: налоксон действует 30–90 минут, не оставляйте человека одного.", i), nil)
	}
	_, err = b.svc.StaffThread(b.ctx, "services", "root", forum.StaffTeamName, "Расписание на май", "Пн — Купчино, ср — Девяткино.", true)
	b.must(err)
	// The same question twice in one hour: two threads.
	b.ask("hiv", "Дубль: где тест?", "Где тест?", false)
	b.ask("hiv", "Дубль: где тест?", "Где тест?", false)
	return receipts, privateTitles
}

// normThread drops what differs between boards holding the same threads.
func normThread(t forum.Thread) forum.Thread {
	t.ID, t.Section, t.Asker = 0, 0, 0
	return t
}

func normSection(s forum.Section, private bool) forum.Section {
	s.ID = 0
	if !private {
		s.PrivateThreads = 0
	}
	return s
}

// sameBoard compares what a and b show, page by page, ignoring IDs and
// askers: the section list, every section page, every thread page as staff
// see it (and so visitors), and the open reports; with private, the private
// lists too.
func sameBoard(t *testing.T, a, b *forum.Service, private bool) {
	t.Helper()
	ctx := context.Background()
	sa, err := a.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) != len(sb) {
		t.Fatalf("%d sections, want %d", len(sb), len(sa))
	}
	threadsSeen := 0
	for i := range sa {
		if x, y := normSection(sa[i], private), normSection(sb[i], private); !reflect.DeepEqual(x, y) {
			t.Errorf("section %d:\n got %+v\nwant %+v", i, y, x)
			continue
		}
		lists := []func(*forum.Service, context.Context, string, int) (*forum.SectionPage, error){(*forum.Service).SectionPage}
		if private {
			lists = append(lists, (*forum.Service).PrivatePage)
		}
		for _, list := range lists {
			for page := 1; ; page++ {
				pa, err := list(a, ctx, sa[i].Slug, page)
				if err != nil {
					t.Fatal(err)
				}
				pb, err := list(b, ctx, sa[i].Slug, page)
				if err != nil {
					t.Fatalf("%s page %d: %v", sa[i].Slug, page, err)
				}
				if pa.Pages != pb.Pages || len(pa.Threads) != len(pb.Threads) {
					t.Fatalf("%s page %d: %d threads of %d pages, want %d of %d", sa[i].Slug, page, len(pb.Threads), pb.Pages, len(pa.Threads), pa.Pages)
				}
				for k := range pa.Threads {
					ta, tb := pa.Threads[k], pb.Threads[k]
					if !reflect.DeepEqual(normThread(ta), normThread(tb)) {
						t.Errorf("%s page %d thread %d:\n got %+v\nwant %+v", sa[i].Slug, page, k, normThread(tb), normThread(ta))
						continue
					}
					sameThread(t, a, b, ta.ID, tb.ID)
					threadsSeen++
				}
				if page >= pa.Pages {
					break
				}
			}
		}
	}
	if threadsSeen == 0 {
		t.Fatal("no threads compared")
	}
	ra, _, err := a.ReportQueue(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := b.ReportQueue(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(s *forum.Service, rs []forum.Report) []string {
		var out []string
		for _, r := range rs {
			th, err := s.ThreadPage(ctx, r.Post.Thread, 1, forum.Viewer{Staff: true})
			if err != nil {
				t.Fatal(err)
			}
			if !private && th.Thread.Private {
				continue
			}
			out = append(out, fmt.Sprintf("%s#%d %s %q %d", th.Thread.Title, r.Post.N, r.Reason, r.Note, r.Hour))
		}
		return out
	}
	if x, y := norm(a, ra), norm(b, rb); !reflect.DeepEqual(x, y) {
		t.Errorf("open reports:\n got %q\nwant %q", y, x)
	}
}

func sameThread(t *testing.T, a, b *forum.Service, ida, idb forum.ThreadID) {
	t.Helper()
	ctx := context.Background()
	for page := 1; ; page++ {
		pa, err := a.ThreadPage(ctx, ida, page, forum.Viewer{Staff: true})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.ThreadPage(ctx, idb, page, forum.Viewer{Staff: true})
		if err != nil {
			t.Fatal(err)
		}
		if normThread(pa.Thread) != normThread(pb.Thread) || pa.Pages != pb.Pages || len(pa.Posts) != len(pb.Posts) {
			t.Fatalf("thread %q page %d differs", pa.Thread.Title, page)
		}
		for i := range pa.Posts {
			x, y := pa.Posts[i], pb.Posts[i]
			x.Thread, y.Thread = 0, 0
			if !reflect.DeepEqual(x, y) {
				t.Errorf("thread %q post %d:\n got %+v\nwant %+v", pa.Thread.Title, x.N, y, x)
			}
		}
		if page >= pa.Pages {
			return
		}
	}
}

// storeKeys lists every key and value of the store in dir.
func storeKeys(t *testing.T, dir string) []string {
	t.Helper()
	b := openTestBoard(t, dir)
	defer b.close()
	var out []string
	if err := b.db.ForEach(nil, func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%x=%x", k, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameKeys(t *testing.T, what string, before, after []string) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("%s changed the store: %d keys before, %d after", what, len(before), len(after))
	}
}

// smallParts makes export answers and import requests small, so a test
// board is read and written in many parts.
func smallParts(t *testing.T) {
	oe, os_, od := exportPostsPerCall, importSocketBudget, importDirectBudget
	exportPostsPerCall, importSocketBudget, importDirectBudget = 7, 4000, 4000
	t.Cleanup(func() { exportPostsPerCall, importSocketBudget, importDirectBudget = oe, os_, od })
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// withoutHour blanks the export hour, the one line two exports of the
// same board differ in.
func withoutHour(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, `  "exported_hour": `) {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// TestForumExportImport: export, then import into a fresh data directory,
// reproduces the public board page for page; importing again, or into the
// board the file came from, adds nothing; --include-private carries the
// private threads, without their askers.
func TestForumExportImport(t *testing.T) {
	smallParts(t)
	root := t.TempDir()
	src, fresh, fresh2 := filepath.Join(root, "src"), filepath.Join(root, "fresh"), filepath.Join(root, "fresh2")
	b := openTestBoard(t, src)
	receipts, privateTitles := fillBoard(b)
	b.close()

	public := mustRun(t, "", "forum", "export", "--data", src)
	for _, secret := range append(append(receipts, privateTitles...), "asker_id", `"receipt`, `"asker":`) {
		if strings.Contains(public, secret) {
			t.Errorf("the export holds %q", secret)
		}
	}
	for _, want := range []string{`"format": "tropa-forum-export"`, `"version": 1`, `"exported_hour": `, `"slug": "harm-reduction"`,
		`"author": "asker"`, `"staff_id": "anna"`, `"name": "Анна из фонда"`, `"hidden": true`, `"deleted": true`,
		`"locked": true`, `"reason": "selling"`, `"resolved_by": "anna"`, "<script>alert(1)</script> & [ссылка]"} {
		if !strings.Contains(public, want) {
			t.Errorf("the export lacks %s", want)
		}
	}
	file := writeFile(t, "board.json", public)

	out := mustRun(t, "", "forum", "import", file, "--data", fresh)
	if !strings.Contains(out, "added 5 sections and ") {
		t.Errorf("import said %q", out)
	}
	a, c := openTestBoard(t, src), openTestBoard(t, fresh)
	sameBoard(t, a.svc, c.svc, false)
	a.close()
	c.close()
	if again := mustRun(t, "", "forum", "export", "--data", fresh); withoutHour(again) != withoutHour(public) {
		t.Errorf("the imported board exports differently:\n%s", again)
	}

	// Again, and into the board it came from: nothing.
	for _, dir := range []string{fresh, src} {
		before := storeKeys(t, dir)
		if out := mustRun(t, "", "forum", "import", "--data", dir, file); !strings.HasPrefix(out, "nothing to add") {
			t.Errorf("re-import into %s said %q", filepath.Base(dir), out)
		}
		sameKeys(t, "a re-import", before, storeKeys(t, dir))
	}
	if out := mustRun(t, "", "forum", "import", "--dry-run", "--data", filepath.Join(root, "none"), file); !strings.Contains(out, "would add 5 sections") {
		t.Errorf("dry run said %q", out)
	}
	if _, err := os.Stat(filepath.Join(root, "none")); err == nil {
		t.Error("a dry run made the data directory")
	}

	// With the private threads: into a fresh board, and into the one that
	// has the public ones (which adds just the private ones).
	all := mustRun(t, "", "forum", "export", "--include-private", "--data", src)
	for _, secret := range append(receipts, "asker_id", `"receipt`) {
		if strings.Contains(all, secret) {
			t.Errorf("the private export holds %q", secret)
		}
	}
	for _, title := range privateTitles {
		if !strings.Contains(all, title) {
			t.Errorf("the private export lacks %q", title)
		}
	}
	allFile := writeFile(t, "all.json", all)
	mustRun(t, "", "forum", "import", allFile, "--data", fresh2)
	out = mustRun(t, "", "forum", "import", allFile, "--data", fresh)
	if want := fmt.Sprintf("and %d threads", len(privateTitles)); !strings.Contains(out, want) {
		t.Errorf("adding the private threads said %q, want %q", out, want)
	}
	a = openTestBoard(t, src)
	defer a.close()
	for _, dir := range []string{fresh, fresh2} {
		c := openTestBoard(t, dir)
		sameBoard(t, a.svc, c.svc, true)
		// Nobody can open an imported private thread as its asker.
		secs, _ := c.svc.Sections(c.ctx)
		for _, s := range secs {
			pp, err := c.svc.PrivatePage(c.ctx, s.Slug, 1)
			c.must(err)
			for _, th := range pp.Threads {
				if th.Asker != 0 {
					t.Errorf("%s: private thread %q has an asker", filepath.Base(dir), th.Title)
				}
			}
		}
		c.close()
	}
}

// mutate decodes an export, changes it and encodes it again.
func mutate(t *testing.T, data string, fn func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// thread is thread i of the file; -1 is the last with two posts or more,
// so that a fault there comes after threads that would import.
func thread(m map[string]any, i int) map[string]any {
	ts := m["threads"].([]any)
	if i < 0 {
		for i = len(ts) - 1; len(ts[i].(map[string]any)["posts"].([]any)) < 2; i-- {
		}
	}
	return ts[i].(map[string]any)
}

func post(m map[string]any, i, j int) map[string]any {
	return thread(m, i)["posts"].([]any)[j].(map[string]any)
}

// TestForumImportMalformed: a file with anything wrong imports nothing and
// says where the fault is. The target board has none of the file's threads,
// so a partial import would show.
func TestForumImportMalformed(t *testing.T) {
	root := t.TempDir()
	src, dst := filepath.Join(root, "src"), filepath.Join(root, "dst")
	b := openTestBoard(t, src)
	fillBoard(b)
	b.close()
	good := mustRun(t, "", "forum", "export", "--data", src)
	// The target: a store with a board of its own.
	d := openTestBoard(t, dst)
	d.must(d.svc.Seed(d.ctx))
	d.ask("hiv", "Свой вопрос на новом сайте", "Текст.", false)
	d.close()
	before := storeKeys(t, dst)

	last := strings.LastIndex(good, `"title"`)
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"syntax", good[:last] + `"title": "x",, ` + good[last+9:], []string{"line ", "not valid JSON"}},
		{"cut", good[:len(good)/2], []string{"threads[", "not valid JSON"}},
		{"trailing", good + "{}", []string{"more data after the end"}},
		{"not an object", `[1, 2]`, []string{"not a JSON object"}},
		{"format", mutate(t, good, func(m map[string]any) { m["format"] = "phpbb" }), []string{`field "format"`, "not a tropa forum export"}},
		{"version", mutate(t, good, func(m map[string]any) { m["version"] = 2 }), []string{`field "version"`, "version 2: this tropa reads version 1"}},
		{"top-level field", mutate(t, good, func(m map[string]any) { m["receipts"] = []any{} }), []string{`field "receipts"`, "unknown field"}},
		{"post field", mutate(t, good, func(m map[string]any) { post(m, -1, 1)["asker_id"] = 7 }), []string{"threads[", ".posts[1]", "post 2", `unknown field "asker_id"`}},
		{"thread type", mutate(t, good, func(m map[string]any) { thread(m, -1)["pinned"] = "yes" }), []string{"threads[", `field "pinned"`, "true or false"}},
		{"title", mutate(t, good, func(m map[string]any) { thread(m, -1)["title"] = "ой" }), []string{"threads[", `field "title"`, "title is too short"}},
		{"body", mutate(t, good, func(m map[string]any) { post(m, -1, 0)["source"] = strings.Repeat("я", forum.BodyMax+1) }), []string{"post 1", `field "source"`, "text is too long"}},
		{"control", mutate(t, good, func(m map[string]any) { post(m, -1, 0)["source"] = "звонок\u0007" }), []string{`field "source"`, "control character"}},
		{"number", mutate(t, good, func(m map[string]any) { post(m, -1, 1)["n"] = 5 }), []string{"post 2", `field "n"`, "post number 5 where 2 is due"}},
		{"author", mutate(t, good, func(m map[string]any) { post(m, -1, 1)["author"] = "moderator" }), []string{`field "author"`, `"moderator" is not an author`}},
		{"section", mutate(t, good, func(m map[string]any) { thread(m, -1)["section"] = "nowhere" }), []string{`field "section"`, `no section "nowhere"`}},
		{"private", mutate(t, good, func(m map[string]any) { thread(m, -1)["private"] = true }), []string{`field "private"`, "private_included"}},
		{"hour", mutate(t, good, func(m map[string]any) { thread(m, -1)["created_hour"] = 1746094800 }), []string{`field "created_hour"`, "is not an hour"}},
		{"report", mutate(t, good, func(m map[string]any) {
			post(m, -1, 0)["reports"] = []any{map[string]any{"reason": "boring", "hour": 480000}}
		}), []string{"post 1", `field "reports[0].reason"`}},
		{"deleted question", mutate(t, good, func(m map[string]any) {
			p := post(m, -1, 0)
			delete(p, "source")
			p["deleted"] = true
		}), []string{"post 1", `field "deleted"`}},
		{"slug", mutate(t, good, func(m map[string]any) { m["sections"].([]any)[0].(map[string]any)["slug"] = "Bad Slug" }), []string{"sections[0]", `field "slug"`}},
	} {
		file := writeFile(t, "bad.json", tc.file)
		code, _, errs := runCLI(t, "", "forum", "import", file, "--data", dst)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", tc.name, code, errs)
			continue
		}
		msg := strings.TrimSpace(errs)
		if strings.Count(msg, "\n") > 0 {
			t.Errorf("%s: more than one line:\n%s", tc.name, msg)
		}
		for _, w := range append(tc.want, "nothing was imported") {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", tc.name, msg, w)
			}
		}
	}
	sameKeys(t, "malformed imports", before, storeKeys(t, dst))

	// The good file still goes in whole.
	if out := mustRun(t, "", "forum", "import", writeFile(t, "good.json", good), "--data", dst); !strings.Contains(out, "added 0 sections and") {
		t.Errorf("good import said %q", out)
	}
}

// serveBoard starts the status socket of a pretend running tropa in dir,
// with the admin handler over an in-memory store holding a seeded board,
// and records what it tells the site.
func serveBoard(t *testing.T, dir string) (*AdminDeps, *[]forum.ThreadID) {
	t.Helper()
	db, err := store.Open(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close(); db.Close() })
	d, err := NewAdminDeps(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	d.Board = forum.NewService(repo, nil, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 256, Threads: 1}})
	if err := d.Board.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	changed := &[]forum.ThreadID{}
	d.OnBoardChange = func(id forum.ThreadID) { *changed = append(*changed, id) }
	stop, err := serveStatus(dir, func() statusReport { return statusReport{Version: "test"} }, AdminHandler(d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d, changed
}

// TestForumOverSocket: while tropa serves, export and import go through
// its socket in parts, and the site hears of every imported thread.
func TestForumOverSocket(t *testing.T) {
	smallParts(t)
	root := t.TempDir()
	served, src := filepath.Join(root, "served"), filepath.Join(root, "src")
	if err := os.Mkdir(served, 0o700); err != nil {
		t.Fatal(err)
	}
	d, changed := serveBoard(t, served)
	ctx := context.Background()

	b := openTestBoard(t, src)
	fillBoard(b)
	b.close()
	file := writeFile(t, "board.json", mustRun(t, "", "forum", "export", "--data", src))

	out := mustRun(t, "", "forum", "import", file, "--data", served)
	if !strings.Contains(out, "added 0 sections and ") {
		t.Errorf("import said %q", out)
	}
	for _, sub := range []string{"store", "keys"} {
		if _, err := os.Stat(filepath.Join(served, sub)); err == nil {
			t.Errorf("the CLI made %s/ instead of using the socket", sub)
		}
	}
	if len(*changed) == 0 || (*changed)[len(*changed)-1] != 0 {
		t.Errorf("the site was not told: %v", *changed)
	}
	told := map[forum.ThreadID]bool{}
	for _, id := range *changed {
		told[id] = true
	}
	sp, err := d.Board.SectionPage(ctx, "overdose", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Threads) != 2 || sp.Threads[1].Title != "Длинная ветка про налоксон" || sp.Threads[1].Posts != 61 {
		t.Fatalf("overdose after the import: %+v", sp.Threads)
	}
	if !told[sp.Threads[1].ID] {
		t.Errorf("the site was not told of thread %d", sp.Threads[1].ID)
	}

	// Over the socket the export reads the served board; the served board
	// has its own seeded threads, which a re-import therefore skips too.
	served1 := mustRun(t, "", "forum", "export", "--data", served)
	if !strings.Contains(served1, "Длинная ветка про налоксон") || strings.Count(served1, `"n": 61`) != 1 {
		t.Error("the export over the socket lacks the long thread")
	}
	*changed = nil
	if out := mustRun(t, "", "forum", "import", file, "--data", served); !strings.HasPrefix(out, "nothing to add") {
		t.Errorf("re-import said %q", out)
	}
	if out := mustRun(t, "", "forum", "import", writeFile(t, "served.json", served1), "--data", served); !strings.HasPrefix(out, "nothing to add") {
		t.Errorf("importing the served board's own export said %q", out)
	}
	if len(*changed) != 0 {
		t.Errorf("a no-op import told the site %v", *changed)
	}
	wantFail(t, 1, "", "nothing was imported", "forum", "import", writeFile(t, "bad.json", `{"format":"tropa-forum-export","version":1,"exported_hour":1,"bogus":1}`), "--data", served)
}

// TestForumImportServerWithoutBoard: a running tropa whose serve.go does
// not hand the board to admin commands is reported, not worked around.
func TestForumImportServerWithoutBoard(t *testing.T) {
	dir := t.TempDir()
	serveAdmin(t, dir) // staff only
	wantFail(t, 1, "", "does not take forum commands", "forum", "export", "--data", dir)
}

func TestForumCLIUsage(t *testing.T) {
	data := "--data=" + t.TempDir()
	for _, tc := range []struct {
		code int
		args []string
	}{
		{2, []string{"forum"}},
		{2, []string{"forum", "bogus"}},
		{2, []string{"forum", "import", data}},
		{2, []string{"forum", "import", "a", "b", data}},
		{2, []string{"forum", "export", "extra", data}},
		{0, []string{"help", "forum"}},
		{0, []string{"forum", "import", "-h"}},
	} {
		if code, _, errs := runCLI(t, "", tc.args...); code != tc.code {
			t.Errorf("tropa %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, errs)
		}
	}
	wantFail(t, 1, "", "no tropa store", "forum", "export", data)
	code, out, _ := runCLI(t, "", "help", "forum")
	if code != 0 || !strings.Contains(out, "cannot open\nthem again") && !strings.Contains(out, "askers cannot open") {
		t.Errorf("the help does not say private threads lose their askers:\n%s", out)
	}
}

// TestPackImport: requests stay within the budget, and a long thread's
// parts carry each post and report once, its fields last.
func TestPackImport(t *testing.T) {
	th := forum.ExportThread{Section: "s", Title: "Длинная", Created: 10, LastActive: 10}
	for n := 1; n <= 40; n++ {
		p := forum.ExportPost{N: n, Author: "anonymous", Hour: 10, Source: strings.Repeat("ж", 100)}
		if n == 1 {
			p.Author = "asker"
		}
		if n == 3 {
			for i := 0; i < 30; i++ {
				p.Reports = append(p.Reports, forum.ExportReport{Reason: forum.ReasonSpam, Note: strings.Repeat("н", 50), Hour: 11})
			}
		}
		th.Posts = append(th.Posts, p)
	}
	short := forum.ExportThread{Section: "s", Title: "Короткая", Created: 9, LastActive: 9,
		Posts: []forum.ExportPost{{N: 1, Author: "asker", Hour: 9, Source: "?"}}}
	e := &forum.Export{Threads: []forum.ExportThread{short, th, short, short}}
	e.Threads[2].Title, e.Threads[3].Title = "Другая", "Третья"
	plan := &forum.ImportPlan{Threads: []int{0, 1, 2, 3}}
	const budget = 2000
	steps := packImport(e, plan, budget)
	posts, reports, shown := 0, 0, 0
	for i, st := range steps {
		body, _ := json.Marshal(importWriteRequest{Cmd: "forum.import.write", Chunks: st.chunks})
		if len(body) > budget {
			t.Errorf("step %d: %d bytes", i, len(body))
		}
		for _, c := range st.chunks {
			posts += len(c.Posts)
			reports += len(c.Reports)
			if c.Thread != nil {
				shown++
				if len(c.Thread.Posts) != 0 {
					t.Errorf("step %d: the thread's fields carry posts", i)
				}
			}
			for _, p := range c.Posts {
				if len(p.Reports) != 0 {
					t.Errorf("step %d: reports inside post %d", i, p.N)
				}
			}
		}
	}
	if posts != 43 || reports != 30 || shown != 4 {
		t.Errorf("%d posts, %d reports, %d threads; want 43, 30, 4", posts, reports, shown)
	}
	if len(steps) < 4 || len(steps[0].chunks) != 1 || steps[0].continues || !steps[2].continues {
		t.Errorf("steps: %d, first %d chunks", len(steps), len(steps[0].chunks))
	}
	if last := steps[len(steps)-1]; len(last.chunks) != 2 || last.continues {
		t.Errorf("the two short threads after the long one should share a request: %+v", last)
	}
}

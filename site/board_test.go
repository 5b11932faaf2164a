package site_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tropa/forum"
	"tropa/internal/store"
	"tropa/site"
)

// boardSite is a site with a seeded board over an in-memory store.
type boardSite struct {
	s   *site.Site
	svc *forum.Service
	srv *httptest.Server
}

func newBoardSite(t *testing.T, captcha bool) *boardSite {
	t.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc := forum.NewService(repo, nil, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := svc.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := site.New(site.Options{Forum: svc, NoCaptcha: !captcha})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		repo.Close()
		db.Close()
	})
	return &boardSite{s: s, svc: svc, srv: srv}
}

// visitor is a browser: a cookie jar, redirects not followed.
type visitor struct {
	t  *testing.T
	b  *boardSite
	c  *http.Client
	lp string // last page body
}

func (b *boardSite) visitor(t *testing.T) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, b: b, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (v *visitor) get(path string) (int, string) {
	v.t.Helper()
	resp, err := v.c.Get(v.b.srv.URL + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v.lp = string(b)
	return resp.StatusCode, v.lp
}

// post submits form values; it returns the status, the Location and body.
func (v *visitor) post(path string, form url.Values) (int, string, string) {
	v.t.Helper()
	resp, err := v.c.PostForm(v.b.srv.URL+path, form)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v.lp = string(b)
	return resp.StatusCode, resp.Header.Get("Location"), v.lp
}

var (
	csrfRe      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	captchaIDRe = regexp.MustCompile(`name="captcha_id" value="([^"]+)"`)
	receiptRe   = regexp.MustCompile(`id="receipt">(\d{4} \d{4} \d{4} \d{4})<`)
)

// fill takes the form page at path and returns its hidden fields, with the
// captcha solved when there is one.
func (v *visitor) fill(path string, form url.Values) url.Values {
	v.t.Helper()
	status, body := v.get(path)
	if status != 200 {
		v.t.Fatalf("GET %s: %d", path, status)
	}
	return v.fillFrom(body, form)
}

func (v *visitor) fillFrom(body string, form url.Values) url.Values {
	v.t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		v.t.Fatalf("no CSRF token in form:\n%.500s", body)
	}
	out := url.Values{"csrf": {m[1]}}
	if c := captchaIDRe.FindStringSubmatch(body); c != nil {
		ans, ok := v.b.s.CaptchaAnswer(c[1])
		if !ok {
			v.t.Fatal("captcha not found")
		}
		out.Set("captcha_id", c[1])
		out.Set("captcha", ans)
	}
	for k, vs := range form {
		out[k] = vs
	}
	return out
}

func TestAskReceiptMineFollowUp(t *testing.T) {
	for _, captcha := range []bool{true, false} {
		name := "captcha off"
		if captcha {
			name = "captcha on"
		}
		t.Run(name, func(t *testing.T) {
			b := newBoardSite(t, captcha)
			asker := b.visitor(t)
			_, askPage := asker.get("/ru/ask")
			if captcha != strings.Contains(askPage, `name="captcha_id"`) {
				t.Fatalf("captcha on the form = %v, want %v", !captcha, captcha)
			}
			if captcha && !strings.Contains(askPage, `<img src="data:image/png;base64,iVBOR`) {
				t.Fatal("the captcha image is not an inline PNG")
			}
			form := asker.fillFrom(askPage, url.Values{"section": {"hiv"}, "title": {"Где сдать тест на ВИЧ анонимно?"},
				"body": {"Подскажите, пожалуйста, где и когда работает автобус."}, "visibility": {"private"}})
			status, loc, body := asker.post("/ru/ask", form)
			if status != http.StatusSeeOther || loc != "/ru/receipt" {
				t.Fatalf("ask: %d %q\n%.800s", status, loc, body)
			}
			_, page := asker.get("/ru/receipt")
			m := receiptRe.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no receipt shown:\n%.1000s", page)
			}
			receipt := m[1]

			// Typing it back wrong, then right.
			st, _, _ := asker.post("/ru/receipt", asker.fillFrom(page, url.Values{"receipt": {"1234 5678 9012 3456"}}))
			if st != http.StatusUnprocessableEntity || !strings.Contains(asker.lp, receipt) {
				t.Errorf("wrong receipt typed back: %d, and the receipt must be shown again", st)
			}
			st, _, body = asker.post("/ru/receipt", asker.fillFrom(asker.lp, url.Values{"receipt": {strings.ReplaceAll(receipt, " ", "-")}}))
			if st != 200 || !strings.Contains(body, "Всё верно") || strings.Contains(body, receipt) {
				t.Errorf("right receipt typed back: %d\n%.500s", st, body)
			}

			// The private question is on no public page.
			for _, p := range []string{"/ru/board", "/ru/board/hiv", "/en/board/hiv"} {
				if _, body := asker.get(p); strings.Contains(body, "Где сдать тест") {
					t.Errorf("%s shows the private question", p)
				}
			}

			// Another browser comes back with the receipt.
			later := b.visitor(t)
			later.get("/en/mine")
			st, loc, _ = later.post("/en/mine", later.fillFrom(later.lp, url.Values{"receipt": {"0000 0000 0000 0000"}}))
			if st != http.StatusUnprocessableEntity || !strings.Contains(later.lp, "no such receipt") {
				t.Errorf("unknown receipt: %d %q", st, loc)
			}
			st, loc, _ = later.post("/en/mine", later.fillFrom(later.lp, url.Values{"receipt": {receipt}}))
			if st != http.StatusSeeOther {
				t.Fatalf("open receipt: %d\n%.500s", st, later.lp)
			}
			_, mine := later.get("/en/mine")
			if !strings.Contains(mine, "Где сдать тест на ВИЧ анонимно?") || !strings.Contains(mine, "где и когда работает автобус") {
				t.Fatalf("my questions lacks the question:\n%.2000s", mine)
			}
			replyURL := regexp.MustCompile(`href="(/en/t/\d+/reply)"`).FindStringSubmatch(mine)
			if replyURL == nil {
				t.Fatal("no follow-up link for the asker")
			}
			st, loc, _ = later.post(replyURL[1], later.fill(replyURL[1], url.Values{"body": {"И ещё: нужно ли что-то брать с собой?"}}))
			if st != http.StatusSeeOther {
				t.Fatalf("follow-up: %d\n%.800s", st, later.lp)
			}
			_, mine = later.get("/en/mine")
			if !strings.Contains(mine, "нужно ли что-то брать") || !strings.Contains(mine, ">Asker<") {
				t.Errorf("follow-up not shown as the asker's:\n%.3000s", mine)
			}
			// The private thread's own URL is not found for anyone else.
			id := regexp.MustCompile(`/en/t/(\d+)/reply`).FindStringSubmatch(replyURL[1])[1]
			if st, _ := b.visitor(t).get("/ru/t/" + id); st != 404 {
				t.Errorf("private thread by URL: %d, want 404", st)
			}
		})
	}
}

func TestPublicQuestionAndReplies(t *testing.T) {
	b := newBoardSite(t, false)
	v := b.visitor(t)
	st, _, _ := v.post("/en/ask", v.fill("/en/ask", url.Values{"section": {"hepatitis"}, "title": {"Is hepatitis C curable?"},
		"body": {"I heard about *new* pills. <script>alert(1)</script> **Really?**"}, "visibility": {"public"}}))
	if st != http.StatusSeeOther {
		t.Fatalf("ask: %d\n%.500s", st, v.lp)
	}
	_, sec := v.get("/en/board/hepatitis")
	m := regexp.MustCompile(`href="(/en/t/\d+)">Is hepatitis C curable\?<`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("public question not listed:\n%.2000s", sec)
	}
	thread := m[1]
	_, page := v.get(thread)
	if strings.Contains(page, "<script") || !strings.Contains(page, "<em>new</em>") || !strings.Contains(page, "<strong>Really?</strong>") {
		t.Errorf("thread body not rendered safely:\n%.3000s", page)
	}
	// Another anonymous visitor replies; the cached page updates.
	other := b.visitor(t)
	st, loc, _ := other.post(thread+"/reply", other.fill(thread+"/reply", url.Values{"body": {"Yes, in most cases."}}))
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, thread) {
		t.Fatalf("reply: %d %q\n%s", st, loc, other.lp)
	}
	_, page = v.get(thread)
	if !strings.Contains(page, "Yes, in most cases.") || !strings.Contains(page, "Anonymous") {
		t.Errorf("reply missing from the thread page")
	}
	_, sec = v.get("/en/board/hepatitis")
	if !strings.Contains(sec, "1 reply") {
		t.Errorf("section does not count the reply:\n%.2000s", sec)
	}
	// Report the reply.
	rep := thread + "/report/2"
	st, loc, _ = other.post(rep, other.fill(rep, url.Values{"reason": {"dangerous"}, "note": {"check this"}}))
	if st != http.StatusSeeOther || !strings.Contains(loc, "/en/reported") {
		t.Errorf("report: %d %q\n%.500s", st, loc, other.lp)
	}
}

func TestFormRefusals(t *testing.T) {
	b := newBoardSite(t, true)
	v := b.visitor(t)
	before := countThreads(t, v)

	// No CSRF token: refused, text kept, nothing posted.
	st, _, body := v.post("/ru/ask", url.Values{"section": {"hiv"}, "title": {"Без токена"}, "body": {"текст без токена"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Форма устарела") || !strings.Contains(body, "текст без токена") {
		t.Errorf("missing CSRF: %d\n%.800s", st, body)
	}
	// Wrong captcha.
	form := v.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {"Неверная капча"}, "body": {"текст"}})
	form.Set("captcha", "000000x")
	st, _, body = v.post("/ru/ask", form)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Цифры введены неверно") {
		t.Errorf("wrong captcha: %d", st)
	}
	// Field errors, each next to its field, in the visitor's language.
	cases := []struct {
		title, body, want string
	}{
		{"ab", "текст", "Заголовок слишком короткий"},
		{strings.Repeat("я", 151), "текст", "Заголовок слишком длинный"},
		{"Нормальный заголовок", "", "Напишите текст"},
		{"Битый \xff\xfe UTF-8", "текст", "повреждённые символы"},
		{"Нулевой байт", "a\x00b", "недопустимые символы"},
	}
	for _, c := range cases {
		st, _, body := v.post("/ru/ask", v.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {c.title}, "body": {c.body}}))
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, c.want) {
			t.Errorf("title %q body %q: %d, want 422 with %q", c.title, c.body, st, c.want)
		}
	}
	// A 1 MB title: the 413 page.
	st, _, body = v.post("/ru/ask", v.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {strings.Repeat("x", 1<<20)}, "body": {"x"}}))
	if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "Слишком большой текст") {
		t.Errorf("1 MB title: %d", st)
	}
	if after := countThreads(t, v); after != before {
		t.Errorf("refused posts changed the board: %d → %d threads", before, after)
	}
	// A receipt inside one's own follow-up is refused.
	st, _, _ = v.post("/ru/ask", v.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {"Вопрос с квитанцией"}, "body": {"текст"}, "visibility": {"public"}}))
	if st != http.StatusSeeOther {
		t.Fatalf("ask: %d\n%.500s", st, v.lp)
	}
	_, page := v.get("/ru/receipt")
	receipt := receiptRe.FindStringSubmatch(page)[1]
	_, mine := v.get("/ru/mine")
	replyURL := regexp.MustCompile(`href="(/ru/t/\d+/reply)"`).FindStringSubmatch(mine)[1]
	st, _, body = v.post(replyURL, v.fill(replyURL, url.Values{"body": {"мой номер " + receipt}}))
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "номер вашей квитанции") {
		t.Errorf("receipt in a post: %d", st)
	}
}

func countThreads(t *testing.T, v *visitor) int {
	_, body := v.get("/en/board")
	n := 0
	for _, m := range regexp.MustCompile(`\((\d+) topics?\)`).FindAllStringSubmatch(body, -1) {
		var k int
		for _, c := range m[1] {
			k = k*10 + int(c-'0')
		}
		n += k
	}
	return n
}

func TestBoardPagesCarryHeaders(t *testing.T) {
	b := newBoardSite(t, true)
	v := b.visitor(t)
	for _, p := range []string{"/ru/board", "/en/board", "/ru/board/hiv", "/en/t/1", "/ru/ask", "/en/mine", "/ru/t/1/reply", "/en/t/1/report/1"} {
		resp, err := v.c.Get(b.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
			continue
		}
		checkPage(t, p, resp, string(body))
	}
	for _, p := range []string{"/ru/board/nope", "/ru/t/999999", "/ru/t/abc", "/ru/t/1?page=99", "/ru/t/1/report/77"} {
		if st, _ := v.get(p); st != 404 {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
}

// ask files public questions straight through the service, as staff tools
// do, and tells the site.
func (b *boardSite) ask(t *testing.T, section string, n int, private bool) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if _, err := b.svc.Ask(context.Background(), forum.AskInput{Section: section, Title: fmt.Sprintf("Тема номер %02d", i), Body: "текст", Private: private}); err != nil {
			t.Fatal(err)
		}
	}
	b.s.Changed(0)
}

var (
	threadTitleRe = regexp.MustCompile(`<li><a href="/(?:ru|en)/t/\d+">([^<]+)</a>`)
	olderRe       = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	newerRe       = regexp.MustCompile(`<a href="([^"]+)" rel="prev">`)
)

func pageTitles(body string) string {
	var out []string
	for _, m := range threadTitleRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, "|")
}

func link(re *regexp.Regexp, body string) string {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// Section pages go older and newer by cursor links that work without
// JavaScript; page 1 is the plain address; old numbered addresses redirect;
// made-up cursors get the localised 404 page.
func TestSectionCursorPaging(t *testing.T) {
	b := newBoardSite(t, false)
	b.ask(t, "services", 45, false) // with the opening thread: 46, pages of 20, 20, 6
	b.ask(t, "services", 3, true)
	v := b.visitor(t)
	base := "/ru/board/services"

	st, p1 := v.get(base)
	older1 := link(olderRe, p1)
	if st != 200 || link(newerRe, p1) != "" || !strings.HasPrefix(older1, base+"?older=") || len(older1) != len(base)+len("?older=")+22 {
		t.Fatalf("page 1: %d, older %q newer %q", st, older1, link(newerRe, p1))
	}
	if n := strings.Count(pageTitles(p1), "|") + 1; n != 20 || !strings.Contains(pageTitles(p1), "Тема номер 45") {
		t.Fatalf("page 1 lists %d: %s", n, pageTitles(p1))
	}
	st, p2 := v.get(older1)
	older2 := link(olderRe, p2)
	if st != 200 || link(newerRe, p2) != base || older2 == "" || strings.Contains(p2, `>Первая страница<`) {
		t.Fatalf("page 2: %d, newer %q older %q", st, link(newerRe, p2), older2)
	}
	if !strings.Contains(p2, `href="/en/board/services?older=`+older1[len(base+"?older="):]+`"`) {
		t.Error("page 2's language link does not keep its cursor")
	}
	st, p3 := v.get(older2)
	newer3 := link(newerRe, p3)
	if st != 200 || link(olderRe, p3) != "" || !strings.HasPrefix(newer3, base+"?newer=") || !strings.Contains(p3, `<a href="`+base+`">Первая страница</a>`) {
		t.Fatalf("page 3: %d, newer %q older %q", st, newer3, link(olderRe, p3))
	}
	if n := strings.Count(pageTitles(p3), "|") + 1; n != 6 || strings.Contains(pageTitles(p1+p2), "Тема номер 01") != false || !strings.Contains(pageTitles(p3), "Тема номер 01") {
		t.Fatalf("page 3 lists %d: %s", n, pageTitles(p3))
	}
	if _, back := v.get(newer3); pageTitles(back) != pageTitles(p2) || link(olderRe, back) != older2 {
		t.Fatalf("newer than page 3:\n%s\nwant %s", pageTitles(back), pageTitles(p2))
	}
	seen := map[string]bool{}
	for _, ti := range strings.Split(pageTitles(p1)+"|"+pageTitles(p2)+"|"+pageTitles(p3), "|") {
		if seen[ti] && strings.HasPrefix(ti, "Тема") {
			t.Errorf("%q on two pages", ti)
		}
		seen[ti] = true
	}

	// Old numbered addresses.
	redirects := []struct {
		path   string
		status int
		to     string
	}{
		{base + "?page=1", http.StatusMovedPermanently, base},
		{base + "?page=2", http.StatusFound, older1},
		{base + "?page=3", http.StatusFound, older2},
		{base + "?page=51", http.StatusFound, base},
	}
	for _, r := range redirects {
		resp, err := v.c.Get(b.srv.URL + r.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status || resp.Header.Get("Location") != r.to {
			t.Errorf("%s: %d → %q, want %d → %q", r.path, resp.StatusCode, resp.Header.Get("Location"), r.status, r.to)
		}
	}

	// Made-up and broken cursors: the 404 page in the page's language.
	cur := older1[len(base+"?older="):]
	for _, p := range []string{
		base + "?page=4", base + "?page=0", base + "?page=x", base + "?page=2&older=" + cur,
		base + "?older=" + cur + "&newer=" + cur, base + "?older=AAAAAAAAAAAAAAAAAAAAAA", base + "?older=%00",
		base + "?older=" + strings.Repeat("A", 5000), base + "?newer=" + cur[:21] + "Q",
		"/ru/board/hiv?older=" + cur, "/ru/board/nope?older=" + cur,
	} {
		st, body := v.get(p)
		if st != 404 || !strings.Contains(body, "Страница не найдена") {
			t.Errorf("%.80s: %d, want the Russian 404 page", p, st)
		}
	}
	if st, body := v.get("/en/board/services?older=garbage"); st != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("bad cursor in English: %d", st)
	}

	// A new question goes on page 1: page 2 by its cursor stays as it was.
	// A reply to a thread on page 2 takes it to the top: page 2 by the
	// same cursor then goes on with the first thread of page 3.
	b.ask(t, "services", 1, false)
	if _, again := v.get(older1); pageTitles(again) != pageTitles(p2) {
		t.Errorf("page 2 moved with a new question:\n%s\nwas %s", pageTitles(again), pageTitles(p2))
	}
	m := regexp.MustCompile(`href="/ru/t/(\d+)">Тема номер 20<`).FindStringSubmatch(p2)
	if m == nil {
		t.Fatalf("no Тема номер 20 on page 2: %s", pageTitles(p2))
	}
	var id uint64
	fmt.Sscan(m[1], &id)
	if _, err := b.svc.Reply(context.Background(), forum.ReplyInput{Thread: forum.ThreadID(id), Body: "ответ"}); err != nil {
		t.Fatal(err)
	}
	b.s.Changed(forum.ThreadID(id))
	_, p2b := v.get(older1)
	if strings.Contains(pageTitles(p2b), "Тема номер 20") || !strings.HasSuffix(pageTitles(p2b), strings.SplitN(pageTitles(p3), "|", 2)[0]) {
		t.Errorf("page 2 after a reply bumped one of its threads:\n%s", pageTitles(p2b))
	}
	if _, p1b := v.get(base); !strings.Contains(strings.SplitN(pageTitles(p1b), "|", 3)[1], "Тема номер 20") {
		t.Errorf("the bumped thread is not at the top of page 1 (after the pinned one): %s", pageTitles(p1b))
	}
	// Page 2's Newer cursor from before, now with 21 threads above it,
	// is a page; 20 above it is the first page, shown at the plain address.
	_, p3b := v.get(older2)
	if nw := link(newerRe, p3b); !strings.Contains(nw, "?newer=") {
		t.Fatalf("page 3 after a new question: newer %q", nw)
	} else if st, _ := v.get(nw); st != 200 {
		t.Fatalf("newer page: %d", st)
	}
}

// A ?newer= page that has become the first page sends the visitor to the
// section's plain address.
func TestSectionNewerToTop(t *testing.T) {
	b := newBoardSite(t, false)
	b.ask(t, "overdose", 45, false)
	v := b.visitor(t)
	base := "/en/board/overdose"
	_, p1 := v.get(base)
	_, p2 := v.get(link(olderRe, p1))
	_, p3 := v.get(link(olderRe, p2))
	newer := link(newerRe, p3)
	if !strings.Contains(newer, "?newer=") {
		t.Fatalf("page 3 newer link %q", newer)
	}
	// Delete page 2's threads: page 3's newer page is now the first.
	for _, m := range regexp.MustCompile(`href="/en/t/(\d+)"`).FindAllStringSubmatch(p2, -1) {
		var id uint64
		fmt.Sscan(m[1], &id)
		if err := b.svc.DeleteThread(context.Background(), forum.ThreadID(id)); err != nil {
			t.Fatal(err)
		}
	}
	b.s.Changed(0)
	resp, err := v.c.Get(b.srv.URL + newer)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base {
		t.Fatalf("newer page that became the first: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

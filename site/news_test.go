package site_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

const testOnion = "tropa2345abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnop.onion"

// feed GETs a language's Atom feed as a Tor Browser would, with the onion
// as Host, and parses it with a real feed parser.
func (ts *toolsSite) feed(t *testing.T, lang string) (*gofeed.Feed, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/"+lang+"/news.atom", nil)
	req.Host = testOnion
	rec := httptest.NewRecorder()
	ts.s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/%s/news.atom: %d", lang, rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("/%s/news.atom: Content-Type %q", lang, ct)
	}
	raw, _ := io.ReadAll(rec.Body)
	f, err := gofeed.NewParser().ParseString(string(raw))
	if err != nil {
		t.Fatalf("/%s/news.atom does not parse: %v\n%s", lang, err, raw)
	}
	if f.FeedType != "atom" || f.FeedVersion != "1.0" {
		t.Errorf("/%s/news.atom: %s %s", lang, f.FeedType, f.FeedVersion)
	}
	return f, string(raw)
}

func (ts *toolsSite) publish(t *testing.T, v *visitor, lang, title, body string) {
	t.Helper()
	if st, loc := v.send("/ru/staff/news", "/ru/staff/news", url.Values{"lang": {lang}, "title": {title}, "body": {body}}); st != http.StatusSeeOther || loc != "/ru/staff/news?done=1" {
		t.Fatalf("publish %q: %d %q\n%.1000s", title, st, loc, v.lp)
	}
}

var newsLinkRe = regexp.MustCompile(`href="/(ru|en)/news/(\d+)"`)

func TestNewsPublishPagesHomeAndFeeds(t *testing.T) {
	start := time.Date(2025, 3, 15, 10, 42, 17, 0, msk)
	ts := newToolsSite(t, start, false)
	olga := ts.staff(t, "olga")
	ts.publish(t, olga, "ru", "Автобус на Юге — в четверг", "В четверг **тестирование на гепатиты**.\n\n- с 15:00\n- до 19:00")
	ts.clock.set(start.Add(26 * time.Hour))
	ts.publish(t, olga, "en", "Testing on Thursday", "Hepatitis testing at the *South* stop.")

	ru := ts.publicPage(t, "/ru/news")
	if !strings.Contains(ru, "Автобус на Юге") || !strings.Contains(ru, "<strong>тестирование на гепатиты</strong>") || strings.Contains(ru, "Testing on Thursday") {
		t.Errorf("/ru/news:\n%.3000s", ru)
	}
	if !strings.Contains(ru, `<time datetime="2025-03-15">15 марта 2025</time>`) {
		t.Error("/ru/news lacks the post's date")
	}
	m := newsLinkRe.FindStringSubmatch(ru)
	if m == nil {
		t.Fatal("no link to the post")
	}
	if post := ts.publicPage(t, "/ru/news/"+m[2]); !strings.Contains(post, "<h1>Автобус на Юге — в четверг</h1>") {
		t.Error("the post's page lacks it")
	}
	if st, _ := ts.visitor(t).get("/en/news/" + m[2]); st != http.StatusNotFound {
		t.Errorf("a Russian post under /en/: %d", st)
	}
	if home := ts.publicPage(t, "/ru/"); !strings.Contains(home, "Новости фонда") || !strings.Contains(home, "/ru/news/"+m[2]) {
		t.Error("the home page lacks the latest news")
	}

	// The feeds, in both languages, parsed by gofeed.
	for lang, want := range map[string]string{"ru": "Автобус на Юге — в четверг", "en": "Testing on Thursday"} {
		f, raw := ts.feed(t, lang)
		if len(f.Items) != 1 || f.Items[0].Title != want {
			t.Fatalf("/%s/news.atom items: %+v", lang, f.Items)
		}
		it := f.Items[0]
		if !strings.HasPrefix(it.Link, "http://"+testOnion+"/"+lang+"/news/") {
			t.Errorf("/%s/news.atom: entry link %q is not absolute on the onion", lang, it.Link)
		}
		if !strings.HasPrefix(it.GUID, "tag:"+testOnion+",") || !strings.HasPrefix(f.FeedLink, "http://"+testOnion+"/") {
			t.Errorf("/%s/news.atom: id %q, self %q", lang, it.GUID, f.FeedLink)
		}
		if it.UpdatedParsed == nil || it.UpdatedParsed.Minute() != 0 || it.UpdatedParsed.Second() != 0 || f.UpdatedParsed == nil {
			t.Errorf("/%s/news.atom: times not at the hour: %v / %v", lang, it.UpdatedParsed, f.UpdatedParsed)
		}
		if len(f.Authors) == 0 || f.Authors[0].Name == "" {
			t.Errorf("/%s/news.atom has no author", lang)
		}
		if strings.Contains(raw, "olga") {
			t.Errorf("/%s/news.atom names the staff account", lang)
		}
	}
	f, _ := ts.feed(t, "ru")
	if !strings.Contains(f.Items[0].Content, "<strong>тестирование на гепатиты</strong>") {
		t.Errorf("the entry's content is not the rendered text: %q", f.Items[0].Content)
	}
	// A Host that is not a host name gets no feed (and no cache entry).
	req := httptest.NewRequest(http.MethodGet, "/ru/news.atom", nil)
	req.Host = "evil.example/<x>"
	rec := httptest.NewRecorder()
	ts.s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("a bad Host: %d", rec.Code)
	}

	// Pagination, and the latest three on the home page.
	for i := 1; i <= 11; i++ {
		ts.clock.set(start.Add(time.Duration(48+i) * time.Hour))
		ts.publish(t, olga, "ru", "Новость номер "+strconv.Itoa(i), "Текст "+strconv.Itoa(i))
	}
	p1 := ts.publicPage(t, "/ru/news")
	p2 := ts.publicPage(t, "/ru/news?page=2")
	if n := len(newsLinkRe.FindAllString(between(p1, "<main", "</main>"), -1)); n != 10 {
		t.Errorf("page 1 links %d posts, want 10", n)
	}
	if !strings.Contains(p2, "Новость номер 1<") || !strings.Contains(p2, "Автобус на Юге") || strings.Contains(p2, "Новость номер 11") {
		t.Errorf("page 2 is not the two oldest:\n%.2000s", between(p2, "<main", "</main>"))
	}
	if st, _ := ts.visitor(t).get("/ru/news?page=3"); st != http.StatusNotFound {
		t.Errorf("page 3: %d", st)
	}
	home := between(ts.publicPage(t, "/ru/"), `id="home-news"`, "</section>")
	for i, want := range []bool{false, false, false, false, false, false, false, false, true, true, true} {
		if got := strings.Contains(home, "Новость номер "+strconv.Itoa(i+1)+"<"); got != want {
			t.Errorf("home page shows post %d: %v, want %v", i+1, got, want)
		}
	}
	if f, _ := ts.feed(t, "ru"); len(f.Items) != 12 || f.Items[0].Title != "Новость номер 11" {
		t.Errorf("ru feed: %d items, first %q", len(f.Items), f.Items[0].Title)
	}
}

func TestNewsFormValidationCSRFRolesEditDelete(t *testing.T) {
	start := time.Date(2025, 3, 15, 10, 0, 0, 0, msk)
	ts := newToolsSite(t, start, false)
	olga := ts.staff(t, "olga")
	for name, c := range map[string]struct {
		form url.Values
		want string
	}{
		"no title":  {url.Values{"lang": {"ru"}, "title": {""}, "body": {"Текст"}}, "Заполните это поле."},
		"no body":   {url.Values{"lang": {"ru"}, "title": {"Заголовок"}, "body": {"   "}}, "Заполните это поле."},
		"bad lang":  {url.Values{"lang": {"de"}, "title": {"Заголовок"}, "body": {"Текст"}}, "Выберите язык."},
		"long body": {url.Values{"lang": {"ru"}, "title": {"Заголовок"}, "body": {strings.Repeat("я", 5001)}}, "Слишком длинно"},
	} {
		if st, _ := olga.send("/ru/staff/news", "/ru/staff/news", c.form); st != http.StatusUnprocessableEntity || !strings.Contains(olga.lp, c.want) {
			t.Errorf("%s: %d, want 422 with %q", name, st, c.want)
		}
	}
	if st, _, _ := olga.post("/ru/staff/news", url.Values{"lang": {"ru"}, "title": {"X"}, "body": {"Y"}}); st != http.StatusForbidden {
		t.Errorf("no CSRF: %d", st)
	}
	if _, news := ts.visitor(t).get("/ru/news"); !strings.Contains(news, "Новостей пока нет.") {
		t.Error("a refused post was published")
	}
	// An admin publishes too; then an edit moves the updated hour, not the published one.
	root := ts.staff(t, "root")
	ts.publish(t, root, "ru", "Первая", "Текст")
	_, list := root.get("/ru/staff/news")
	m := regexp.MustCompile(`href="/ru/staff/news\?edit=(\d+)#form"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no edit link:\n%.2000s", list)
	}
	ts.clock.set(start.Add(5 * time.Hour))
	if st, _ := olga.send("/ru/staff/news?edit="+m[1], "/ru/staff/news", url.Values{"id": {m[1]}, "lang": {"ru"}, "title": {"Первая, исправленная"}, "body": {"Текст"}}); st != http.StatusSeeOther {
		t.Fatalf("edit: %d", st)
	}
	f, _ := ts.feed(t, "ru")
	if len(f.Items) != 1 || f.Items[0].Title != "Первая, исправленная" || f.Items[0].PublishedParsed.Hour() != 7 || f.Items[0].UpdatedParsed.Hour() != 12 {
		t.Errorf("after the edit: %+v", f.Items[0])
	}
	if st, _ := olga.send("/ru/staff/news", "/ru/staff/news", url.Values{"id": {m[1]}, "delete": {"1"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("delete without confirmation: %d", st)
	}
	if st, _ := olga.send("/ru/staff/news", "/ru/staff/news", url.Values{"id": {m[1]}, "delete": {"1"}, "confirm": {"yes"}}); st != http.StatusSeeOther {
		t.Errorf("delete: %d", st)
	}
	if f, _ := ts.feed(t, "ru"); len(f.Items) != 0 {
		t.Error("the deleted post is still in the feed")
	}
	if home := ts.publicPage(t, "/ru/"); strings.Contains(home, "Первая") {
		t.Error("the deleted post is still on the home page")
	}
}

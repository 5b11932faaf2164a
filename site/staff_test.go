package site_test

import (
	"context"
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
	"tropa/staff"
)

// staffSite is a site with a board and staff accounts, serving the public
// handler and the staff handler on two servers, as tropa does.
type staffSite struct {
	boardSite
	staffSrv *httptest.Server
	svc      *staff.Service
	forum    *forum.Service
}

// newStaffSite is the site with a board, two staff accounts (olga, an
// outreach worker, and root, an admin) and the captcha off; with tweaks
// applied to its options.
func newStaffSite(t *testing.T, tweaks ...func(*site.Options)) *staffSite {
	t.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fsvc := forum.NewService(repo, nil, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := fsvc.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ssvc := staff.NewService(store.NewStaffRepo(db), nil, staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := ssvc.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range []staff.NewAccount{
		{Name: "olga", DisplayName: "Ольга, аутрич-работник", Role: staff.RoleOutreach, Password: "correct horse battery"},
		{Name: "root", DisplayName: "Администратор", Role: staff.RoleAdmin, Password: "another long password"},
	} {
		if _, err := ssvc.AddAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	opts := site.Options{Forum: fsvc, Staff: ssvc, NoCaptcha: true}
	for _, tw := range tweaks {
		tw(&opts)
	}
	s, err := site.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	pub := httptest.NewServer(s.Handler())
	stf := httptest.NewServer(s.StaffHandler())
	t.Cleanup(func() {
		pub.Close()
		stf.Close()
		repo.Close()
		db.Close()
	})
	return &staffSite{boardSite: boardSite{s: s, srv: pub}, staffSrv: stf, svc: ssvc, forum: fsvc}
}

// staffVisitor is a browser on the staff interface.
func (ss *staffSite) staffVisitor(t *testing.T) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, b: &boardSite{s: ss.s, srv: ss.staffSrv}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (v *visitor) login(name, password string) (int, string) {
	v.t.Helper()
	st, loc, _ := v.post("/ru/staff/login", v.fill("/ru/staff/login", url.Values{"name": {name}, "password": {password}}))
	return st, loc
}

var staffGets = []string{"/ru/staff/", "/ru/staff/t/1", "/ru/staff/reports", "/ru/staff/saved", "/ru/staff/mirror",
	"/ru/staff/health", "/ru/staff/history?target=post:1:1", "/ru/staff/accounts", "/en/staff/"}

var staffPosts = []string{"/ru/staff/t/1/reply", "/ru/staff/t/1/mod", "/ru/staff/t/1/p/1/mod", "/ru/staff/reports/1/resolve",
	"/ru/staff/saved", "/ru/staff/mirror", "/ru/staff/logout"}

func TestStaffRoutesNeedASession(t *testing.T) {
	ss := newStaffSite(t)
	v := ss.staffVisitor(t)
	for _, p := range staffGets {
		st, _ := v.get(p)
		if st != http.StatusSeeOther {
			t.Errorf("GET %s without a session: %d, want a redirect to the login", p, st)
		}
	}
	for _, p := range staffPosts {
		st, loc, _ := v.post(p, url.Values{"body": {"staff reply without login"}, "action": {"lock"}})
		if st != http.StatusSeeOther || !strings.HasSuffix(loc, "/staff/login") {
			t.Errorf("POST %s without a session: %d %q", p, st, loc)
		}
	}
	tp, err := ss.forum.ThreadPage(context.Background(), 1, 1, forum.Viewer{Staff: true})
	if err != nil || tp.Thread.Locked || len(tp.Posts) != 1 {
		t.Errorf("a refused POST changed thread 1: %+v %v", tp.Thread, err)
	}
	// The public listener knows nothing of staff pages.
	pub := ss.visitor(t)
	for _, p := range append(staffGets, "/ru/staff/login") {
		if st, _ := pub.get(p); st != 404 {
			t.Errorf("public %s: %d, want 404", p, st)
		}
	}
}

func TestStaffLoginLogoutAndCSRF(t *testing.T) {
	ss := newStaffSite(t)
	v := ss.staffVisitor(t)
	if st, _ := v.login("olga", "wrong password!!"); st != http.StatusUnprocessableEntity || !strings.Contains(v.lp, "Неверный логин или пароль") {
		t.Errorf("wrong password: %d", st)
	}
	if st, loc := v.login("olga", "correct horse battery"); st != http.StatusSeeOther || loc != "/ru/staff/" {
		t.Fatalf("login: %d %q", st, loc)
	}
	_, page := v.get("/ru/staff/")
	if !strings.Contains(page, "Ольга, аутрич-работник") {
		t.Fatal("not logged in")
	}
	// A POST without the session's token is refused.
	st, _, _ := v.post("/ru/staff/t/1/mod", url.Values{"action": {"lock"}})
	if st != http.StatusForbidden {
		t.Errorf("staff POST without CSRF: %d", st)
	}
	// An outreach worker may not read the moderation history or the staff list.
	for _, p := range []string{"/ru/staff/history?target=post:1:1", "/ru/staff/accounts"} {
		if st, _ := v.get(p); st != http.StatusForbidden {
			t.Errorf("outreach worker GET %s: %d, want 403", p, st)
		}
	}
	// Logout really ends the session: the old cookie no longer works.
	oldCookies := v.c.Jar.Cookies(mustURL(ss.staffSrv.URL))
	csrf := csrfRe.FindStringSubmatch(page)[1]
	if st, _, _ := v.post("/ru/staff/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	replay := ss.staffVisitor(t)
	replay.c.Jar.SetCookies(mustURL(ss.staffSrv.URL), oldCookies)
	if st, _ := replay.get("/ru/staff/"); st != http.StatusSeeOther {
		t.Errorf("the session cookie still works after logout: %d", st)
	}
}

func TestStaffLoginThrottle(t *testing.T) {
	ss := newStaffSite(t)
	v := ss.staffVisitor(t)
	var last string
	for i := 0; i < 6; i++ {
		v.login("olga", "not the password")
		last = v.lp
	}
	if !strings.Contains(last, "Слишком много неудачных попыток") {
		t.Errorf("no throttle after 6 failures:\n%.600s", last)
	}
	// Even the right password waits now.
	if st, _ := v.login("olga", "correct horse battery"); st == http.StatusSeeOther {
		t.Error("a throttled account logged in at once")
	}
}

// TestPrivateQuestionAnsweredByStaff: a visitor asks privately; staff see
// it in the queue, answer with their badge; the visitor reads the answer
// with the receipt; the public board never shows it.
func TestPrivateQuestionAnsweredByStaff(t *testing.T) {
	ss := newStaffSite(t)
	asker := ss.visitor(t)
	title := "Положительный экспресс-тест, что дальше?"
	st, _, _ := asker.post("/ru/ask", asker.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {title},
		"body": {"Сделал тест дома, две полоски."}, "visibility": {"private"}}))
	if st != http.StatusSeeOther {
		t.Fatalf("ask: %d", st)
	}
	_, rp := asker.get("/ru/receipt")
	receipt := receiptRe.FindStringSubmatch(rp)[1]

	sv := ss.staffVisitor(t)
	sv.login("olga", "correct horse battery")
	_, queue := sv.get("/ru/staff/")
	m := regexp.MustCompile(`href="(/ru/staff/t/(\d+))">` + regexp.QuoteMeta(title)).FindStringSubmatch(queue)
	if m == nil || !strings.Contains(queue, "Приватный") {
		t.Fatalf("the private question is not in the queue:\n%.2000s", queue)
	}
	threadURL, id := m[1], m[2]
	// A saved reply is inserted without JavaScript (?saved=ID).
	_, tp := sv.get(threadURL)
	saved := regexp.MustCompile(`<option value="(\d+)">`).FindStringSubmatch(tp)
	if saved == nil {
		t.Fatal("no saved replies offered")
	}
	_, withSaved := sv.get(threadURL + "?saved=" + saved[1])
	box := regexp.MustCompile(`(?s)<textarea id="body"[^>]*>(.*?)</textarea>`).FindStringSubmatch(withSaved)
	if box == nil || len(strings.TrimSpace(box[1])) < 20 {
		t.Error("the saved reply was not put into the reply box")
	}
	csrf := csrfRe.FindStringSubmatch(tp)[1]
	st, _, _ = sv.post(threadURL+"/reply", url.Values{"csrf": {csrf}, "body": {"Это не диагноз: нужен подтверждающий анализ из вены."}})
	if st != http.StatusSeeOther {
		t.Fatalf("staff reply: %d\n%.600s", st, sv.lp)
	}
	_, queue = sv.get("/ru/staff/")
	if strings.Contains(queue, title) {
		t.Error("an answered question stays in the queue")
	}

	// The asker reads it with the receipt, on another browser.
	back := ss.visitor(t)
	back.get("/ru/mine")
	back.post("/ru/mine", back.fillFrom(back.lp, url.Values{"receipt": {receipt}}))
	_, mine := back.get("/ru/mine")
	if !strings.Contains(mine, "нужен подтверждающий анализ") || !strings.Contains(mine, "Ольга, аутрич-работник") || !strings.Contains(mine, "сотрудник фонда") {
		t.Errorf("the asker does not see the staff answer with name and badge:\n%.3000s", mine)
	}
	for _, p := range []string{"/ru/board/hiv", "/ru/t/" + id} {
		if _, body := ss.visitor(t).get(p); strings.Contains(body, title) || strings.Contains(body, "подтверждающий") {
			t.Errorf("public %s shows the private thread", p)
		}
	}
}

func TestStaffModeration(t *testing.T) {
	ss := newStaffSite(t)
	v := ss.visitor(t)
	v.post("/en/ask", v.fill("/en/ask", url.Values{"section": {"overdose"}, "title": {"Selling stuff here"}, "body": {"buy from me"}, "visibility": {"public"}}))
	_, sec := v.get("/en/board/overdose")
	m := regexp.MustCompile(`href="/en/t/(\d+)">Selling stuff here<`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatal("question not listed")
	}
	id := m[1]
	v.post("/en/t/"+id+"/reply", v.fill("/en/t/"+id+"/reply", url.Values{"body": {"call me at this number"}}))

	admin := ss.staffVisitor(t)
	admin.login("root", "another long password")
	_, page := admin.get("/en/staff/t/" + id)
	csrf := csrfRe.FindStringSubmatch(page)[1]
	if st, _, _ := admin.post("/en/staff/t/"+id+"/p/2/mod", url.Values{"csrf": {csrf}, "action": {"hide"}}); st != http.StatusSeeOther {
		t.Fatalf("hide: %d", st)
	}
	if st, _, _ := admin.post("/en/staff/t/"+id+"/mod", url.Values{"csrf": {csrf}, "action": {"lock"}}); st != http.StatusSeeOther {
		t.Fatalf("lock: %d", st)
	}
	if st, _, _ := admin.post("/en/staff/t/"+id+"/mod", url.Values{"csrf": {csrf}, "action": {"move"}, "section": {"services"}}); st != http.StatusSeeOther {
		t.Fatalf("move: %d", st)
	}
	_, pub := ss.visitor(t).get("/en/t/" + id)
	if strings.Contains(pub, "call me at this number") || !strings.Contains(pub, "hidden by moderators") || !strings.Contains(pub, "closed to new replies") {
		t.Errorf("the public thread does not reflect moderation:\n%.3000s", pub)
	}
	if _, sec := ss.visitor(t).get("/en/board/services"); !strings.Contains(sec, "Selling stuff here") {
		t.Error("the moved thread is not in its new section")
	}
	_, hist := admin.get("/en/staff/history?target=post:" + id + ":2")
	if !strings.Contains(hist, "root") || !strings.Contains(hist, "Hide") {
		t.Errorf("moderation history lacks the hide:\n%.2000s", hist)
	}
	// Deleting a thread needs the confirmation box.
	if st, _, _ := admin.post("/en/staff/t/"+id+"/mod", url.Values{"csrf": {csrf}, "action": {"delete"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("delete without confirmation: %d", st)
	}
	if st, _, _ := admin.post("/en/staff/t/"+id+"/mod", url.Values{"csrf": {csrf}, "action": {"delete"}, "confirm": {"yes"}}); st != http.StatusSeeOther {
		t.Errorf("delete: %d", st)
	}
	if st, _ := ss.visitor(t).get("/en/t/" + id); st != 404 {
		t.Errorf("deleted thread: %d", st)
	}
}

func TestStaffMessageKeysTranslated(t *testing.T) {
	keys, err := site.CatalogueKeys()
	if err != nil {
		t.Fatal(err)
	}
	want := staff.MessageKeys()
	for _, a := range staff.ModActions {
		want = append(want, "staff.mod."+string(a))
	}
	for _, r := range staff.Roles {
		want = append(want, "staff.role."+string(r))
	}
	for lang, ks := range keys {
		have := map[string]bool{}
		for _, k := range ks {
			have[k] = true
		}
		for _, k := range want {
			if !have[k] {
				t.Errorf("%s catalogue lacks %q", lang, k)
			}
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

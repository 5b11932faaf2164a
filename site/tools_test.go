package site_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tropa/forum"
	"tropa/fund"
	"tropa/internal/store"
	"tropa/metrics"
	"tropa/site"
	"tropa/staff"
)

// toolsSite is a site with every one of the fund's tools over one
// in-memory store, a clock the test moves, and two staff accounts: olga
// (outreach) and root (admin).
type toolsSite struct {
	s        *site.Site
	pub, stf *httptest.Server
	db       *store.DB
	clock    *fundClock
	fund     *store.FundRepo
	forum    *forum.Service
	rec      *metrics.Recorder
}

func newToolsSite(t *testing.T, now time.Time, captcha bool) *toolsSite {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fundClock{}
	clock.set(now)
	rec := metrics.NewRecorder(store.NewMetricsRepo(db), clock.now)
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fsvc := forum.NewService(repo.CountedBy(rec), clock.now, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := fsvc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	ssvc := staff.NewService(store.NewStaffRepo(db), nil, staff.Options{Params: staff.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	for _, a := range []staff.NewAccount{
		{Name: "olga", DisplayName: "Ольга, аутрич-работник", Role: staff.RoleOutreach, Password: "correct horse battery"},
		{Name: "root", DisplayName: "Администратор", Role: staff.RoleAdmin, Password: "another long password"},
	} {
		if _, err := ssvc.AddAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	fundRepo := store.NewFundRepo(db)
	if _, err := fundRepo.Seed(ctx, fund.Examples()); err != nil {
		t.Fatal(err)
	}
	s, err := site.New(site.Options{Now: clock.now, Forum: fsvc, Staff: ssvc, Fund: fundRepo, NoCaptcha: !captcha,
		Pages:    fund.NewPageEditor(store.NewPageRepo(db), clock.now),
		News:     fund.NewNewsDesk(store.NewNewsRepo(db), clock.now),
		Bookings: fund.NewBookings(store.NewBookingRepo(db), fundRepo, clock.now, nil),
		Metrics:  rec})
	if err != nil {
		t.Fatal(err)
	}
	ts := &toolsSite{s: s, pub: httptest.NewServer(s.Handler()), stf: httptest.NewServer(s.StaffHandler()), db: db,
		clock: clock, fund: fundRepo, forum: fsvc, rec: rec}
	t.Cleanup(func() {
		ts.pub.Close()
		ts.stf.Close()
		repo.Close()
		db.Close()
	})
	return ts
}

func (ts *toolsSite) visitor(t *testing.T) *visitor {
	return (&boardSite{s: ts.s, srv: ts.pub}).visitor(t)
}

// staff logs name in on the staff interface.
func (ts *toolsSite) staff(t *testing.T, name string) *visitor {
	t.Helper()
	v := (&boardSite{s: ts.s, srv: ts.stf}).visitor(t)
	pw := map[string]string{"olga": "correct horse battery", "root": "another long password"}[name]
	if st, loc := v.login(name, pw); st != http.StatusSeeOther {
		t.Fatalf("login %s: %d %q", name, st, loc)
	}
	return v
}

// send GETs page (for its CSRF token) and POSTs form to action.
func (v *visitor) send(page, action string, form url.Values) (int, string) {
	v.t.Helper()
	if st, _ := v.get(page); st != http.StatusOK {
		v.t.Fatalf("GET %s: %d", page, st)
	}
	m := csrfRe.FindStringSubmatch(v.lp)
	if m == nil {
		v.t.Fatalf("%s: no CSRF token", page)
	}
	f := url.Values{"csrf": {m[1]}}
	for k, vs := range form {
		f[k] = vs
	}
	st, loc, _ := v.post(action, f)
	return st, loc
}

// publicPage GETs a public page and checks what every page must be.
func (ts *toolsSite) publicPage(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(ts.pub.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	checkPage(t, path, resp, b.String())
	if m := regexp.MustCompile(`(?i)\sstyle\s*=`).FindString(b.String()); m != "" {
		t.Errorf("%s: inline style: %q", path, m)
	}
	return b.String()
}

// ---- page editing ------------------------------------------------------------------

func TestStaffEditsAPageWithPreviewAndHistory(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	olga := ts.staff(t, "olga")
	if _, list := olga.get("/ru/staff/pages"); !strings.Contains(list, `href="/ru/staff/pages/en/hiv"`) || !strings.Contains(list, "исходный текст") {
		t.Fatalf("the page list lacks the HIV page:\n%.2000s", list)
	}
	_, form := olga.get("/ru/staff/pages/ru/hiv")
	if !strings.Contains(form, `name="title"`) || !strings.Contains(form, "ВИЧ") {
		t.Fatalf("the editor is not filled with the shipped page:\n%.1500s", form)
	}
	before := ts.publicPage(t, "/ru/hiv")

	body := "## Новый раздел\n\nТекст **жирный**. <script>alert(1)</script> [ссылка](javascript:alert(1)) <img src=x onerror=alert(1)>"
	edit := url.Values{"title": {"ВИЧ: главное"}, "nav": {"ВИЧ-тест"}, "description": {"Коротко о ВИЧ."}, "reviewed": {"2025-03-01"}, "body": {body}}

	// Preview: rendered, not saved.
	preview := url.Values{"action": {"preview"}}
	for k, v := range edit {
		preview[k] = v
	}
	if st, _ := olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv", preview); st != http.StatusOK {
		t.Fatalf("preview: %d\n%.1000s", st, olga.lp)
	}
	shown := between(olga.lp, `<div class="preview-body">`, `</div>`)
	if !strings.Contains(shown, "<strong>жирный</strong>") || !strings.Contains(shown, `>Новый раздел</h2>`) {
		t.Errorf("the preview does not show the rendered text:\n%s", shown)
	}
	if scriptRe.MatchString(shown) || strings.Contains(shown, "<img") {
		t.Errorf("the preview renders a script or raw HTML:\n%s", shown)
	}
	if after := ts.publicPage(t, "/ru/hiv"); after != before {
		t.Error("a preview changed the public page")
	}

	// Save: the public page, its navigation label and the home page card change at once.
	if st, loc := olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv", edit); st != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=1") {
		t.Fatalf("save: %d %q\n%.1000s", st, loc, olga.lp)
	}
	pub := ts.publicPage(t, "/ru/hiv")
	if !strings.Contains(pub, "<h1>ВИЧ: главное</h1>") || !strings.Contains(pub, "<strong>жирный</strong>") || !strings.Contains(pub, `datetime="2025-03-01"`) {
		t.Errorf("the public page does not show the edit:\n%.3000s", pub)
	}
	if home := ts.publicPage(t, "/ru/"); !strings.Contains(home, `<a href="/ru/hiv">ВИЧ-тест</a>`) || !strings.Contains(home, "Коротко о ВИЧ.") {
		t.Errorf("the home page's navigation or card does not show the edit")
	}
	if en := ts.publicPage(t, "/en/hiv"); strings.Contains(en, "Новый раздел") {
		t.Error("editing the Russian page changed the English one")
	}

	// A second edit, then the history: who, and the hour.
	edit.Set("body", "Вторая версия текста.")
	olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv", edit)
	_, page := olga.get("/ru/staff/pages/ru/hiv")
	if !strings.Contains(page, "<td>olga</td>") || !strings.Contains(page, "?rev=1") || !strings.Contains(page, "?rev=2") {
		t.Errorf("the history lacks the revisions:\n%.4000s", page)
	}
	if strings.Contains(page, "/restore") {
		t.Error("an outreach worker is offered restore")
	}
	// Only an admin restores: an outreach worker's POST is refused.
	if st, _ := olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv/restore", url.Values{"rev": {"1"}}); st != http.StatusForbidden {
		t.Errorf("outreach restore: %d, want 403", st)
	}
	root := ts.staff(t, "root")
	_, old := root.get("/ru/staff/pages/ru/hiv?rev=1")
	if !strings.Contains(between(old, `<div class="preview-body">`, `</div>`), "жирный") {
		t.Error("viewing revision 1 does not show it")
	}
	if st, _ := root.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv/restore", url.Values{"rev": {"1"}}); st != http.StatusSeeOther {
		t.Fatalf("admin restore: %d\n%.500s", st, root.lp)
	}
	if pub := ts.publicPage(t, "/ru/hiv"); !strings.Contains(pub, "<strong>жирный</strong>") || strings.Contains(pub, "Вторая версия") {
		t.Error("the restored revision is not on the public page")
	}
	_, page = root.get("/ru/staff/pages/ru/hiv")
	if !strings.Contains(page, "возврат версии 1") || !strings.Contains(page, "<td>root</td>") {
		t.Errorf("the history does not show the restore:\n%.4000s", page)
	}
	if st, _ := root.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv/restore", url.Values{"rev": {"99"}}); st != http.StatusNotFound {
		t.Errorf("restore of a missing revision: %d", st)
	}
}

func TestPageFormValidationCSRFAndSessions(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	olga := ts.staff(t, "olga")
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"no title", url.Values{"title": {"  "}, "body": {"Текст"}}, "Заполните это поле."},
		{"no body", url.Values{"title": {"ВИЧ"}, "body": {"\n\n"}}, "Заполните это поле."},
		{"bad date", url.Values{"title": {"ВИЧ"}, "body": {"Текст"}, "reviewed": {"01.03.2025"}}, "ГГГГ-ММ-ДД"},
		{"long nav", url.Values{"title": {"ВИЧ"}, "body": {"Текст"}, "nav": {strings.Repeat("я", 41)}}, "Слишком длинно"},
	}
	for _, c := range cases {
		st, _ := olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv", c.form)
		if st != http.StatusUnprocessableEntity || !strings.Contains(olga.lp, c.want) {
			t.Errorf("%s: %d, want 422 with %q", c.name, st, c.want)
		}
	}
	if pub := ts.publicPage(t, "/ru/hiv"); strings.Contains(pub, "<h1>ВИЧ</h1>") {
		t.Error("a refused form changed the page")
	}
	// Without the session's CSRF token: 403; without a session: to the login.
	if st, _, _ := olga.post("/ru/staff/pages/ru/hiv", url.Values{"title": {"X"}, "body": {"Y"}}); st != http.StatusForbidden {
		t.Errorf("no CSRF: %d", st)
	}
	anon := (&boardSite{s: ts.s, srv: ts.stf}).visitor(t)
	for _, p := range []string{"/ru/staff/pages", "/ru/staff/pages/ru/hiv"} {
		if st, _ := anon.get(p); st != http.StatusSeeOther {
			t.Errorf("GET %s without a session: %d", p, st)
		}
	}
	if st, loc, _ := anon.post("/ru/staff/pages/ru/hiv", url.Values{"title": {"X"}, "body": {"Y"}}); st != http.StatusSeeOther || !strings.HasSuffix(loc, "/staff/login") {
		t.Errorf("POST without a session: %d %q", st, loc)
	}
	if st, _ := olga.get("/ru/staff/pages/ru/no-such-page"); st != http.StatusNotFound {
		t.Errorf("unknown page: %d", st)
	}
	// The public listener has no editor.
	if st, _ := ts.visitor(t).get("/ru/staff/pages"); st != http.StatusNotFound {
		t.Errorf("public /ru/staff/pages: %d", st)
	}
}

// The services pages' intros are pages too: an edit shows on the schedule.
func TestEditedIntroOnServicesPage(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	ts.publicPage(t, "/ru/services/schedule") // rendered once before the edit
	olga := ts.staff(t, "olga")
	if st, _ := olga.send("/ru/staff/pages/ru/services-schedule", "/ru/staff/pages/ru/services-schedule",
		url.Values{"title": {"Где автобус"}, "body": {"Сегодня **два** автобуса."}}); st != http.StatusSeeOther {
		t.Fatalf("save: %d", st)
	}
	if pub := ts.publicPage(t, "/ru/services/schedule"); !strings.Contains(pub, "<h1>Где автобус</h1>") || !strings.Contains(pub, "<strong>два</strong>") {
		t.Errorf("the schedule does not show the edited intro:\n%.2000s", pub)
	}
}

// ---- the services data -------------------------------------------------------------

func TestStaffEditSchedule(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	olga := ts.staff(t, "olga")
	_, page := olga.get("/ru/staff/schedule")
	if !strings.Contains(page, "Север (пример)") || !strings.Contains(page, `name="name.ru"`) {
		t.Fatalf("the schedule tab lacks the stops or the form:\n%.2000s", page)
	}

	// Refused: the fund's field errors next to the fields, the values kept.
	bad := url.Values{"name.ru": {"Купчино"}, "address.ru": {""}, "from": {"25:00"}, "to": {"13:00"}}
	if st, _ := olga.send("/ru/staff/schedule", "/ru/staff/schedule", bad); st != http.StatusUnprocessableEntity {
		t.Fatalf("invalid stop: %d", st)
	}
	for _, want := range []string{"Заполните это поле.", `value="Купчино"`, `value="25:00"`} {
		if !strings.Contains(olga.lp, want) {
			t.Errorf("invalid stop: the form lacks %q", want)
		}
	}
	if !strings.Contains(olga.lp, `aria-invalid="true"`) {
		t.Error("invalid fields are not marked")
	}

	// Saved: on the public schedule at once.
	wd := time.Now().In(fund.Zone).Weekday()
	good := url.Values{"name.ru": {"Купчино"}, "name.en": {"Kupchino"}, "address.ru": {"ул. Тестовая, 5"},
		"days": {itoa(int(wd))}, "from": {"0:00"}, "to": {"23:59"}, "services": {"hiv_test", "hepatitis_test"},
		"note.ru": {"Сегодня тестирование на гепатиты"}}
	if st, loc := olga.send("/ru/staff/schedule", "/ru/staff/schedule", good); st != http.StatusSeeOther || loc != "/ru/staff/schedule?done=1" {
		t.Fatalf("save stop: %d %q\n%.1000s", st, loc, olga.lp)
	}
	pub := ts.publicPage(t, "/ru/services/schedule")
	today := between(pub, `id="fund-today"`, "</section>")
	if !strings.Contains(today, "Купчино") || !strings.Contains(today, "Сегодня тестирование на гепатиты") || !strings.Contains(today, "00:00") {
		t.Errorf("today's schedule lacks the new stop:\n%s", today)
	}
	if en := ts.publicPage(t, "/en/services/schedule"); !strings.Contains(en, "Kupchino") {
		t.Error("the English schedule lacks the new stop")
	}

	// Edited, then deleted (with the confirmation box).
	d, _ := ts.fund.Load(context.Background())
	id := itoa(int(d.Stops[len(d.Stops)-1].ID))
	_, page = olga.get("/ru/staff/schedule?edit=" + id)
	if !strings.Contains(page, `value="Купчино"`) || !strings.Contains(page, `name="days" value="`+itoa(int(wd))+`" checked`) {
		t.Fatalf("?edit= does not fill the form:\n%.3000s", page)
	}
	good.Set("id", id)
	good.Set("note.ru", "Завтра не приедем")
	if st, _ := olga.send("/ru/staff/schedule", "/ru/staff/schedule", good); st != http.StatusSeeOther {
		t.Fatalf("edit stop: %d", st)
	}
	if pub := ts.publicPage(t, "/ru/services/schedule"); !strings.Contains(pub, "Завтра не приедем") || strings.Contains(pub, "Сегодня тестирование на гепатиты") {
		t.Error("the edit is not on the public schedule")
	}
	if st, _ := olga.send("/ru/staff/schedule", "/ru/staff/schedule", url.Values{"id": {id}, "delete": {"1"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("delete without confirmation: %d", st)
	}
	if st, _ := olga.send("/ru/staff/schedule", "/ru/staff/schedule", url.Values{"id": {id}, "delete": {"1"}, "confirm": {"yes"}}); st != http.StatusSeeOther {
		t.Errorf("delete: %d", st)
	}
	if pub := ts.publicPage(t, "/ru/services/schedule"); strings.Contains(pub, "Купчино") {
		t.Error("the deleted stop is still on the schedule")
	}
	// The admin reads who did it.
	root := ts.staff(t, "root")
	if _, hist := root.get("/ru/staff/history?target=stop:" + id); !strings.Contains(hist, "olga") {
		t.Errorf("the stop's history lacks olga:\n%.2000s", hist)
	}
	// CSRF.
	if st, _, _ := olga.post("/ru/staff/schedule", good); st != http.StatusForbidden {
		t.Errorf("no CSRF: %d", st)
	}
}

func TestDoctorsAndContactsAreForAdmins(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	olga := ts.staff(t, "olga")
	doctor := url.Values{"name.ru": {"Д-р Тестова"}, "specialty.ru": {"Инфекционист"}, "where.ru": {"Клиника, ул. Тестовая, 1"},
		"hours.0.days": {"1", "3"}, "hours.0.from": {"9:00"}, "hours.0.to": {"12:00"}, "booking.ru": {"Позвонить в регистратуру"}, "order": {"5"}}
	contact := url.Values{"kind": {"phone"}, "label.ru": {"Горячая линия"}, "value.ru": {"+7 000 000-00-00"}}
	for path, form := range map[string]url.Values{"/ru/staff/doctors": doctor, "/ru/staff/contacts": contact} {
		_, page := olga.get(path)
		if strings.Contains(page, `id="save"`) || !strings.Contains(page, "администратор") {
			t.Errorf("%s offers an outreach worker the form", path)
		}
		if st, _ := olga.send(path, path, form); st != http.StatusForbidden {
			t.Errorf("outreach POST %s: %d, want 403", path, st)
		}
	}
	root := ts.staff(t, "root")
	// Validation: a doctor needs appointment hours, a phone contact a phone number.
	noHours := url.Values{}
	for k, v := range doctor {
		if !strings.HasPrefix(k, "hours.") {
			noHours[k] = v
		}
	}
	if st, _ := root.send("/ru/staff/doctors", "/ru/staff/doctors", noHours); st != http.StatusUnprocessableEntity || !strings.Contains(root.lp, "Заполните это поле.") {
		t.Errorf("doctor without hours: %d", st)
	}
	badSlot := url.Values{}
	for k, v := range doctor {
		badSlot[k] = v
	}
	badSlot.Set("hours.0.to", "8:00")
	if st, _ := root.send("/ru/staff/doctors", "/ru/staff/doctors", badSlot); st != http.StatusUnprocessableEntity || !strings.Contains(root.lp, `value="8:00"`) {
		t.Errorf("doctor with a window ending before it starts: %d", st)
	}
	if st, _ := root.send("/ru/staff/contacts", "/ru/staff/contacts", url.Values{"kind": {"phone"}, "label.ru": {"Линия"}, "value.ru": {"позвоните нам"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("contact with a bad phone: %d", st)
	}
	if st, _ := root.send("/ru/staff/doctors", "/ru/staff/doctors", doctor); st != http.StatusSeeOther {
		t.Fatalf("save doctor: %d\n%.1500s", st, root.lp)
	}
	if st, _ := root.send("/ru/staff/contacts", "/ru/staff/contacts", contact); st != http.StatusSeeOther {
		t.Fatalf("save contact: %d\n%.1500s", st, root.lp)
	}
	if pub := ts.publicPage(t, "/ru/services/doctors"); !strings.Contains(pub, "Д-р Тестова") || !strings.Contains(pub, "09:00") {
		t.Error("the new doctor is not on the public page")
	}
	if pub := ts.publicPage(t, "/ru/services/contact"); !strings.Contains(pub, `href="tel:&#43;70000000000"`) || !strings.Contains(pub, "Горячая линия") {
		t.Errorf("the new contact is not on the public page:\n%s", between(pub, `id="fund-contacts"`, "</section>"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every key the tools show is in both catalogues: the fund's booking and
// text errors, the tests, the metrics' sections and the services tabs.
func TestToolKeysTranslated(t *testing.T) {
	keys, err := site.CatalogueKeys()
	if err != nil {
		t.Fatal(err)
	}
	want := append(fund.BookingKeys(), fund.TextKeys()...)
	for _, x := range fund.Tests {
		want = append(want, "book.test."+string(x), "book.test.short."+string(x))
	}
	for _, c := range metrics.Views {
		want = append(want, "staff.metrics."+c.Name())
	}
	for _, tab := range []string{"schedule", "doctors", "contacts"} {
		want = append(want, "staff.fund."+tab+".title", "staff.fund."+tab+".tab", "staff.fund."+tab+".new")
	}
	for _, l := range site.Languages {
		want = append(want, "staff.news.lang."+l)
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

// Visitors read while staff save pages and publish news: pages are swapped
// whole, never seen half-made (run with -race).
func TestEditsWhileServing(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	olga := ts.staff(t, "olga")
	h := ts.s.Handler()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range []string{"/ru/", "/ru/hiv", "/ru/news", "/ru/services/schedule", "/en/news.atom"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "</") {
					t.Errorf("%s while editing: %d", p, rec.Code)
					return
				}
			}
		}
	}()
	for i := 0; i < 5; i++ {
		olga.send("/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv", url.Values{"title": {"ВИЧ " + itoa(i)}, "body": {"Текст " + itoa(i)}})
		ts.publish(t, olga, "ru", "Новость "+itoa(i), "Текст")
	}
	close(stop)
	<-done
	if pub := ts.publicPage(t, "/ru/hiv"); !strings.Contains(pub, "<h1>ВИЧ 4</h1>") {
		t.Error("the last edit is not on the page")
	}
}

// Every tool's staff route needs a session, every POST the session's CSRF
// token, and none is on the public listener.
func TestToolRoutesNeedSessionAndCSRF(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	gets := []string{"/ru/staff/pages", "/ru/staff/pages/en/hiv", "/ru/staff/schedule", "/ru/staff/doctors", "/ru/staff/contacts",
		"/ru/staff/news", "/ru/staff/bookings", "/ru/staff/metrics", "/en/staff/metrics"}
	posts := []string{"/ru/staff/pages/ru/hiv", "/ru/staff/pages/ru/hiv/restore", "/ru/staff/schedule", "/ru/staff/doctors",
		"/ru/staff/contacts", "/ru/staff/news", "/ru/staff/bookings/done"}
	anon := (&boardSite{s: ts.s, srv: ts.stf}).visitor(t)
	for _, p := range gets {
		if st, _ := anon.get(p); st != http.StatusSeeOther {
			t.Errorf("GET %s without a session: %d", p, st)
		}
		if st, _ := ts.visitor(t).get(p); st != http.StatusNotFound {
			t.Errorf("public GET %s: %d", p, st)
		}
	}
	root := ts.staff(t, "root")
	for _, p := range gets {
		if st, _ := root.get(p); st != http.StatusOK {
			t.Errorf("admin GET %s: %d", p, st)
		}
	}
	for _, p := range posts {
		if st, loc, _ := anon.post(p, url.Values{"title": {"x"}}); st != http.StatusSeeOther || !strings.HasSuffix(loc, "/staff/login") {
			t.Errorf("POST %s without a session: %d %q", p, st, loc)
		}
		if st, _, _ := root.post(p, url.Values{"title": {"x"}, "csrf": {"forged"}}); st != http.StatusForbidden {
			t.Errorf("POST %s with a forged token: %d", p, st)
		}
	}
}

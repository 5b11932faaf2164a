package site_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/store"
	"tropa/site"
)

var msk = time.FixedZone("UTC+3", 3*60*60)

// saturday is Saturday 15 March 2025, 10:00 in Saint Petersburg.
var saturday = time.Date(2025, 3, 15, 10, 0, 0, 0, msk)

// fundClock is a clock a test can move.
type fundClock struct{ t atomic.Pointer[time.Time] }

func (c *fundClock) set(t time.Time) { c.t.Store(&t) }
func (c *fundClock) now() time.Time  { return *c.t.Load() }

// countingRepo counts Load calls, to see that pages are rendered on change
// and not per request.
type countingRepo struct {
	*store.FundRepo
	loads atomic.Int64
}

func (r *countingRepo) Load(ctx context.Context) (*fund.Data, error) {
	r.loads.Add(1)
	return r.FundRepo.Load(ctx)
}

type fundSite struct {
	h     http.Handler
	repo  *countingRepo
	clock *fundClock
}

func newFundSite(t *testing.T, now time.Time, seed bool) *fundSite {
	t.Helper()
	db, err := store.Open(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	repo := &countingRepo{FundRepo: store.NewFundRepo(db)}
	if seed {
		if ok, err := repo.Seed(context.Background(), fund.Examples()); !ok || err != nil {
			t.Fatalf("seed: %v, %v", ok, err)
		}
	}
	clock := &fundClock{}
	clock.set(now)
	s, err := site.New(site.Options{Now: clock.now, Fund: repo})
	if err != nil {
		t.Fatal(err)
	}
	return &fundSite{h: s.Handler(), repo: repo, clock: clock}
}

// page GETs path and checks what every services page must be.
func (fs *fundSite) page(t *testing.T, path string) string {
	t.Helper()
	resp, body := get(t, fs.h, "GET", path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	checkPage(t, path, resp, body)
	if m := inlineStyleRe.FindString(body); m != "" {
		t.Errorf("%s: inline style or image: %q", path, m)
	}
	return body
}

var inlineStyleRe = regexp.MustCompile(`(?i)\sstyle\s*=|<img|<svg`)

// inOrder fails unless each of parts occurs in body after the previous one.
func inOrder(t *testing.T, path, body string, parts ...string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(body[at:], p)
		if i < 0 {
			t.Errorf("%s: %q missing or out of order (after %q)", path, p, body[:at][max(0, at-40):])
			return
		}
		at += i + len(p)
	}
}

// between returns the text of body from the first from to the next to.
func between(body, from, to string) string {
	_, rest, _ := strings.Cut(body, from)
	s, _, _ := strings.Cut(rest, to)
	return s
}

var servicePaths = []string{"/ru/services/schedule", "/ru/services/doctors", "/ru/services/contact",
	"/en/services/schedule", "/en/services/doctors", "/en/services/contact"}

func TestScheduleTodayFirst(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	body := fs.page(t, "/ru/services/schedule")
	inOrder(t, "ru", body,
		"<h1>Расписание автобусов</h1>", "Главное", // the Markdown intro stays on top
		"Сегодня, суббота", `datetime="2025-03-15"`, "15 марта",
		"Центр (пример)", "12:00", "16:00", "Восток (пример)", "18:00", // today's stops by time
		"Дальше на этой неделе",
		"Завтра, воскресенье", "Запад (пример)",
		"Понедельник", "Север (пример)", "Вторник", "Юг (пример)", "Среда", "Четверг", "Пятница",
		"Расписание на неделю", "<table", `<th scope="col">День</th>`)
	today := between(body, "Сегодня, суббота", "Дальше на этой неделе")
	for _, other := range []string{"Север", "Юг", "Запад"} {
		if strings.Contains(today, other) {
			t.Errorf("today's block lists %s, which does not stop on Saturdays", other)
		}
	}
	if !strings.Contains(today, "В этот день — тестирование на ВИЧ и гепатиты.") || !strings.Contains(today, "Тест на ВИЧ") {
		t.Error("today's block lacks a stop's note or services")
	}
	// The rest of the week is six days, tomorrow first, not today again.
	later := between(body, "Дальше на этой неделе", "Расписание на неделю")
	if strings.Contains(later, "Суббота") || strings.Count(later, "<h3>") != 6 {
		t.Errorf("later this week: %d days, Saturday included: %v", strings.Count(later, "<h3>"), strings.Contains(later, "Суббота"))
	}
	// The weekly table runs Monday to Sunday, a row group per day.
	table := between(body, "<table", "</table>")
	if n := strings.Count(table, "<tbody>"); n != 7 {
		t.Errorf("weekly table has %d day groups", n)
	}
	inOrder(t, "table", table, "Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье")
	if !strings.Contains(table, `<th scope="rowgroup" rowspan="2">`) {
		t.Error("a day with two stops does not span its rows")
	}

	en := fs.page(t, "/en/services/schedule")
	inOrder(t, "en", en, "<h1>Bus schedule</h1>", "Key points",
		"Today, Saturday", "15 March", "Centre (example)", "HIV test", "East (example)",
		"Later this week", "Tomorrow, Sunday", "West (example)", "Monday", "North (example)",
		"Weekly schedule")
	if !strings.Contains(en, `<html lang="en">`) || !strings.Contains(en, `href="/ru/services/schedule"`) {
		t.Error("English page lacks its language or the switch to Russian")
	}
}

func TestScheduleUsesSaintPetersburgTime(t *testing.T) {
	// 21:30 UTC on Friday is already Saturday in Saint Petersburg.
	fs := newFundSite(t, time.Date(2025, 3, 14, 21, 30, 0, 0, time.UTC), true)
	if body := fs.page(t, "/ru/services/schedule"); !strings.Contains(body, "Сегодня, суббота") {
		t.Error("the day is not taken in Saint Petersburg time")
	}
}

func TestServicesExampleMark(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	ex := fund.Examples()
	want := map[string]int{
		"doctors": len(ex.Doctors),
		"contact": len(ex.Contacts),
		// a card per stop and day of the coming week, plus one over the table
		"schedule": 1,
	}
	for _, st := range ex.Stops {
		want["schedule"] += len(st.Days.List())
	}
	for _, path := range servicePaths {
		body := fs.page(t, path)
		mark := "Пример — данные будут заменены сотрудниками"
		if strings.HasPrefix(path, "/en/") {
			mark = "Example — staff will replace this"
		}
		kind := path[strings.LastIndex(path, "/")+1:]
		if n := strings.Count(body, `<p class="fund-example">`+mark+`</p>`); n != want[kind] {
			t.Errorf("%s: %d example marks, want %d", path, n, want[kind])
		}
	}
}

func TestServicesPagesShowData(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	doctors := fs.page(t, "/ru/services/doctors")
	inOrder(t, "doctors", doctors, "<h1>Врачи, которым доверяет фонд</h1>", "Главное", "Список врачей",
		"А. А. Образцова (пример)", "Специальность", "Инфекционист", "Часы приёма", "Вт, Чт", "10:00", "14:00", "Как записаться",
		"Б. Б. Примеров (пример)", "Пн, Ср, Пт", "09:00", "Сб", "звоните 103",
		"В. В. Тестова (пример)")
	contact := fs.page(t, "/ru/services/contact")
	inOrder(t, "contact", contact, "<h1>Связаться с социальным работником</h1>", "Как связаться",
		"Горячая линия фонда (пример)", "Телефон", `<a href="tel:&#43;70000000000">&#43;7 000 000-00-00</a>`, "Пн–Пт",
		"outreach@example.org", "Лично")
	if strings.Contains(contact, "mailto:") {
		t.Error("e-mail is a link: it would hand the address to a mail program outside Tor Browser")
	}
	en := fs.page(t, "/en/services/contact")
	inOrder(t, "en contact", en, "Ways to reach us", "The fund&#39;s hotline (example)", "Phone", "&#43;7 000 000-00-00", "Mon–Fri",
		"E-mail", "outreach@example.org", "In person", "Come to any of the fund&#39;s buses")
	enDoctors := fs.page(t, "/en/services/doctors")
	inOrder(t, "en doctors", enDoctors, "Doctors the fund trusts", "A. A. Obraztsova (example)", "Tue, Thu", "Appointment times")
}

func TestServicesRenderOnChangeOnly(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	ctx := context.Background()
	for range 3 {
		for _, p := range servicePaths {
			fs.page(t, p)
		}
	}
	if n := fs.repo.loads.Load(); n != 1 {
		t.Fatalf("18 requests loaded the data %d times, want 1", n)
	}

	// A save shows on the next request.
	s := fund.Stop{Name: fund.L10n{RU: "Новая остановка"}, Address: fund.L10n{RU: "ул. Новая, 2"},
		Slot: fund.Slot{Days: fund.DaysOf(time.Saturday), From: "8:00", To: "09:00"}}
	if err := fs.repo.SaveStop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	body := fs.page(t, "/ru/services/schedule")
	inOrder(t, "after save", body, "Сегодня, суббота", "Новая остановка", "08:00", "Центр (пример)", "Дальше на этой неделе")
	if strings.Contains(between(body, "Новая остановка", "</li>"), `class="fund-example"`) {
		t.Error("a stop saved by staff carries the example mark")
	}
	// English falls back to the Russian text.
	if en := fs.page(t, "/en/services/schedule"); !strings.Contains(between(en, "Today, Saturday", "Later this week"), "Новая остановка") {
		t.Error("English page lacks the new stop")
	}
	if n := fs.repo.loads.Load(); n != 2 {
		t.Errorf("loads after one save: %d, want 2", n)
	}

	// A refused save changes nothing.
	bad := s
	bad.From, bad.To, bad.Days, bad.Name.RU = "25:00", "09:00", 0, ""
	err := fs.repo.SaveStop(ctx, &bad)
	fe := fund.FieldErrors(err)
	if fund.ErrorCode(err) != fund.EINVALID || fe["from"] == nil || fe["from"].Key != fund.KeyTime ||
		fe["days"] == nil || fe["days"].Key != fund.KeyDays || fe["name.ru"] == nil || fe["name.ru"].Key != fund.KeyRequired {
		t.Errorf("invalid save: %v", err)
	}
	bad = s
	bad.From, bad.To = "10:00", "09:00"
	if fe := fund.FieldErrors(fs.repo.SaveStop(ctx, &bad)); fe["to"] == nil || fe["to"].Key != fund.KeyTimeOrder {
		t.Errorf("end before start: %v", fe)
	}
	fs.page(t, "/ru/services/schedule")
	if n := fs.repo.loads.Load(); n != 2 {
		t.Errorf("a refused save caused a render: %d loads", n)
	}

	// An edit and a delete show too; so do doctors and contacts.
	s.Name.RU = "Переименованная остановка"
	if err := fs.repo.SaveStop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if body := fs.page(t, "/ru/services/schedule"); !strings.Contains(body, "Переименованная остановка") || strings.Contains(body, "Новая остановка") {
		t.Error("the edit does not show")
	}
	if err := fs.repo.DeleteStop(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if body := fs.page(t, "/ru/services/schedule"); strings.Contains(body, "Переименованная остановка") {
		t.Error("the deleted stop still shows")
	}
	d := fund.Doctor{Name: fund.L10n{RU: "Доктор Новый"}, Specialty: fund.L10n{RU: "Нарколог"}, Where: fund.L10n{RU: "Клиника"},
		Hours: []fund.Slot{{Days: fund.EveryDay, From: "10:00", To: "11:00"}}, Booking: fund.L10n{RU: "Через фонд"}}
	if err := fs.repo.SaveDoctor(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if body := fs.page(t, "/ru/services/doctors"); !strings.Contains(body, "Доктор Новый") || !strings.Contains(body, "Ежедневно") {
		t.Error("the new doctor does not show with every-day hours")
	}
}

func TestScheduleDayChange(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	fs.page(t, "/ru/services/schedule")
	fs.clock.set(saturday.Add(13*time.Hour + 59*time.Minute)) // 23:59, still Saturday
	fs.page(t, "/ru/services/schedule")
	if n := fs.repo.loads.Load(); n != 1 {
		t.Errorf("loads within one day: %d", n)
	}
	fs.clock.set(saturday.Add(14 * time.Hour)) // midnight: Sunday
	body := fs.page(t, "/ru/services/schedule")
	inOrder(t, "sunday", body, "Сегодня, воскресенье", "Запад (пример)", "Дальше на этой неделе", "Завтра, понедельник", "Север (пример)")
	if strings.Contains(between(body, "Сегодня, воскресенье", "Дальше на этой неделе"), "Центр") {
		t.Error("Saturday's stop is still today")
	}
	if n := fs.repo.loads.Load(); n != 2 {
		t.Errorf("loads after the day changed: %d, want 2", n)
	}
}

func TestServicesEmpty(t *testing.T) {
	fs := newFundSite(t, saturday, false)
	for path, want := range map[string]string{
		"/ru/services/schedule": "Сегодня автобусы не выезжают.",
		"/en/services/schedule": "No buses today.",
		"/ru/services/doctors":  "Список пока пуст.",
		"/en/services/doctors":  "The list is empty for now.",
		"/ru/services/contact":  "Контакты пока не указаны.",
		"/en/services/contact":  "No contacts yet.",
	} {
		body := fs.page(t, path)
		if !strings.Contains(body, want) || strings.Contains(body, `class="fund-example"`) {
			t.Errorf("%s: empty state %q missing, or an example mark shown", path, want)
		}
	}
}

func TestServicesWithoutFund(t *testing.T) {
	h := newSite(t)
	resp, body := get(t, h, "GET", "/ru/services/schedule")
	if resp.StatusCode != 200 || !strings.Contains(body, "Расписание автобусов") || strings.Contains(body, "Сегодня,") {
		t.Errorf("without fund data: %d", resp.StatusCode)
	}
}

func TestServicesOverviewLinks(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	for _, lang := range site.Languages {
		body := fs.page(t, "/"+lang+"/services")
		for _, sub := range []string{"schedule", "doctors", "contact"} {
			if !strings.Contains(body, `href="/`+lang+`/services/`+sub+`"`) {
				t.Errorf("/%s/services does not link to %s", lang, sub)
			}
		}
	}
}

func TestServicesHeadAndGzip(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	resp, body := get(t, fs.h, "HEAD", "/ru/services/doctors")
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d with %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = get(t, fs.h, "GET", "/ru/services/schedule", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Error("no gzip")
	}
	resp, _ = get(t, fs.h, "POST", "/ru/services/schedule")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestServicesConcurrent(t *testing.T) {
	fs := newFundSite(t, saturday, true)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				resp, _ := get(t, fs.h, "GET", servicePaths[(i+j)%len(servicePaths)])
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	for i := range 10 {
		s := fund.Stop{Name: fund.L10n{RU: "Стоянка"}, Address: fund.L10n{RU: "Адрес"},
			Slot: fund.Slot{Days: fund.EveryDay, From: "10:00", To: "11:00"}}
		if err := fs.repo.SaveStop(ctx, &s); err != nil {
			t.Fatal(err)
		}
		fs.clock.set(saturday.Add(time.Duration(i) * 24 * time.Hour))
	}
	wg.Wait()
	body := fs.page(t, "/ru/services/schedule")
	if n := strings.Count(between(body, "Сегодня,", "Дальше на этой неделе"), "Стоянка"); n != 10 {
		t.Errorf("today shows %d of 10 new stops", n)
	}
}

func TestFundMessagesTranslated(t *testing.T) {
	keys, err := site.CatalogueKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range site.Languages {
		have := map[string]bool{}
		for _, k := range keys[lang] {
			have[k] = true
		}
		var want []string
		want = append(want, fund.MessageKeys()...)
		for _, k := range fund.Kinds {
			want = append(want, "fund.kind."+string(k))
		}
		for _, s := range fund.AllServices {
			want = append(want, "fund.service."+s.Name())
		}
		for _, k := range want {
			if !have[k] {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}

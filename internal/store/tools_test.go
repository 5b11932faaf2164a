package store_test

import (
	"context"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/store"
	"tropa/metrics"
)

func memDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The newest revision of each page is found among pages whose names
// prefix each other ("services" and "services-contact").
func TestPageRevisionsLatest(t *testing.T) {
	ctx := context.Background()
	r := store.NewPageRepo(memDB(t))
	for _, x := range []struct{ lang, slug string }{
		{"ru", "services"}, {"ru", "services-contact"}, {"ru", "services"}, {"en", "services"}, {"ru", "services-contact"}, {"ru", "services"},
	} {
		if err := r.AddRevision(ctx, &fund.PageRevision{Lang: x.lang, Slug: x.slug, Title: "T", Body: x.lang + "/" + x.slug}); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := r.LatestRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"ru/services": 3, "ru/services-contact": 2, "en/services": 1}
	if len(latest) != len(want) {
		t.Fatalf("latest: %+v", latest)
	}
	for _, x := range latest {
		if want[x.Lang+"/"+x.Slug] != x.N {
			t.Errorf("%s/%s: newest %d, want %d", x.Lang, x.Slug, x.N, want[x.Lang+"/"+x.Slug])
		}
	}
	revs, _ := r.Revisions(ctx, "ru", "services", 2)
	if len(revs) != 2 || revs[0].N != 3 || revs[1].N != 2 {
		t.Errorf("revisions: %+v", revs)
	}
	if _, err := r.Revision(ctx, "ru", "services", 4); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("missing revision: %v", err)
	}
	if err := r.AddRevision(ctx, &fund.PageRevision{Lang: "ru", Slug: "a/b", Title: "T", Body: "B"}); fund.ErrorCode(err) != fund.EINVALID {
		t.Errorf("a slug with '/': %v", err)
	}
}

func TestNewsListByLanguage(t *testing.T) {
	ctx := context.Background()
	r := store.NewNewsRepo(memDB(t))
	v := r.NewsVersion()
	for i := 0; i < 25; i++ {
		lang := "ru"
		if i%5 == 0 {
			lang = "en"
		}
		if err := r.SaveNews(ctx, &fund.News{Lang: lang, Title: "T", Body: "B"}); err != nil {
			t.Fatal(err)
		}
	}
	if r.NewsVersion() == v {
		t.Error("the version did not change")
	}
	page, total, err := r.ListNews(ctx, "ru", 10, 10)
	if err != nil || total != 20 || len(page) != 10 {
		t.Fatalf("ru page 2: %d of %d, %v", len(page), total, err)
	}
	for i := 1; i < len(page); i++ {
		if page[i].ID >= page[i-1].ID {
			t.Fatalf("not newest first: %d after %d", page[i].ID, page[i-1].ID)
		}
	}
	if en, total, _ := r.ListNews(ctx, "en", 0, 10); total != 5 || en[0].ID != 21 {
		t.Errorf("en: %d posts, first %d", total, en[0].ID)
	}
	if err := r.DeleteNews(ctx, 21); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteNews(ctx, 21); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("deleting twice: %v", err)
	}
	if _, total, _ := r.ListNews(ctx, "en", 0, 10); total != 4 {
		t.Errorf("after delete: %d en posts", total)
	}
}

func TestBookingRepo(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	r := store.NewBookingRepo(db)
	date := time.Now().In(fund.Zone).AddDate(0, 0, 1).Format(fund.DateLayout)
	b := fund.Booking{Stop: 2, Date: date, Code: "ABCDEF", Test: fund.TestHIV}
	if err := r.AddBooking(ctx, b, 2); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBooking(ctx, b, 2); fund.ErrorCode(err) != fund.ECONFLICT {
		t.Errorf("the same code again: %v", err)
	}
	b.Code = "GHJKMN"
	if err := r.AddBooking(ctx, b, 2); err != nil {
		t.Fatal(err)
	}
	b.Code = "PQRSTU"
	if err := r.AddBooking(ctx, b, 2); fund.ErrorCode(err) != fund.EINVALID {
		t.Errorf("past the day's maximum: %v", err)
	}
	if err := r.AddBooking(ctx, fund.Booking{Stop: 1, Date: date, Code: "ABCDEF", Test: fund.TestHepatitis}, 2); err != nil {
		t.Errorf("the same code on another stop: %v", err)
	}
	list, err := r.Bookings(ctx, 0)
	if err != nil || len(list) != 3 || list[0].Stop != 1 || list[1].Code != "ABCDEF" || list[2].Code != "GHJKMN" || list[0].Test != fund.TestHepatitis {
		t.Fatalf("bookings: %+v %v", list, err)
	}
	if changed, err := r.MarkBookingDone(ctx, 2, date, "GHJKMN"); !changed || err != nil {
		t.Errorf("mark done: %v %v", changed, err)
	}
	if list, _ := r.Bookings(ctx, 2); len(list) != 2 || list[0].Done || !list[1].Done {
		t.Errorf("stop 2 after marking: %+v", list)
	}
	// The stored value is the test and the flag, nothing else.
	db.ForEach([]byte("b/"), func(k, v []byte) error {
		if s := string(v[1:]); s != `{"test":"hiv"}` && s != `{"test":"hiv","done":true}` && s != `{"test":"hepatitis"}` {
			t.Errorf("booking value %s", s)
		}
		return nil
	})
}

func TestMetricsRepoRanges(t *testing.T) {
	ctx := context.Background()
	r := store.NewMetricsRepo(memDB(t))
	add := metrics.Counts{Days: map[metrics.DayCounter]uint64{}, Hist: map[metrics.WeekBucket]uint64{}}
	for d := metrics.Day(20000); d < 20030; d++ {
		add.Days[metrics.DayCounter{Day: d, Counter: "views.home"}] = uint64(d - 19999)
		add.Hist[metrics.WeekBucket{Week: d.Week(), Bucket: 3}]++
	}
	for i := 0; i < 2; i++ {
		if err := r.AddCounts(ctx, add); err != nil {
			t.Fatal(err)
		}
	}
	c, err := r.LoadCounts(ctx, 20010, 20012)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Days) != 3 || c.Days[metrics.DayCounter{Day: 20011, Counter: "views.home"}] != 24 {
		t.Errorf("days: %v", c.Days)
	}
	var weeks []metrics.Week
	for k := range c.Hist {
		weeks = append(weeks, k.Week)
	}
	w := metrics.Day(20010).Week()
	if len(c.Hist) != 1 || c.Hist[metrics.WeekBucket{Week: w, Bucket: 3}] != 14 {
		t.Errorf("weeks of 20010..20012 (%d): %v", w, c.Hist)
	}
}

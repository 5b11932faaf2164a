package site

import (
	"net/http"
	"strings"
	"testing"

	"tropa/metrics"
	"tropa/staff"
)

// Every template of the fund's tools renders with a zero-value page in
// both languages (a staff page with only its account set: the staff bar
// needs one).
func TestToolTemplatesRenderZeroPages(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	me := &staff.Account{Name: "olga", DisplayName: "Ольга", Role: staff.RoleOutreach}
	sl := staffLayout{Me: me}
	pages := map[string]any{
		"news": newsListData{}, "news_post": newsPostData{}, "book": bookData{}, "booked": bookedData{},
		"home": homeData{}, "services_schedule": scheduleData{},
		"staff_pages": staffPagesData{staffLayout: sl}, "staff_page": staffPageData{staffLayout: sl},
		"staff_fund": staffFundData{staffLayout: sl}, "staff_news": staffNewsData{staffLayout: sl},
		"staff_bookings": staffBookingsData{staffLayout: sl}, "staff_metrics": staffMetricsData{staffLayout: sl},
	}
	for _, lang := range Languages {
		for kind, data := range pages {
			if _, err := s.render(lang, kind, http.StatusOK, data); err != nil {
				t.Errorf("%s/%s: %v", lang, kind, err)
			}
		}
	}
}

func TestBarWidth(t *testing.T) {
	for _, c := range []struct {
		v, top uint64
		want   string
	}{{0, 0, "w0"}, {0, 10, "w0"}, {10, 10, "w100"}, {1, 1000, "w5"}, {5, 10, "w50"}, {33, 100, "w35"}, {32, 100, "w30"}, {12, 16, "w75"}} {
		if got := barWidth(c.v, c.top); got != c.want {
			t.Errorf("barWidth(%d, %d) = %s, want %s", c.v, c.top, got, c.want)
		}
	}
	// Every class barWidth makes has a rule in the stylesheet.
	for w := 0; w <= 100; w += 5 {
		if !strings.Contains(styleCSS, ".w"+itoa(w)+"{width:"+itoa(w)) {
			t.Errorf("no CSS rule for .w%d", w)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestViewCounter(t *testing.T) {
	for route, want := range map[string]metrics.Counter{
		"/ru/": metrics.ViewsHome, "/en/hiv": metrics.ViewsHIV, "/ru/services/schedule": metrics.ViewsServices,
		"/en/board/:slug": metrics.ViewsBoard, "/ru/t/:id": metrics.ViewsBoard, "/ru/news.atom": metrics.ViewsNews,
		"/ru/news/:id": metrics.ViewsNews, "/ru/privacy": metrics.ViewsAbout, "/en/harm-reduction": metrics.ViewsHarmReduction,
	} {
		if got, ok := viewCounter(route); !ok || got != want {
			t.Errorf("viewCounter(%q) = %v %v, want %v", route, got, ok, want)
		}
	}
	for _, route := range []string{"/", "/ru/ask", "/ru/book", "/ru/booked", "/ru/mine", "/ru/captcha/:file", "/ru/receipt", "/ru/staff/"} {
		if _, ok := viewCounter(route); ok {
			t.Errorf("viewCounter(%q) counts it", route)
		}
	}
}

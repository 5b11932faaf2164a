package site_test

import (
	"strings"
	"testing"
	"time"

	"tropa/site"
)

// TestHealthPageShowsTheFrontend: with several tors behind Onionbalance,
// the staff health page shows the public address's frontend and, for each
// instance, its tor and what the published frontend descriptor holds for
// it, in the staff member's language; a stale instance stands out.
func TestHealthPageShowsTheFrontend(t *testing.T) {
	up := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	health := site.HealthView{TorVersion: "0.4.9.11", Running: true, Bootstrap: 100,
		Services: []site.HealthService{{Name: "public", Address: strings.Repeat("a", 56), HasDescriptor: true, LastUpload: up}},
		Balance: &site.HealthBalance{Address: strings.Repeat("a", 56), Running: true, LastUpload: up, Restarts: 1,
			Instances: []site.HealthInstance{
				{Name: "instance-1", Address: strings.Repeat("b", 56), Running: true, HasDescriptor: true, LastUpload: up, Connections: 28, Frontend: "listed"},
				{Name: "instance-2", Address: strings.Repeat("c", 56), Running: false, Restarts: 2, Frontend: "stale"},
				{Name: "remote", Address: strings.Repeat("d", 56), Remote: true, Frontend: "pending"},
			}, RemoteConnections: 41}}
	ss := newStaffSite(t, func(o *site.Options) { o.Health = func() site.HealthView { return health } })
	v := ss.staffVisitor(t)
	if st, _ := v.login("olga", "correct horse battery"); st != 303 {
		t.Fatalf("login: %d", st)
	}
	for _, c := range []struct{ lang, frontend, stale, pending, remote string }{
		{"ru", "Публичный адрес: несколько tor за Onionbalance", "устарел: указаны точки знакомства остановленного tor",
			"новые точки знакомства появятся при следующей публикации", "Соединений от удалённых экземпляров: 41"},
		{"en", "Public address: several tors behind Onionbalance", "stale: lists introduction points of a tor that stopped",
			"new introduction points, published at the next publication", "Connections from remote instances: 41"},
	} {
		st, page := v.get("/" + c.lang + "/staff/health")
		if st != 200 {
			t.Fatalf("%s health page: %d", c.lang, st)
		}
		for _, want := range []string{c.frontend, strings.Repeat("a", 56) + ".onion", strings.Repeat("b", 56) + ".onion",
			strings.Repeat("d", 56) + ".onion", `<strong class="err">` + c.stale, c.pending, c.remote, "<td>28</td>", "2026-11-28 09:30 UTC"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s health page lacks %q", c.lang, want)
			}
		}
	}
	// With one tor there is no frontend section.
	health.Balance = nil
	if _, page := v.get("/en/staff/health"); strings.Contains(page, "Onionbalance") {
		t.Error("the health page of a single tor mentions Onionbalance")
	}
}

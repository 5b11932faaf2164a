package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"tropa/metrics"
)

// TestStatsCSVOverSocket: while tropa serves, `tropa stats --csv` reads the
// running recorder, so counts it has not stored yet are in the export.
func TestStatsCSVOverSocket(t *testing.T) {
	dir := t.TempDir()
	d := serveAdmin(t, dir)
	for i := 0; i < 3; i++ {
		d.Metrics.Inc(metrics.ViewsHIV)
	}
	d.Metrics.Inc(metrics.QuestionsPrivate)
	d.Metrics.FirstAnswer(5)
	d.Metrics.Inc(metrics.BookingsMade)
	out := mustRun(t, "", "stats", "--csv", "--data", dir)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	if len(recs) != 13 {
		t.Fatalf("%d rows, want a header and 12 weeks:\n%s", len(recs), out)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	last := recs[12]
	for name, want := range map[string]string{"views_total": "3", "views_hiv": "3", "questions_private": "1", "answered": "1",
		"median_first_answer_hours": "5", "median_first_answer_hours_max": "5", "bookings_made": "1", "bookings_attended": "0"} {
		i, ok := col[name]
		if !ok {
			t.Fatalf("no column %q in %v", name, recs[0])
		}
		if last[i] != want {
			t.Errorf("this week's %s = %q, want %q", name, last[i], want)
		}
	}
	monday := metrics.WeekOf(time.Now()).First().Time().Format(time.DateOnly)
	if last[col["week_start"]] != monday || recs[1][col["median_first_answer_hours"]] != "" {
		t.Errorf("week_start %q (want %s), first week's median %q", last[col["week_start"]], monday, recs[1][col["median_first_answer_hours"]])
	}
	if table := mustRun(t, "", "stats", "--weeks", "2", "--data", dir); !strings.Contains(table, monday) || strings.Count(table, "\n") != 3 {
		t.Errorf("the table:\n%s", table)
	}
	wantFail(t, 2, "", "--weeks", "stats", "--weeks", "0", "--data", dir)
}

// TestStatsDirect: with nothing serving, stats opens the store itself and
// reads what was stored.
func TestStatsDirect(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, rootPassword+"\n", "staff", "add", "root", "--role", "admin", "--password-stdin", "--data", dir)
	withStore(t, dir, func(d *AdminDeps) {
		d.Metrics.Inc(metrics.ViewsNews)
		d.Metrics.Inc(metrics.ViewsNews)
		if err := d.Metrics.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	out := mustRun(t, "", "stats", "--csv", "--weeks", "1", "--data", dir)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v\n%s", err, out)
	}
	for i, h := range recs[0] {
		if h == "views_news" && recs[1][i] != "2" {
			t.Errorf("views_news = %q, want 2", recs[1][i])
		}
	}
}

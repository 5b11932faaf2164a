package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tropa/metrics"
)

// `tropa stats` prints the outreach metrics week by week, or with --csv as
// CSV for the fund's reports. While tropa serves the data directory the
// request goes over its socket (admin.go), so the counts it holds in memory
// and has not stored yet are included.

func init() {
	register(&command{name: "stats", summary: "outreach metrics week by week: views, questions, answers, bookings (--csv)", run: runStats})
	registerAdmin("stats.weeks", adminFunc(adminStatsWeeks))
}

const maxStatsWeeks = 520

type statsArgs struct {
	Weeks int `json:"weeks"`
}

// statsWeek is one week as the admin socket sends it.
type statsWeek struct {
	Start     string            `json:"start"` // the Monday, YYYY-MM-DD
	Counts    map[string]uint64 `json:"counts"`
	Answers   uint64            `json:"answers"`
	MedianLo  int               `json:"median_lo"`
	MedianHi  int               `json:"median_hi"` // -1: MedianLo or more
	HasMedian bool              `json:"has_median"`
}

func adminStatsWeeks(ctx context.Context, d *AdminDeps, a statsArgs) (any, error) {
	if d.Metrics == nil {
		return nil, errors.New("no metrics in this tropa")
	}
	if a.Weeks < 1 || a.Weeks > maxStatsWeeks {
		return nil, fmt.Errorf("weeks must be between 1 and %d", maxStatsWeeks)
	}
	rows, err := d.Metrics.Weeks(ctx, a.Weeks)
	if err != nil {
		return nil, err
	}
	out := make([]statsWeek, 0, len(rows))
	for _, r := range rows {
		w := statsWeek{Start: r.Start.Format(time.DateOnly), Counts: map[string]uint64{}, Answers: r.Answers,
			MedianLo: r.MedianLo, MedianHi: r.MedianHi, HasMedian: r.HasMedian}
		for c := metrics.Counter(0); c < metrics.NumCounters; c++ {
			w.Counts[c.Name()] = r.Counts[c]
		}
		out = append(out, w)
	}
	return out, nil
}

func runStats(args []string, stdout, stderr io.Writer) error {
	t := adminTarget{stderr: stderr}
	fs := newFlags("stats", "stats [--csv] [--weeks N] [flags]", stderr)
	adminFlags(fs, &t)
	asCSV := fs.Bool("csv", false, "write CSV (one row per week, a column per counter) instead of a table")
	weeks := fs.Int("weeks", 12, "how many weeks, the current one last (1-520)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *weeks < 1 || *weeks > maxStatsWeeks {
		fmt.Fprintf(stderr, "tropa stats: --weeks must be between 1 and %d\n", maxStatsWeeks)
		return errUsage
	}
	var rows []statsWeek
	if err := callAdmin(context.Background(), t, map[string]any{"cmd": "stats.weeks", "weeks": *weeks}, &rows); err != nil {
		return err
	}
	if *asCSV {
		return writeStatsCSV(stdout, rows)
	}
	return writeStatsTable(stdout, rows)
}

// statsColumns are the CSV columns after week_start and views_total: every
// counter, by its stored name with '.' and '-' made '_'.
func statsColumns() []string {
	var cols []string
	for c := metrics.Counter(0); c < metrics.NumCounters; c++ {
		cols = append(cols, c.Name())
	}
	return cols
}

func csvName(name string) string { return strings.NewReplacer(".", "_", "-", "_").Replace(name) }

// writeStatsCSV writes a header and a row per week. The median delay of
// the first staff answers is in hours: exact below 48, else the range's
// lower bound, with its upper bound in the next column (empty: no bound);
// both are empty in a week without answers.
func writeStatsCSV(w io.Writer, rows []statsWeek) error {
	cw := csv.NewWriter(w)
	head := []string{"week_start", "views_total"}
	for _, c := range statsColumns() {
		head = append(head, csvName(c))
	}
	head = append(head, "first_answers_timed", "median_first_answer_hours", "median_first_answer_hours_max")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Start, strconv.FormatUint(viewsOf(r), 10)}
		for _, c := range statsColumns() {
			rec = append(rec, strconv.FormatUint(r.Counts[c], 10))
		}
		rec = append(rec, strconv.FormatUint(r.Answers, 10))
		lo, hi := medianCols(r)
		rec = append(rec, lo, hi)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func viewsOf(r statsWeek) uint64 {
	var n uint64
	for _, c := range metrics.Views {
		n += r.Counts[c.Name()]
	}
	return n
}

func medianCols(r statsWeek) (lo, hi string) {
	if !r.HasMedian {
		return "", ""
	}
	lo = strconv.Itoa(r.MedianLo)
	if r.MedianHi >= 0 {
		hi = strconv.Itoa(r.MedianHi)
	}
	return lo, hi
}

func writeStatsTable(w io.Writer, rows []statsWeek) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "week of\tviews\tquestions public\tprivate\tanswered\tmedian hours\tbooked\ttested\t")
	for _, r := range rows {
		med := "-"
		if lo, hi := medianCols(r); lo != "" {
			switch {
			case hi == "":
				med = lo + "+"
			case hi != lo:
				med = lo + "-" + hi
			default:
				med = lo
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t\n", r.Start, viewsOf(r), r.Counts[metrics.QuestionsPublic.Name()],
			r.Counts[metrics.QuestionsPrivate.Name()], r.Counts[metrics.Answered.Name()], med,
			r.Counts[metrics.BookingsMade.Name()], r.Counts[metrics.BookingsAttended.Name()])
	}
	return tw.Flush()
}

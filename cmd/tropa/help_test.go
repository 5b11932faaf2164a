package main

import (
	"strings"
	"testing"
	"time"
)

// TestHelpCoversEveryCommand: `tropa help` lists every registered command
// and `tropa help NAME` shows each one's usage.
func TestHelpCoversEveryCommand(t *testing.T) {
	list := mustRun(t, "", "help")
	for name, c := range commands {
		if !strings.Contains(list, "  "+name+" ") || !strings.Contains(list, c.summary) {
			t.Errorf("tropa help does not list %s", name)
		}
		code, out, errs := runCLI(t, "", "help", name)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("tropa help %s: exit %d, %q %q", name, code, out, errs)
		}
	}
	for _, sub := range [][]string{{"staff", "add"}, {"onion", "vanity"}, {"keys", "export"}, {"config", "check"}} {
		code, out, _ := runCLI(t, "", append([]string{"help"}, sub...)...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("tropa help %s: exit %d, %q", strings.Join(sub, " "), code, out)
		}
	}
	if out := mustRun(t, "", "help", "serve"); !strings.Contains(out, "-retention-days") || !strings.Contains(out, "-config FILE") {
		t.Errorf("help serve lacks flags:\n%s", out)
	}
	if out := mustRun(t, "", "version"); !strings.HasPrefix(out, "tropa ") || !strings.Contains(out, "go1") {
		t.Errorf("version said %q", out)
	}
	if code, _, _ := runCLI(t, "", "help", "nope"); code != 2 {
		t.Errorf("help for an unknown command: exit %d", code)
	}
}

func TestPrintMaintenance(t *testing.T) {
	var b strings.Builder
	printMaintenance(&b, &maintenanceStatus{RetentionDays: 90, GCInterval: "1h0m0s"}, nowForTest)
	if !strings.Contains(b.String(), "not run yet") {
		t.Errorf("%q", b.String())
	}
	b.Reset()
	printMaintenance(&b, &maintenanceStatus{RetentionDays: 90, GCInterval: "1h0m0s",
		Retention: &retentionRun{At: nowForTest.Add(-3600e9), Threads: 2, Posts: 7, Askers: 1},
		GC:        &gcRun{At: nowForTest.Add(-60e9), SizeBefore: 3 << 20, SizeAfter: 2 << 20}}, nowForTest)
	for _, w := range []string{"deleted 2 private threads (7 posts), 1 receipts", "1h0m0s ago", "garbage collection (every 1h0m0s): last run", "3.0 MiB -> 2.0 MiB"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("status lacks %q:\n%s", w, b.String())
		}
	}
}

var nowForTest = mustTime("2026-05-01T12:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

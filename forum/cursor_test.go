package forum_test

import (
	"fmt"
	"strings"
	"testing"

	"tropa/forum"
)

// Paging a section by cursor shows the same pages as numbering them, and
// the cursors around each page lead to its neighbours.
func TestSectionCursors(t *testing.T) {
	e := mustOpen(t)
	for i := 1; i <= 45; i++ {
		res := e.ask("services", fmt.Sprintf("Вопрос %02d", i), "x", false)
		if i == 7 || i == 30 {
			if err := e.svc.PinThread(e.ctx, res.Thread.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if i%10 == 0 {
			e.ask("services", fmt.Sprintf("Закрытый %d", i), "x", true)
		}
	}
	// 46 public threads (the opening one is pinned too): pages of 20, 20, 6.
	var numbered []*forum.SectionPage
	for p := 1; p <= 3; p++ {
		sp, err := e.svc.SectionPage(e.ctx, "services", p)
		if err != nil {
			t.Fatal(err)
		}
		numbered = append(numbered, sp)
	}
	if !numbered[0].Threads[0].Pinned || !numbered[0].Threads[2].Pinned || numbered[0].Threads[3].Pinned {
		t.Fatalf("pinned threads do not head page 1: %s", titles(numbered[0].Threads))
	}
	var byCursor []*forum.SectionPage
	at := forum.PageAt{}
	for {
		sp, err := e.svc.SectionPageAt(e.ctx, "services", at)
		if err != nil {
			t.Fatalf("page %d: %v", len(byCursor)+1, err)
		}
		byCursor = append(byCursor, sp)
		if sp.Older == "" {
			break
		}
		if len(sp.Older) != 22 || strings.Trim(sp.Older, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("cursor %q is not 22 base64url characters", sp.Older)
		}
		at = forum.PageAt{Older: sp.Older}
	}
	if len(byCursor) != 3 {
		t.Fatalf("%d pages by cursor, want 3", len(byCursor))
	}
	for i, sp := range byCursor {
		if titles(sp.Threads) != titles(numbered[i].Threads) {
			t.Fatalf("page %d by cursor: %s\nnumbered: %s", i+1, titles(sp.Threads), titles(numbered[i].Threads))
		}
		for _, th := range sp.Threads {
			if th.Private || th.Asker != 0 {
				t.Fatalf("page %d shows %+v", i+1, th)
			}
		}
	}
	p1, p2, p3 := byCursor[0], byCursor[1], byCursor[2]
	if !p1.Top || p1.HasNewer || p1.Page != 1 || p2.Top || !p2.HasNewer || p2.Newer != "" || p3.Top || !p3.HasNewer || p3.Newer == "" {
		t.Fatalf("newer links: p1 %v %v, p2 %v %v %q, p3 %v %v %q", p1.Top, p1.HasNewer, p2.Top, p2.HasNewer, p2.Newer, p3.Top, p3.HasNewer, p3.Newer)
	}
	// Back from page 3: page 2, then page 1 (which says it is the top).
	back, err := e.svc.SectionPageAt(e.ctx, "services", forum.PageAt{Newer: p3.Newer})
	if err != nil || titles(back.Threads) != titles(p2.Threads) || back.Top || back.Older != p2.Older || back.Newer != "" || !back.HasNewer {
		t.Fatalf("newer than page 3: %v %+v", err, back)
	}

	// Old page numbers: the cursor that shows page N now.
	for n := 1; n <= 3; n++ {
		c, err := e.svc.SectionCursor(e.ctx, "services", n)
		if err != nil {
			t.Fatalf("cursor of page %d: %v", n, err)
		}
		if n == 1 {
			if c != "" {
				t.Fatalf("page 1 has cursor %q", c)
			}
			continue
		}
		sp, err := e.svc.SectionPageAt(e.ctx, "services", forum.PageAt{Older: c})
		if err != nil || titles(sp.Threads) != titles(numbered[n-1].Threads) {
			t.Fatalf("page %d by its cursor: %v %s", n, err, titles(sp.Threads))
		}
	}
	_, err = e.svc.SectionCursor(e.ctx, "services", 4)
	wantErr(t, err, forum.ENOTFOUND, forum.KeyPageNotFound, "page")
	_, err = e.svc.SectionCursor(e.ctx, "nope", 2)
	wantErr(t, err, forum.ENOTFOUND, forum.KeySectionNotFound, "")

	// The cursors survive a restart: they are sealed with a key kept in the
	// store, not made up at start.
	again := forum.NewService(e.repo, e.clock.Now, forum.Options{KDF: testKDF})
	sp, err := again.SectionPageAt(e.ctx, "services", forum.PageAt{Older: p1.Older})
	if err != nil || titles(sp.Threads) != titles(p2.Threads) {
		t.Fatalf("cursor after a restart: %v", err)
	}

	// Page 2's threads go: page 3's Newer cursor now leads to the top.
	for _, th := range p2.Threads {
		if err := e.svc.DeleteThread(e.ctx, th.ID); err != nil {
			t.Fatal(err)
		}
	}
	top, err := e.svc.SectionPageAt(e.ctx, "services", forum.PageAt{Newer: p3.Newer})
	if err != nil || !top.Top || top.HasNewer || titles(top.Threads) != titles(p1.Threads) || top.Older == "" {
		t.Fatalf("newer than page 3 after deletions: %v %+v", err, top)
	}
}

// A cursor that was not made for this list is not a page: damaged, made
// up, another section's, the private list's, or two at once.
func TestSectionCursorRefused(t *testing.T) {
	e := mustOpen(t)
	for i := 1; i <= 25; i++ {
		e.ask("hiv", fmt.Sprintf("Вопрос %02d", i), "x", false)
		e.ask("hepatitis", fmt.Sprintf("Вопрос %02d", i), "x", false)
		e.ask("hepatitis", fmt.Sprintf("Закрытый %02d", i), "x", true)
	}
	hiv, err := e.svc.SectionPageAt(e.ctx, "hiv", forum.PageAt{})
	if err != nil || hiv.Older == "" {
		t.Fatalf("hiv page 1: %v %+v", err, hiv)
	}
	hep, _ := e.svc.SectionPageAt(e.ctx, "hepatitis", forum.PageAt{})
	priv, err := e.svc.PrivatePageAt(e.ctx, "hepatitis", forum.PageAt{})
	if err != nil || len(priv.Threads) != 20 || !priv.Threads[0].Private || priv.Older == "" {
		t.Fatalf("private page 1: %v", err)
	}
	if sp, err := e.svc.PrivatePageAt(e.ctx, "hepatitis", forum.PageAt{Older: priv.Older}); err != nil || len(sp.Threads) != 5 {
		t.Fatalf("private page 2: %v", err)
	}
	flip := func(c string) string {
		b := []byte(c)
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		return string(b)
	}
	bad := map[string]forum.PageAt{
		"empty-ish":          {Older: "x"},
		"too long":           {Older: hiv.Older + "A"},
		"too short":          {Older: hiv.Older[:21]},
		"not base64url":      {Older: strings.Repeat("+", 22)},
		"non-canonical":      {Older: hiv.Older[:21] + "B"},
		"damaged":            {Older: flip(hiv.Older)},
		"made up":            {Older: "AAAAAAAAAAAAAAAAAAAAAA"},
		"another section's":  {Older: hep.Older},
		"the private list's": {Older: priv.Older},
		"both":               {Older: hiv.Older, Newer: hiv.Older},
		"damaged newer":      {Newer: flip(hiv.Older)},
		// page 1's Older cursor says "the page after the first": no Newer.
		"first page's older as newer": {Newer: hiv.Older},
	}
	for name, at := range bad {
		_, err := e.svc.SectionPageAt(e.ctx, "hiv", at)
		if name == "the private list's" {
			_, err = e.svc.SectionPageAt(e.ctx, "hepatitis", at)
		}
		if forum.ErrorCode(err) != forum.ENOTFOUND || forum.ErrorKey(err) != forum.KeyPageNotFound {
			t.Errorf("%s cursor: %v, want not found", name, err)
		}
	}
	// A public cursor on the private list, too.
	if _, err := e.svc.PrivatePageAt(e.ctx, "hepatitis", forum.PageAt{Older: hep.Older}); forum.ErrorCode(err) != forum.ENOTFOUND {
		t.Errorf("public cursor on the private list: %v", err)
	}
	_, err = e.svc.SectionPageAt(e.ctx, "nope", forum.PageAt{})
	wantErr(t, err, forum.ENOTFOUND, forum.KeySectionNotFound, "")
	// Past the end: page 2's Older is "" (one page of 6 follows), and a
	// cursor past every thread is no page.
	p2, err := e.svc.SectionPageAt(e.ctx, "hiv", forum.PageAt{Older: hiv.Older})
	if err != nil || len(p2.Threads) != 6 || p2.Older != "" {
		t.Fatalf("hiv page 2: %v %d %q", err, len(p2.Threads), p2.Older)
	}
	last := p2.Threads[len(p2.Threads)-1]
	if err := e.svc.DeleteThread(e.ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	for _, th := range p2.Threads[:len(p2.Threads)-1] {
		if err := e.svc.DeleteThread(e.ctx, th.ID); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.svc.SectionPageAt(e.ctx, "hiv", forum.PageAt{Older: hiv.Older})
	wantErr(t, err, forum.ENOTFOUND, forum.KeyPageNotFound, "page")
}

package fund_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/store"
)

func TestPageRevisionValidate(t *testing.T) {
	valid := func() fund.PageRevision {
		return fund.PageRevision{Lang: "ru", Slug: "hiv", Title: "ВИЧ", Body: "## Главное\n\nТекст."}
	}
	cases := []struct {
		name string
		edit func(*fund.PageRevision)
		want map[string]string
	}{
		{"valid", func(*fund.PageRevision) {}, nil},
		{"CRLF and trailing spaces", func(r *fund.PageRevision) { r.Body = "\r\n\r\nТекст   \r\nещё\t\r\n\r\n" }, nil},
		{"reviewed", func(r *fund.PageRevision) { r.Reviewed = " 2025-03-01 " }, nil},
		{"no title", func(r *fund.PageRevision) { r.Title = " \n " }, map[string]string{"title": fund.KeyRequired}},
		{"no body", func(r *fund.PageRevision) { r.Body = "\n  \n" }, map[string]string{"body": fund.KeyRequired}},
		{"bad date", func(r *fund.PageRevision) { r.Reviewed = "2025-02-30" }, map[string]string{"reviewed": fund.KeyDate}},
		{"control char", func(r *fund.PageRevision) { r.Body = "a\x00b" }, map[string]string{"body": fund.KeyText}},
		{"long nav", func(r *fund.PageRevision) { r.Nav = strings.Repeat("я", fund.MaxPageNav+1) }, map[string]string{"nav": fund.KeyTooLong}},
		{"long body", func(r *fund.PageRevision) { r.Body = strings.Repeat("я", fund.MaxPageBody+1) }, map[string]string{"body": fund.KeyTooLong}},
		{"bad lang", func(r *fund.PageRevision) { r.Lang = "de" }, map[string]string{"lang": fund.KeyLang}},
		{"bad slug", func(r *fund.PageRevision) { r.Slug = "../etc" }, map[string]string{"slug": fund.KeySlug}},
	}
	for _, c := range cases {
		r := valid()
		c.edit(&r)
		r.Normalize()
		got := fieldKeys(t, r.Validate())
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for f, k := range c.want {
			if got[f] != k {
				t.Errorf("%s: %s = %q, want %q", c.name, f, got[f], k)
			}
		}
	}
	r := valid()
	r.Body = "\r\nТекст   \r\nещё\r\n\r\n"
	r.Normalize()
	if r.Body != "Текст\nещё" {
		t.Errorf("normalized body %q", r.Body)
	}
}

func TestPageEditorHistoryAndRestore(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := store.NewPageRepo(db)
	now := saturday
	e := fund.NewPageEditor(repo, func() time.Time { return now })
	v0 := e.Version()
	for i, body := range []string{"Первая", "Вторая", "Третья"} {
		now = saturday.Add(time.Duration(i) * 90 * time.Minute)
		r := fund.PageRevision{Lang: "ru", Slug: "hiv", Title: "ВИЧ", Body: body}
		if err := e.Save(ctx, &r, "olga"); err != nil || r.N != i+1 {
			t.Fatalf("save %d: N=%d %v", i+1, r.N, err)
		}
	}
	if err := e.Save(ctx, &fund.PageRevision{Lang: "en", Slug: "hiv", Title: "HIV", Body: "First"}, "olga"); err != nil {
		t.Fatal(err)
	}
	if e.Version() == v0 {
		t.Error("saving did not change the version")
	}
	bad := fund.PageRevision{Lang: "ru", Slug: "hiv", Title: "", Body: "x"}
	if err := e.Save(ctx, &bad, "olga"); fund.ErrorCode(err) != fund.EINVALID {
		t.Errorf("invalid save: %v", err)
	}
	h, err := e.History(ctx, "ru", "hiv")
	if err != nil || len(h) != 3 || h[0].N != 3 || h[0].Body != "Третья" || h[2].Staff != "olga" {
		t.Fatalf("history: %+v %v", h, err)
	}
	if h[0].Hour != fund.HourOf(saturday.Add(180*time.Minute)) || h[1].Hour != fund.HourOf(saturday.Add(90*time.Minute)) {
		t.Errorf("revision hours: %v %v", h[0].Hour, h[1].Hour)
	}
	r, err := e.Restore(ctx, "ru", "hiv", 1, "root")
	if err != nil || r.N != 4 || r.Restores != 1 || r.Body != "Первая" || r.Staff != "root" {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if _, err := e.Restore(ctx, "ru", "hiv", 9, "root"); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("restore of a missing revision: %v", err)
	}
	cur, err := e.Current(ctx)
	if err != nil || len(cur) != 2 {
		t.Fatalf("current: %+v %v", cur, err)
	}
	for _, c := range cur {
		if c.Lang == "ru" && (c.N != 4 || c.Body != "Первая") || c.Lang == "en" && c.N != 1 {
			t.Errorf("current revision %+v", c)
		}
	}
}

func TestNewsValidateAndPublish(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		n    fund.News
		want map[string]string
	}{
		"valid":     {fund.News{Lang: "en", Title: " Title ", Body: "Text"}, nil},
		"no lang":   {fund.News{Title: "T", Body: "B"}, map[string]string{"lang": fund.KeyLang}},
		"no title":  {fund.News{Lang: "ru", Body: "B"}, map[string]string{"title": fund.KeyRequired}},
		"long body": {fund.News{Lang: "ru", Title: "T", Body: strings.Repeat("я", fund.MaxNewsBody+1)}, map[string]string{"body": fund.KeyTooLong}},
		"control":   {fund.News{Lang: "ru", Title: "T\x07", Body: "B"}, map[string]string{"title": fund.KeyText}},
	} {
		c.n.Normalize()
		got := fieldKeys(t, c.n.Validate())
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
		for f, k := range c.want {
			if got[f] != k {
				t.Errorf("%s: %s = %q, want %q", name, f, got[f], k)
			}
		}
	}
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := saturday
	d := fund.NewNewsDesk(store.NewNewsRepo(db), func() time.Time { return now })
	n := fund.News{Lang: "ru", Title: "Первая", Body: "Текст"}
	if err := d.Publish(ctx, &n, "olga"); err != nil || n.ID == 0 || n.Published != fund.HourOf(saturday) {
		t.Fatalf("publish: %+v %v", n, err)
	}
	now = saturday.Add(3 * time.Hour)
	edit := fund.News{ID: n.ID, Lang: "en", Title: "First", Body: "Text"}
	if err := d.Publish(ctx, &edit, "root"); err != nil || edit.Published != n.Published || edit.Updated != fund.HourOf(now) || edit.Staff != "root" {
		t.Fatalf("edit: %+v %v", edit, err)
	}
	if p, _ := d.Page(ctx, "ru", 1); p.Total != 0 {
		t.Error("a post moved to English is still listed in Russian")
	}
	if p, _ := d.Page(ctx, "en", 1); p.Total != 1 || p.Posts[0].Title != "First" {
		t.Errorf("en page: %+v", p)
	}
	if _, err := d.Page(ctx, "en", 2); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("page past the last: %v", err)
	}
	if err := d.Publish(ctx, &fund.News{ID: 99, Lang: "ru", Title: "T", Body: "B"}, "olga"); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("editing a missing post: %v", err)
	}
	if err := d.Delete(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Post(ctx, n.ID); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("deleted post: %v", err)
	}
}

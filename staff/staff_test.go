package staff_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"tropa/staff"
)

func TestRoles(t *testing.T) {
	outreach := &staff.Account{Name: "anna", Role: staff.RoleOutreach}
	admin := &staff.Account{Name: "root", Role: staff.RoleAdmin}
	unknown := &staff.Account{Name: "x", Role: "boss"}
	var none *staff.Account
	for _, tc := range []struct {
		a                              *staff.Account
		answer, moderate, manage, conf bool
	}{
		{outreach, true, true, false, false},
		{admin, true, true, true, true},
		{unknown, false, false, false, false},
		{none, false, false, false, false},
	} {
		got := []bool{tc.a.Can(staff.ActionAnswer), tc.a.Can(staff.ActionModerate), tc.a.Can(staff.ActionManageStaff), tc.a.Can(staff.ActionSettings)}
		want := []bool{tc.answer, tc.moderate, tc.manage, tc.conf}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: Can = %v, want %v", tc.a, got, want)
		}
	}
	if (&staff.Account{Role: staff.RoleAdmin}).Can(staff.Action(0)) {
		t.Error("an admin may do an unknown action")
	}
}

func TestAddAccount(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	a, err := e.svc.AddAccount(e.ctx, staff.NewAccount{Name: "  Anna.K ", DisplayName: " Анна  К. ", Role: staff.RoleOutreach, Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "anna.k" || a.DisplayName != "Анна К." || a.Role != staff.RoleOutreach || a.Created != staff.HourOf(e.clock.Now()) {
		t.Errorf("account = %+v", a)
	}
	_, err = e.svc.AddAccount(e.ctx, staff.NewAccount{Name: "ANNA.K", DisplayName: "x", Role: staff.RoleAdmin, Password: goodPassword})
	wantErr(t, err, staff.ECONFLICT, staff.KeyNameTaken, "")

	// Every field error at once, each on its field.
	_, err = e.svc.AddAccount(e.ctx, staff.NewAccount{Name: "a b", DisplayName: " ", Role: "boss", Password: "short"})
	wantErr(t, err, staff.EINVALID, "", "")
	fe := staff.FieldErrors(err)
	for field, key := range map[string]string{
		"name": staff.KeyNameInvalid, "display_name": staff.KeyDisplayNameEmpty,
		"role": staff.KeyRoleInvalid, "password": staff.KeyPasswordTooShort,
	} {
		if fe[field] == nil || fe[field].Key != key {
			t.Errorf("field %s: %v, want %s", field, fe[field], key)
		}
	}

	for _, tc := range []struct{ name, display, key string }{
		{"a", "x", staff.KeyNameInvalid},
		{strings.Repeat("a", 33), "x", staff.KeyNameInvalid},
		{"анна", "x", staff.KeyNameInvalid},
		{"an/na", "x", staff.KeyNameInvalid},
		{"anna2", strings.Repeat("я", staff.DisplayNameMax+1), staff.KeyDisplayNameTooLong},
		{"anna2", "Анна\u202e", staff.KeyText},
	} {
		_, err := e.svc.AddAccount(e.ctx, staff.NewAccount{Name: tc.name, DisplayName: tc.display, Role: staff.RoleOutreach, Password: goodPassword})
		wantErr(t, err, staff.EINVALID, tc.key, "")
	}
	if _, err := e.svc.AddAccount(e.ctx, staff.NewAccount{Name: "a-_.9", DisplayName: strings.Repeat("я", staff.DisplayNameMax), Role: staff.RoleAdmin, Password: goodPassword}); err != nil {
		t.Errorf("longest display name, all name characters: %v", err)
	}

	list, err := e.svc.Accounts(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"a-_.9", "anna.k"}) {
		t.Errorf("Accounts = %v", names)
	}
	if _, err := e.svc.Account(e.ctx, "nobody"); staff.ErrorKey(err) != staff.KeyAccountNotFound {
		t.Errorf("Account(nobody): %v", err)
	}
	if err := e.svc.SetPassword(e.ctx, "nobody", goodPassword); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("SetPassword(nobody): %v", err)
	}
	if err := e.svc.RemoveAccount(e.ctx, "nobody"); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("RemoveAccount(nobody): %v", err)
	}
}

func TestLastAdminStays(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("root", staff.RoleAdmin)
	e.add("anna", staff.RoleOutreach)
	wantErr(t, e.svc.RemoveAccount(e.ctx, "root"), staff.ECONFLICT, staff.KeyLastAdmin, "")
	_, err := e.svc.SetRole(e.ctx, "root", staff.RoleOutreach)
	wantErr(t, err, staff.ECONFLICT, staff.KeyLastAdmin, "")
	_, err = e.svc.SetRole(e.ctx, "root", "boss")
	wantErr(t, err, staff.EINVALID, staff.KeyRoleInvalid, "role")

	if _, err := e.svc.SetRole(e.ctx, "anna", staff.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveAccount(e.ctx, "root"); err != nil {
		t.Fatalf("remove an admin with another left: %v", err)
	}
	if err := e.svc.RemoveAccount(e.ctx, "anna"); staff.ErrorKey(err) != staff.KeyLastAdmin {
		t.Errorf("remove the new last admin: %v", err)
	}
}

func TestSavedReplies(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	if err := e.svc.Seed(e.ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := e.svc.Replies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d seeded replies, want 3", len(rs))
	}
	if !strings.Contains(rs[0].Body, "/ru/services/schedule") || !strings.Contains(rs[1].Body, "10–33") || !strings.Contains(rs[2].Body, "/ru/services/schedule") {
		t.Errorf("seeded replies do not point where they should: %q", []string{rs[0].Title, rs[1].Title, rs[2].Title})
	}

	// Create: Order 0 goes to the end.
	r := &staff.SavedReply{Title: "  Naloxone ", Body: "Call 112.\r\n", Lang: "en"}
	if err := e.svc.SaveReply(e.ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.Order != 4 || r.Title != "Naloxone" || r.Body != "Call 112." {
		t.Errorf("saved = %+v", r)
	}
	// Update, and move it first.
	r.Body, r.Order = "Call 112 or 103.", 0
	if err := e.svc.SaveReply(e.ctx, r); err != nil {
		t.Fatal(err)
	}
	all, _ := e.svc.Replies(e.ctx)
	if len(all) != 4 || all[0].ID != r.ID || all[0].Body != "Call 112 or 103." {
		t.Errorf("after moving first: %+v", all[0])
	}
	if all[1].Lang != "ru" || all[0].Lang != "en" {
		t.Errorf("languages = %q, %q", all[0].Lang, all[1].Lang)
	}
	got, err := e.svc.Reply(e.ctx, r.ID)
	if err != nil || got.Body != r.Body {
		t.Errorf("Reply = %+v, %v", got, err)
	}

	// Invalid input: every field at once; a refused new reply stays new.
	bad := &staff.SavedReply{Title: "", Body: strings.Repeat("я", staff.ReplyBodyMax+1), Lang: "de", Order: -1}
	err = e.svc.SaveReply(e.ctx, bad)
	wantErr(t, err, staff.EINVALID, "", "")
	if fe := staff.FieldErrors(err); len(fe) != 4 || fe["title"].Key != staff.KeyReplyTitleEmpty || fe["body"].Key != staff.KeyReplyBodyTooLong {
		t.Errorf("field errors = %v", err)
	}
	if bad.ID != 0 {
		t.Error("a refused reply got an ID")
	}
	missing := &staff.SavedReply{ID: 999, Title: "x", Body: "x", Lang: "ru"}
	wantErr(t, e.svc.SaveReply(e.ctx, missing), staff.ENOTFOUND, staff.KeyReplyNotFound, "")

	// Delete.
	if err := e.svc.DeleteReply(e.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.DeleteReply(e.ctx, r.ID), staff.ENOTFOUND, staff.KeyReplyNotFound, "")
	_, err = e.svc.Reply(e.ctx, r.ID)
	wantErr(t, err, staff.ENOTFOUND, staff.KeyReplyNotFound, "")

	// The seed is a first-start default: once deleted, they stay deleted.
	for _, x := range rs {
		if err := e.svc.DeleteReply(e.ctx, x.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Seed(e.ctx); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.svc.Replies(e.ctx); len(left) != 0 {
		t.Errorf("seed wrote again: %d replies", len(left))
	}
}

func TestModerationHistory(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	rec := func(target string, a staff.ModAction, detail string) {
		t.Helper()
		if err := e.svc.Log(e.ctx, staff.ModEntry{Target: target, Staff: "anna", Action: a, Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
	rec("thread:1", staff.ModLock, "")
	rec("thread:12", staff.ModPin, "")
	e.clock.Add(time.Hour)
	rec("thread:1", staff.ModMove, "to section  hiv")
	rec("post:1:3", staff.ModHide, "")
	rec("thread:1", staff.ModUnlock, "")

	h, err := e.svc.History(e.ctx, "thread:1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range h {
		got = append(got, string(x.Action)+"|"+x.Detail)
	}
	if want := []string{"unlock|", "move|to section hiv", "lock|"}; !slices.Equal(got, want) {
		t.Errorf("history = %v, want newest first %v", got, want)
	}
	if h[0].Staff != "anna" || h[0].Hour != staff.HourOf(e.clock.Now()) || h[2].Hour != h[0].Hour-1 {
		t.Errorf("entries = %+v", h)
	}
	if h, _ := e.svc.History(e.ctx, "thread:12"); len(h) != 1 {
		t.Errorf("thread:12 sees %d entries, want its own 1", len(h))
	}
	if h, _ := e.svc.History(e.ctx, "thread:2"); len(h) != 0 {
		t.Errorf("empty history = %+v", h)
	}

	err = e.svc.Log(e.ctx, staff.ModEntry{Target: "thread/1", Staff: "Anna", Action: "nuke", Detail: strings.Repeat("x", staff.ModDetailMax+1)})
	if fe := staff.FieldErrors(err); len(fe) != 4 {
		t.Errorf("bad entry: %v", err)
	}
	for _, bad := range []string{"", "thread", "thread:", ":1", "thread:1/", "Thread:1", strings.Repeat("a", 70) + ":1"} {
		_, err := e.svc.History(e.ctx, bad)
		wantErr(t, err, staff.EINVALID, staff.KeyModTarget, "target")
	}
}

func TestMessageKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range staff.MessageKeys() {
		if !strings.HasPrefix(k, "staff.err.") || seen[k] {
			t.Errorf("key %q: duplicate or outside staff.err.", k)
		}
		seen[k] = true
	}
}

func TestEndedContextIsBusy(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.svc.AddAccount(ctx, staff.NewAccount{Name: "anna", DisplayName: "Анна", Role: staff.RoleAdmin, Password: goodPassword})
	wantErr(t, err, staff.EUNAVAILABLE, staff.KeyBusy, "")
	_, _, err = e.svc.Login(ctx, "anna", goodPassword)
	wantErr(t, err, staff.EUNAVAILABLE, staff.KeyBusy, "")
}

package site

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/fund"
	"tropa/staff"
)

// Staff edit the services data: the mobile units' stops (the schedule),
// the doctors and the contacts. Each tab is a list and a form on one page,
// like saved replies: ?edit=ID fills the form with an entry, an empty form
// adds one. The fund package normalizes and validates (its field names are
// the form's), the services pages see the repository's new version and
// render again on their next request. Each save and delete goes to the
// moderation history under "stop:ID", "doctor:ID" or "contact:ID".

func init() {
	kinds = append(kinds, "staff_fund")
}

func (s *Site) registerStaffFund(g *echo.Group) {
	if s.opts.Fund == nil {
		return
	}
	get := []string{http.MethodGet, http.MethodHead}
	limit := middleware.BodyLimit(maxFormBody)
	for _, tab := range []string{"schedule", "doctors", "contacts"} {
		g.Match(get, "/"+tab, s.staffFundPage)
		g.POST("/"+tab, s.staffFundSave, limit)
	}
}

type staffFundData struct {
	staffLayout
	Tab     string
	Tabs    []navItem
	Entries []fundEntry
	Form    fundForm
	CanEdit bool
}

type fundEntry struct {
	ID, Title, Detail, EditURL, HistoryURL string
	Example                                bool
}

// fundForm is an entry's form as the template draws it: fields in order.
type fundForm struct {
	Action  string
	ID      fund.ID
	Heading string
	Fields  []formField
}

// formField is one field of a generic form. Kind is "text", "textarea",
// "time", "number", "select", "checks" (Options as checkboxes) or "slots".
type formField struct {
	Name, ID, Label, Value, Error, Help string
	Kind                                string
	Max                                 int
	Required                            bool
	Options                             []check
	Slots                               []slotRow
}

type check struct {
	Value, Label, ID string
	Checked          bool
}

type slotRow struct {
	N                       int    // 1-based, for the legend
	Prefix, IDPrefix        string // "hours.0.", "f-hours-0-"
	Days                    []check
	From, To                string
	ErrDays, ErrFrom, ErrTo string
}

func tabOf(c echo.Context) string {
	p := c.Path()
	return p[strings.LastIndexByte(p, '/')+1:]
}

func (s *Site) staffFundPage(c echo.Context) error {
	return s.renderFund(c, http.StatusOK, nil, nil)
}

// renderFund draws a tab; with values (a refused form) the form shows them
// with errs, else it shows ?edit=ID or an empty entry.
func (s *Site) renderFund(c echo.Context, status int, values url.Values, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	ctx := c.Request().Context()
	tab := tabOf(c)
	d := staffFundData{staffLayout: s.staffFrame(c, "/"+tab, s.cat.T(lang, "staff.fund."+tab+".title")), Tab: tab}
	if errs != nil {
		d.Errors = errs
	}
	d.CanEdit = canEdit(d.Me)
	if tab != "schedule" {
		d.CanEdit = canDirectory(d.Me)
	}
	base := "/" + lang + "/staff/"
	for _, t := range []string{"schedule", "doctors", "contacts"} {
		d.Tabs = append(d.Tabs, navItem{URL: base + t, Label: s.cat.T(lang, "staff.fund."+t+".tab"), Current: t == tab})
	}
	data, err := s.opts.Fund.Load(ctx)
	if err != nil {
		return err
	}
	v := views{s: s, lang: lang}
	hist := func(kind string, id fund.ID) string {
		if !d.Admin {
			return ""
		}
		return base + "history?target=" + kind + ":" + strconv.FormatUint(uint64(id), 10)
	}
	editID, _ := strconv.ParseUint(c.QueryParam("edit"), 10, 64)
	if values == nil {
		values = url.Values{}
	}
	refused := len(errs) > 0
	switch tab {
	case "schedule":
		var cur *fund.Stop
		for i, x := range data.Stops {
			sv := v.stop(x)
			d.Entries = append(d.Entries, fundEntry{ID: idStr(x.ID), Title: sv.Name,
				Detail: v.days(x.Days) + " " + x.From + "–" + x.To + " · " + sv.Address, Example: x.Example,
				EditURL: base + tab + "?edit=" + idStr(x.ID), HistoryURL: hist("stop", x.ID)})
			if uint64(x.ID) == editID {
				cur = &data.Stops[i]
			}
		}
		if !refused {
			values = stopValues(cur)
		}
		d.Form = s.stopForm(lang, values, d.Errors)
	case "doctors":
		var cur *fund.Doctor
		for i, x := range data.Doctors {
			d.Entries = append(d.Entries, fundEntry{ID: idStr(x.ID), Title: x.Name.In(lang),
				Detail: x.Specialty.In(lang) + " · " + x.Where.In(lang), Example: x.Example,
				EditURL: base + tab + "?edit=" + idStr(x.ID), HistoryURL: hist("doctor", x.ID)})
			if uint64(x.ID) == editID {
				cur = &data.Doctors[i]
			}
		}
		if !refused {
			values = doctorValues(cur)
		}
		d.Form = s.doctorForm(lang, values, d.Errors)
	case "contacts":
		var cur *fund.Contact
		for i, x := range data.Contacts {
			d.Entries = append(d.Entries, fundEntry{ID: idStr(x.ID), Title: x.Label.In(lang),
				Detail: s.cat.T(lang, "fund.kind."+string(x.Kind)) + " · " + x.Value.In(lang), Example: x.Example,
				EditURL: base + tab + "?edit=" + idStr(x.ID), HistoryURL: hist("contact", x.ID)})
			if uint64(x.ID) == editID {
				cur = &data.Contacts[i]
			}
		}
		if !refused {
			values = contactValues(cur)
		}
		d.Form = s.contactForm(lang, values, d.Errors)
	}
	d.Form.Action = base + tab
	if id, _ := strconv.ParseUint(values.Get("id"), 10, 64); id != 0 {
		d.Form.ID = fund.ID(id)
		d.Form.Heading = s.cat.T(lang, "staff.fund.edit")
	} else {
		d.Form.Heading = s.cat.T(lang, "staff.fund."+tab+".new")
	}
	return s.renderForm(c, "staff_fund", status, d)
}

func idStr(id fund.ID) string { return strconv.FormatUint(uint64(id), 10) }

// staffFundSave saves or (with delete=1 and the confirmation box) deletes
// an entry of the tab.
func (s *Site) staffFundSave(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	tab := tabOf(c)
	me := staffOf(c)
	if tab == "schedule" && !canEdit(me) || tab != "schedule" && !canDirectory(me) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	id, _ := strconv.ParseUint(form.Get("id"), 10, 64)
	kind := map[string]string{"schedule": "stop", "doctors": "doctor", "contacts": "contact"}[tab]
	target := kind + ":" + strconv.FormatUint(id, 10)
	if form.Get("delete") != "" {
		if id == 0 {
			return echo.ErrNotFound
		}
		if form.Get("confirm") != "yes" {
			return s.renderFund(c, http.StatusUnprocessableEntity, form, map[string]string{"delete": s.cat.T(lang, "staff.err.confirm")})
		}
		switch tab {
		case "schedule":
			err = s.opts.Fund.DeleteStop(ctx, fund.ID(id))
		case "doctors":
			err = s.opts.Fund.DeleteDoctor(ctx, fund.ID(id))
		default:
			err = s.opts.Fund.DeleteContact(ctx, fund.ID(id))
		}
		if err != nil {
			if fund.ErrorCode(err) == fund.ENOTFOUND {
				return echo.ErrNotFound
			}
			return err
		}
		s.logMod(c, target, staff.ModDelete, "")
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/"+tab+"?done=1")
	}
	var newID fund.ID
	switch tab {
	case "schedule":
		x := stopFromForm(form)
		err = s.opts.Fund.SaveStop(ctx, &x)
		newID = x.ID
	case "doctors":
		x := doctorFromForm(form)
		err = s.opts.Fund.SaveDoctor(ctx, &x)
		newID = x.ID
	default:
		x := contactFromForm(form)
		err = s.opts.Fund.SaveContact(ctx, &x)
		newID = x.ID
	}
	if err != nil {
		switch fund.ErrorCode(err) {
		case fund.EINVALID:
			return s.renderFund(c, http.StatusUnprocessableEntity, form, s.fundErrors(lang, err))
		case fund.ENOTFOUND:
			return echo.ErrNotFound
		}
		return err
	}
	s.logMod(c, kind+":"+idStr(newID), staff.ModEdit, "")
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/"+tab+"?done=1")
}

// ---- form values ↔ entries ---------------------------------------------------

func l10nOf(f url.Values, name string) fund.L10n {
	return fund.L10n{RU: f.Get(name + ".ru"), EN: f.Get(name + ".en")}
}

func setL10n(v url.Values, name string, l fund.L10n) {
	v.Set(name+".ru", l.RU)
	v.Set(name+".en", l.EN)
}

func daysOf(vals []string) fund.Days {
	var d fund.Days
	for _, x := range vals {
		if n, err := strconv.Atoi(x); err == nil && n >= 0 && n < 7 {
			d |= fund.DaysOf(time.Weekday(n))
		}
	}
	return d
}

func setDays(v url.Values, name string, d fund.Days) {
	for _, w := range d.List() {
		v.Add(name, strconv.Itoa(int(w)))
	}
}

// slotsOf reads the time windows hours.<i>.{days,from,to}; a row left
// empty is no window.
func slotsOf(f url.Values) []fund.Slot {
	var out []fund.Slot
	for i := 0; i <= fund.MaxSlots; i++ {
		p := "hours." + strconv.Itoa(i) + "."
		s := fund.Slot{Days: daysOf(f[p+"days"]), From: f.Get(p + "from"), To: f.Get(p + "to")}
		if s.Days == 0 && strings.TrimSpace(s.From) == "" && strings.TrimSpace(s.To) == "" {
			continue
		}
		out = append(out, s)
	}
	return out
}

func setSlots(v url.Values, ss []fund.Slot) {
	for i, s := range ss {
		p := "hours." + strconv.Itoa(i) + "."
		setDays(v, p+"days", s.Days)
		v.Set(p+"from", s.From)
		v.Set(p+"to", s.To)
	}
}

func stopFromForm(f url.Values) fund.Stop {
	id, _ := strconv.ParseUint(f.Get("id"), 10, 64)
	x := fund.Stop{ID: fund.ID(id), Name: l10nOf(f, "name"), Address: l10nOf(f, "address"), Note: l10nOf(f, "note"),
		Slot: fund.Slot{Days: daysOf(f["days"]), From: f.Get("from"), To: f.Get("to")}}
	for _, name := range f["services"] {
		for _, sv := range fund.AllServices {
			if sv.Name() == name {
				x.Services |= sv
			}
		}
	}
	return x
}

func stopValues(x *fund.Stop) url.Values {
	v := url.Values{}
	if x == nil {
		return v
	}
	v.Set("id", idStr(x.ID))
	setL10n(v, "name", x.Name)
	setL10n(v, "address", x.Address)
	setL10n(v, "note", x.Note)
	setDays(v, "days", x.Days)
	v.Set("from", x.From)
	v.Set("to", x.To)
	for _, sv := range x.Services.List() {
		v.Add("services", sv.Name())
	}
	return v
}

func doctorFromForm(f url.Values) fund.Doctor {
	id, _ := strconv.ParseUint(f.Get("id"), 10, 64)
	order, _ := strconv.Atoi(strings.TrimSpace(f.Get("order")))
	return fund.Doctor{ID: fund.ID(id), Order: order, Name: l10nOf(f, "name"), Specialty: l10nOf(f, "specialty"),
		Where: l10nOf(f, "where"), Hours: slotsOf(f), Booking: l10nOf(f, "booking"), Note: l10nOf(f, "note")}
}

func doctorValues(x *fund.Doctor) url.Values {
	v := url.Values{}
	if x == nil {
		return v
	}
	v.Set("id", idStr(x.ID))
	v.Set("order", strconv.Itoa(x.Order))
	setL10n(v, "name", x.Name)
	setL10n(v, "specialty", x.Specialty)
	setL10n(v, "where", x.Where)
	setSlots(v, x.Hours)
	setL10n(v, "booking", x.Booking)
	setL10n(v, "note", x.Note)
	return v
}

func contactFromForm(f url.Values) fund.Contact {
	id, _ := strconv.ParseUint(f.Get("id"), 10, 64)
	order, _ := strconv.Atoi(strings.TrimSpace(f.Get("order")))
	return fund.Contact{ID: fund.ID(id), Order: order, Kind: fund.Kind(f.Get("kind")), Label: l10nOf(f, "label"),
		Value: l10nOf(f, "value"), Hours: slotsOf(f), Note: l10nOf(f, "note")}
}

func contactValues(x *fund.Contact) url.Values {
	v := url.Values{}
	if x == nil {
		return v
	}
	v.Set("id", idStr(x.ID))
	v.Set("order", strconv.Itoa(x.Order))
	v.Set("kind", string(x.Kind))
	setL10n(v, "label", x.Label)
	setL10n(v, "value", x.Value)
	setSlots(v, x.Hours)
	setL10n(v, "note", x.Note)
	return v
}

// ---- the forms' fields --------------------------------------------------------

// fieldsBuilder lays out a form's fields with their values and errors.
type fieldsBuilder struct {
	s      *Site
	lang   string
	v      url.Values
	errs   map[string]string
	fields []formField
}

func (b *fieldsBuilder) t(key string) string { return b.s.cat.T(b.lang, key) }

func (b *fieldsBuilder) add(f formField) {
	f.ID = "f-" + strings.ReplaceAll(f.Name, ".", "-")
	if f.Kind != "checks" && f.Kind != "slots" {
		f.Value = b.v.Get(f.Name)
	}
	f.Error = b.errs[f.Name]
	b.fields = append(b.fields, f)
}

// l10n adds the Russian and English fields of a text.
func (b *fieldsBuilder) l10n(name, label string, kind string, max int, required bool) {
	b.add(formField{Name: name + ".ru", Label: b.t(label) + " " + b.t("staff.fund.in_ru"), Kind: kind, Max: max, Required: required})
	b.add(formField{Name: name + ".en", Label: b.t(label) + " " + b.t("staff.fund.in_en"), Kind: kind, Max: max,
		Help: b.t("staff.fund.en_help")})
}

func (b *fieldsBuilder) dayChecks(name string) []check {
	var out []check
	chosen := daysOf(b.v[name])
	for _, w := range fund.Week {
		val := strconv.Itoa(int(w))
		out = append(out, check{Value: val, Label: upperFirst(b.t("fund.weekday." + val)),
			ID: "f-" + strings.ReplaceAll(name, ".", "-") + "-" + val, Checked: chosen.Has(w)})
	}
	return out
}

func (b *fieldsBuilder) slots() {
	f := formField{Name: "hours", Label: b.t("staff.fund.hours"), Kind: "slots", Help: b.t("staff.fund.hours_help")}
	rows := len(slotsOf(b.v)) + 1
	if len(b.errs) > 0 {
		rows = 0 // a refused form keeps its rows where they were
		for i := 0; i <= fund.MaxSlots; i++ {
			p := "hours." + strconv.Itoa(i) + "."
			if b.v.Has(p+"from") || b.v.Has(p+"to") || b.v.Has(p+"days") {
				rows = i + 1
			}
		}
		rows++
	}
	rows = min(rows, fund.MaxSlots)
	for i := 0; i < rows; i++ {
		p := "hours." + strconv.Itoa(i) + "."
		f.Slots = append(f.Slots, slotRow{N: i + 1, Prefix: p, IDPrefix: "f-hours-" + strconv.Itoa(i) + "-", Days: b.dayChecks(p + "days"), From: b.v.Get(p + "from"),
			To: b.v.Get(p + "to"), ErrDays: b.errs[p+"days"], ErrFrom: b.errs[p+"from"], ErrTo: b.errs[p+"to"]})
	}
	f.Error = b.errs["hours"]
	f.ID = "f-hours"
	b.fields = append(b.fields, f)
}

func (s *Site) stopForm(lang string, v url.Values, errs map[string]string) fundForm {
	b := &fieldsBuilder{s: s, lang: lang, v: v, errs: errs}
	b.l10n("name", "staff.fund.stop.name", "text", fund.MaxName, true)
	b.l10n("address", "fund.field.address", "text", fund.MaxAddress, true)
	b.add(formField{Name: "days", Label: b.t("staff.fund.days"), Kind: "checks", Options: b.dayChecks("days")})
	b.add(formField{Name: "from", Label: b.t("staff.fund.from"), Kind: "time", Required: true})
	b.add(formField{Name: "to", Label: b.t("staff.fund.to"), Kind: "time", Required: true})
	var svc []check
	for _, x := range fund.AllServices {
		svc = append(svc, check{Value: x.Name(), Label: b.t("fund.service." + x.Name()), ID: "f-services-" + x.Name(),
			Checked: containsString(v["services"], x.Name())})
	}
	b.add(formField{Name: "services", Label: b.t("fund.field.services"), Kind: "checks", Options: svc})
	b.l10n("note", "staff.fund.stop.note", "text", fund.MaxNote, false)
	return fundForm{Fields: b.fields}
}

func (s *Site) doctorForm(lang string, v url.Values, errs map[string]string) fundForm {
	b := &fieldsBuilder{s: s, lang: lang, v: v, errs: errs}
	b.l10n("name", "staff.fund.doctor.name", "text", fund.MaxName, true)
	b.l10n("specialty", "fund.field.specialty", "text", fund.MaxName, true)
	b.l10n("where", "fund.field.where", "text", fund.MaxAddress, true)
	b.slots()
	b.l10n("booking", "fund.field.booking", "text", fund.MaxNote, true)
	b.l10n("note", "fund.field.note", "text", fund.MaxNote, false)
	b.add(formField{Name: "order", Label: b.t("staff.fund.order"), Kind: "number", Help: b.t("staff.fund.order_help")})
	return fundForm{Fields: b.fields}
}

func (s *Site) contactForm(lang string, v url.Values, errs map[string]string) fundForm {
	b := &fieldsBuilder{s: s, lang: lang, v: v, errs: errs}
	var kinds []check
	for _, k := range fund.Kinds {
		kinds = append(kinds, check{Value: string(k), Label: b.t("fund.kind." + string(k)), Checked: v.Get("kind") == string(k)})
	}
	b.add(formField{Name: "kind", Label: b.t("fund.field.kind"), Kind: "select", Options: kinds})
	b.l10n("label", "staff.fund.contact.label", "text", fund.MaxName, true)
	b.l10n("value", "fund.field.value", "text", fund.MaxValue, true)
	b.slots()
	b.l10n("note", "fund.field.note", "text", fund.MaxNote, false)
	b.add(formField{Name: "order", Label: b.t("staff.fund.order"), Kind: "number", Help: b.t("staff.fund.order_help")})
	return fundForm{Fields: b.fields}
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

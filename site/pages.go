package site

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync/atomic"
)

//go:embed templates/*.html
var templatesFS embed.FS

// kinds of page; each is layout.html and partials.html plus <kind>.html.
var kinds = []string{"page", "home", "error"}

func (s *Site) parseTemplates() error {
	s.tmpl = map[string]map[string]*template.Template{}
	for _, lang := range Languages {
		s.tmpl[lang] = map[string]*template.Template{}
		funcs := template.FuncMap{
			"t":   func(key string) string { return s.cat.T(lang, key) },
			"n":   func(key string, n int) string { return s.cat.N(lang, key, n) },
			"css": func() template.CSS { return template.CSS(styleCSS) },
		}
		for _, k := range kinds {
			t, err := template.New(k).Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/partials.html", "templates/"+k+".html")
			if err != nil {
				return fmt.Errorf("site: templates %s: %w", k, err)
			}
			s.tmpl[lang][k] = t
		}
	}
	return nil
}

// layout is what every page's frame shows.
type layout struct {
	Lang        string
	OtherLang   string
	OtherURL    string
	Title       string
	Description string
	Nav         []navItem
}

type navItem struct {
	URL     string
	Label   string
	Current bool
}

// navSlugs are the info pages in the main navigation, in order.
var navSlugs = []string{"overdose", "services", "hiv", "hepatitis", "injecting", "harm-reduction"}

// urlOf maps a content slug to its path: "services-schedule" lives at
// /<lang>/services/schedule.
func urlOf(lang, slug string) string {
	switch slug {
	case "home":
		return "/" + lang + "/"
	case "services-schedule", "services-doctors", "services-contact":
		return "/" + lang + "/services/" + slug[len("services-"):]
	}
	return "/" + lang + "/" + slug
}

func (s *Site) frame(lang, slug, title, description string) layout {
	l := layout{Lang: lang, OtherLang: otherLang(lang), OtherURL: urlOf(otherLang(lang), slug), Title: title, Description: description}
	for _, n := range navSlugs {
		p := s.page(lang, n)
		if p == nil {
			continue
		}
		label := p.Nav
		if label == "" {
			label = p.Title
		}
		l.Nav = append(l.Nav, navItem{URL: urlOf(lang, n), Label: label, Current: n == slug})
	}
	if s.opts.News != nil {
		l.Nav = append(l.Nav, navItem{URL: "/" + lang + "/news", Label: s.cat.T(lang, "nav.news"), Current: slug == "news"})
	}
	if s.opts.Forum != nil {
		l.Nav = append(l.Nav, navItem{URL: "/" + lang + "/board", Label: s.cat.T(lang, "nav.board"), Current: slug == "board"})
	}
	return l
}

type infoData struct {
	layout
	Page *infoPage
}

type homeData struct {
	layout
	Body  template.HTML
	Cards []card
	News  []newsView // the latest posts, when there is news
}

type card struct{ URL, Label, Text string }

type errorData struct {
	layout
	Message string
}

// renderStatic renders the info pages and error pages of every language.
func (s *Site) renderStatic() error {
	if err := s.renderInfoPages(); err != nil {
		return err
	}
	for _, lang := range Languages {
		for _, status := range []int{403, 404, 405, 413, 429, 500, 503} {
			key := "error." + strconv.Itoa(status)
			d := errorData{layout: s.frame(lang, "home", s.cat.T(lang, key+".title"), ""), Message: s.cat.T(lang, key+".text")}
			c, err := s.render(lang, "error", status, d)
			if err != nil {
				return err
			}
			s.errors[lang+"/"+strconv.Itoa(status)] = c
		}
	}
	return nil
}

// renderInfoPages renders the info pages, the home page included, of every
// language into s.pages: at start, and again when staff edit a page (see
// staff_pages.go). The paths are all made at start; later renders only swap
// a page's bytes.
func (s *Site) renderInfoPages() error {
	for _, lang := range Languages {
		for slug := range s.content[lang] {
			c, err := s.renderInfo(lang, slug)
			if err != nil {
				return err
			}
			s.setPage(urlOf(lang, slug), c)
		}
	}
	return nil
}

// renderInfo renders one info page as it is now.
func (s *Site) renderInfo(lang, slug string) (*cached, error) {
	p := s.page(lang, slug)
	if slug != "home" {
		return s.render(lang, "page", http.StatusOK, infoData{layout: s.frame(lang, slug, p.Title, p.Description), Page: p})
	}
	d := homeData{layout: s.frame(lang, slug, "", p.Description), Body: p.Body, News: s.homeNews(lang)}
	d.Title = p.Title
	for _, n := range navSlugs {
		if q := s.page(lang, n); q != nil {
			d.Cards = append(d.Cards, card{URL: urlOf(lang, n), Label: q.Title, Text: q.Description})
		}
	}
	return s.render(lang, "home", http.StatusOK, d)
}

// setPage stores the page at path: a new path at start, new bytes after.
func (s *Site) setPage(path string, c *cached) {
	if p := s.pages[path]; p != nil {
		p.Store(c)
		return
	}
	p := new(atomic.Pointer[cached])
	p.Store(c)
	s.pages[path] = p
}

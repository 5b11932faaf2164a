// Package site is the portal's HTTP surface: the echo app, its templates,
// stylesheet, info pages and interface strings. It is the only importer of
// echo.
//
// Pages are rendered once (at start, or when what they show changes) into
// cached bytes, plain and gzip'd; a request only picks the cached bytes.
// Nothing about a request is ever written anywhere: echo's logger, banner
// and request logging are off, and the http.Server's error log is discarded.
package site

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"tropa/forum"
	"tropa/fund"
	"tropa/internal/circuit"
	"tropa/metrics"
	"tropa/staff"
)

//go:embed static/style.css
var styleCSS string

// Options configure the site. Each feature adds what it needs here.
type Options struct {
	// Now is the clock (tests set it); nil means time.Now.
	Now func() time.Time
	// Limits are the per-circuit rate limits (zero value: DefaultLimits).
	Limits Limits
	// Forum is the Q&A board; nil serves no board.
	Forum *forum.Service
	// Staff is the staff accounts service; with Forum it enables the staff
	// interface (StaffHandler).
	Staff *staff.Service
	// Health reports tor's health for the staff health page (nil: none).
	Health func() HealthView
	// NoCaptcha turns the captcha off (e.g. when tor's PoW defense is
	// enough); the per-circuit limits still apply.
	NoCaptcha bool
	// CloseCircuit closes a Tor circuit that keeps pushing past its limits
	// (nil: never closed).
	CloseCircuit func(circuit.Key) error
	// Fund is the fund's service data (stops, doctors, contacts) shown on
	// the services sub-pages; nil leaves those pages Markdown-only.
	Fund fund.Repository
	// Pages keeps staff's edits of the info pages (nil: the shipped text,
	// not editable).
	Pages *fund.PageEditor
	// News is the fund's news: pages, Atom feeds, the latest on the home
	// page (nil: none).
	News *fund.NewsDesk
	// Bookings takes anonymous test bookings from the schedule page (nil,
	// or no Fund: none).
	Bookings *fund.Bookings
	// Metrics counts page views, questions, answers and bookings per day
	// (nil: nothing is counted).
	Metrics *metrics.Recorder
}

// Site is the portal's HTTP application.
type Site struct {
	opts    Options
	limits  *limiter
	forms   *formState
	board   *boardCache
	e       *echo.Echo
	cat     *catalogue
	content map[string]map[string]*infoPage
	tmpl    map[string]map[string]*template.Template // lang → kind → template
	csp     string
	pages   map[string]*atomic.Pointer[cached] // path → page (staff edits swap them)
	hdrs    []headerValue                      // the headers every response carries
	errors  map[string]*cached                 // lang/status → error page
	live    livePages                          // the info pages with staff's edits
	news    *newsCache
	book    *bookState
}

// cached is a page's final bytes, plain and gzip'd, with their
// Content-Length values made once.
type cached struct {
	status        int
	raw           []byte
	gz            []byte
	rawLen, gzLen []string
	typ           []string // Content-Type; nil: HTML
}

// headerValue is a header with its value slice built once. Assigning the
// shared slice to a response's header map costs no allocation per request
// (Header.Set allocates one each time); net/http copies the values when it
// writes the response, and Set or Add on the key replace the slice or
// reallocate it (len == cap), so a shared slice is never written to.
type headerValue struct {
	key string
	val []string
}

func fixedHeader(key, val string) headerValue {
	return headerValue{http.CanonicalHeaderKey(key), []string{val}[:1:1]}
}

var (
	htmlType     = fixedHeader("Content-Type", "text/html; charset=utf-8")
	varyEncoding = fixedHeader("Vary", "Accept-Encoding")
	gzipEncoding = fixedHeader("Content-Encoding", "gzip")
)

// New builds the site and renders every static page.
func New(o Options) (*Site, error) {
	cat, err := loadCatalogue()
	if err != nil {
		return nil, err
	}
	content, err := loadContent()
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	sum := sha256.Sum256([]byte(styleCSS))
	s := &Site{
		opts:    o,
		limits:  newLimiter(o.Limits, o.CloseCircuit),
		forms:   newFormState(),
		cat:     cat,
		content: content,
		pages:   map[string]*atomic.Pointer[cached]{},
		errors:  map[string]*cached{},
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"img-src 'self' data:; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}
	for _, kv := range [][2]string{
		{"Content-Security-Policy", s.csp},
		{"Referrer-Policy", "no-referrer"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Cross-Origin-Resource-Policy", "same-origin"},
		{"Cache-Control", "no-store"},
	} {
		s.hdrs = append(s.hdrs, fixedHeader(kv[0], kv[1]))
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	if err := s.loadPageEdits(context.Background()); err != nil {
		return nil, err
	}
	if err := s.renderStatic(); err != nil {
		return nil, err
	}
	s.e = s.newEcho()
	return s, nil
}

// testHooks add routes in test builds only (see testhook_tropatest.go).
var testHooks []func(*Site, *echo.Echo)

// Handler is the site's http.Handler.
func (s *Site) Handler() http.Handler { return s.e }

// NewServer wraps a handler in an http.Server with timeouts against slow
// clients and no error log (it would print client addresses).
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext:       circuit.ConnContext,
	}
}

func (s *Site) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.StdLogger = log.New(io.Discard, "", 0)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.headers, s.rateLimit, s.countViews)
	get := []string{http.MethodGet, http.MethodHead}
	e.Match(get, "/", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, "/"+Languages[0]+"/")
	})
	for _, lang := range Languages {
		e.Match(get, "/"+lang, func(c echo.Context) error {
			return c.Redirect(http.StatusMovedPermanently, c.Path()+"/")
		})
	}
	for path := range s.pages {
		e.Match(get, path, s.serveCached)
	}
	// Each feature registers its routes from its own file.
	s.registerServices(e)
	s.registerBoard(e)
	s.registerNews(e)
	s.registerBooking(e)
	for _, h := range testHooks {
		h(s, e)
	}
	return e
}

// headers sets the headers every response carries.
func (s *Site) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		for _, hv := range s.hdrs {
			h[hv.key] = hv.val
		}
		return next(c)
	}
}

func (s *Site) serveCached(c echo.Context) error {
	p := s.pages[c.Path()]
	if p == nil {
		return echo.ErrNotFound
	}
	return writeCached(c, p.Load())
}

// writeCached sends a cached page, gzip'd when the client accepts it.
func writeCached(c echo.Context, p *cached) error {
	w := c.Response()
	h := w.Header()
	h[htmlType.key] = htmlType.val
	if p.typ != nil {
		h[htmlType.key] = p.typ
	}
	h[varyEncoding.key] = varyEncoding.val
	body, length := p.raw, p.rawLen
	if p.gz != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		body, length = p.gz, p.gzLen
		h[gzipEncoding.key] = gzipEncoding.val
	}
	if length == nil {
		length = []string{strconv.Itoa(len(body))}
	}
	h["Content-Length"] = length
	w.WriteHeader(p.status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

func acceptsGzip(ae string) bool {
	for ae != "" {
		var part string
		part, ae, _ = strings.Cut(ae, ",")
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q = strings.TrimSpace(q)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
}

// handleError turns every error into a localised page. Internal details are
// never shown (nor written anywhere).
func (s *Site) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
	}
	// A write the store refused for lack of disk space (wrapped by the
	// forum and the handlers as an internal error) is "cannot save now":
	// nothing was saved, reading still works.
	diskFull := isDiskFull(err)
	if diskFull {
		status = http.StatusServiceUnavailable
	}
	switch status {
	case http.StatusServiceUnavailable:
		if !diskFull {
			status = http.StatusInternalServerError
		}
	case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
	default:
		if status < 500 {
			status = http.StatusNotFound
		} else {
			status = http.StatusInternalServerError
		}
	}
	lang := langOf(c.Request().URL.Path)
	p := s.errors[lang+"/"+strconv.Itoa(status)]
	if status == http.StatusMethodNotAllowed {
		c.Response().Header().Set("Allow", "GET, HEAD, POST")
	}
	_ = writeCached(c, p)
}

// langOf returns the language of a path, the default one if none.
func langOf(path string) string {
	for _, l := range Languages {
		if path == "/"+l || strings.HasPrefix(path, "/"+l+"/") {
			return l
		}
	}
	return Languages[0]
}

func otherLang(lang string) string {
	if lang == "ru" {
		return "en"
	}
	return "ru"
}

// render executes a template of kind into a finished, compressed page.
func (s *Site) render(lang, kind string, status int, data any) (*cached, error) {
	t := s.tmpl[lang][kind]
	if t == nil {
		return nil, fmt.Errorf("site: no template %s", kind)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("site: render %s/%s: %w", lang, kind, err)
	}
	return compress(status, buf.Bytes()), nil
}

func compress(status int, raw []byte) *cached {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	return &cached{status: status, raw: raw, gz: gz.Bytes(),
		rawLen: fixedHeader("Content-Length", strconv.Itoa(len(raw))).val,
		gzLen:  fixedHeader("Content-Length", strconv.Itoa(gz.Len())).val}
}

// isDiskFull reports whether err is a write the store refused for lack of
// disk space: nothing was saved, and trying again later will work.
func isDiskFull(err error) bool {
	var df interface{ DiskFull() bool }
	return errors.As(err, &df) && df.DiskFull()
}

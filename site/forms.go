package site

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dchest/captcha"
	"github.com/labstack/echo/v4"
)

// Visitors have no accounts. A form visitor gets a random session cookie
// (HttpOnly, SameSite=Strict, gone when the browser closes) that binds the
// CSRF token of every form and carries a small posting budget once a
// captcha is solved. Sessions and captchas live in memory only, with
// expiry; nothing of them is ever written anywhere.
const (
	sessionCookie  = "tropa_s"
	captchaDigits  = 6
	captchaTTL     = 5 * time.Minute
	budgetPosts    = 5         // writes allowed per solved captcha
	budgetTTL      = time.Hour // and for how long
	sessionIdle    = 2 * time.Hour
	maxFormEntries = 100000 // bound on sessions and captchas in memory
)

type formState struct {
	csrfKey []byte

	mu       sync.Mutex
	sessions map[string]*visitor
	captchas map[string]*challenge
	swept    time.Time
}

type visitor struct {
	budget int
	until  time.Time
	seen   time.Time
}

type challenge struct {
	digits  []byte
	session string
	expires time.Time
}

func newFormState() *formState {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return &formState{csrfKey: k, sessions: map[string]*visitor{}, captchas: map[string]*challenge{}}
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the visitor's session ID, setting the cookie when there
// is none yet.
func (s *Site) session(c echo.Context) string {
	if id, ok := c.Get(sessionCookie).(string); ok {
		return id // already looked up (or created) for this request
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && validSessionID(ck.Value) {
		s.forms.touch(ck.Value, time.Now())
		c.Set(sessionCookie, ck.Value)
		return ck.Value
	}
	id := randomID(18)
	c.Set(sessionCookie, id)
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	s.forms.touch(id, time.Now())
	return id
}

func validSessionID(v string) bool {
	if len(v) != 24 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

func (f *formState) touch(id string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	v := f.sessions[id]
	if v == nil {
		v = &visitor{}
		f.sessions[id] = v
	}
	v.seen = now
}

// sweep forgets idle sessions and expired captchas; called with f.mu held.
func (f *formState) sweep(now time.Time) {
	if now.Sub(f.swept) < time.Minute && len(f.sessions) < maxFormEntries && len(f.captchas) < maxFormEntries {
		return
	}
	f.swept = now
	for id, v := range f.sessions {
		if now.Sub(v.seen) > sessionIdle || len(f.sessions) >= maxFormEntries {
			delete(f.sessions, id)
		}
	}
	for id, ch := range f.captchas {
		if now.After(ch.expires) || len(f.captchas) >= maxFormEntries {
			delete(f.captchas, id)
		}
	}
}

// csrfToken binds a form to the visitor's session.
func (f *formState) csrfToken(session string) string {
	m := hmac.New(sha256.New, f.csrfKey)
	m.Write([]byte("csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// checkCSRF reports whether a POST carries the session cookie and the
// matching token.
func (s *Site) checkCSRF(c echo.Context) (string, bool) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || !validSessionID(ck.Value) {
		return "", false
	}
	want := s.forms.csrfToken(ck.Value)
	got := c.FormValue("csrf")
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return ck.Value, false
	}
	s.forms.touch(ck.Value, time.Now())
	return ck.Value, true
}

// captchaView is what a form shows of a captcha.
type captchaView struct {
	ID       string
	ImageURI template.URL // data: URI, so the form is one request
	AudioURL string
}

// needCaptcha reports whether the session must solve a captcha before it
// may write (captchas on, and no budget left from an earlier one).
func (s *Site) needCaptcha(session string) bool {
	if s.opts.NoCaptcha {
		return false
	}
	s.forms.mu.Lock()
	defer s.forms.mu.Unlock()
	v := s.forms.sessions[session]
	return v == nil || v.budget <= 0 || time.Now().After(v.until)
}

// newCaptcha creates a challenge for the session, valid once for a few
// minutes.
func (s *Site) newCaptcha(session, lang string) *captchaView {
	digits := captcha.RandomDigits(captchaDigits)
	id := randomID(12)
	now := time.Now()
	s.forms.mu.Lock()
	s.forms.sweep(now)
	s.forms.captchas[id] = &challenge{digits: digits, session: session, expires: now.Add(captchaTTL)}
	s.forms.mu.Unlock()
	var png bytes.Buffer
	captcha.NewImage(id, digits, captcha.StdWidth, captcha.StdHeight).WriteTo(&png)
	return &captchaView{
		ID: id,
		// A PNG we made ourselves: safe as a data: URI.
		ImageURI: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png.Bytes())),
		AudioURL: "/" + lang + "/captcha/" + id + ".wav",
	}
}

// solveCaptcha checks an answer. A challenge is used up by any attempt;
// a right answer gives the session a posting budget.
func (s *Site) solveCaptcha(session, id, answer string) bool {
	s.forms.mu.Lock()
	defer s.forms.mu.Unlock()
	ch := s.forms.captchas[id]
	delete(s.forms.captchas, id)
	if ch == nil || ch.session != session || time.Now().After(ch.expires) {
		return false
	}
	answer = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0'
		}
		return -1
	}, answer)
	if subtle.ConstantTimeCompare([]byte(answer), ch.digits) != 1 {
		return false
	}
	v := s.forms.sessions[session]
	if v == nil {
		v = &visitor{}
		s.forms.sessions[session] = v
	}
	v.budget, v.until, v.seen = budgetPosts, time.Now().Add(budgetTTL), time.Now()
	return true
}

// spend takes one write from the session's budget (always true with
// captchas off).
func (s *Site) spend(session string) bool {
	if s.opts.NoCaptcha {
		return true
	}
	s.forms.mu.Lock()
	defer s.forms.mu.Unlock()
	v := s.forms.sessions[session]
	if v == nil || v.budget <= 0 || time.Now().After(v.until) {
		return false
	}
	v.budget--
	return true
}

// captchaAudio serves the spoken digits of a live challenge.
func (s *Site) captchaAudio(c echo.Context) error {
	id := strings.TrimSuffix(c.Param("file"), ".wav")
	s.forms.mu.Lock()
	ch := s.forms.captchas[id]
	var digits []byte
	if ch != nil && time.Now().Before(ch.expires) {
		digits = append(digits, ch.digits...)
	}
	s.forms.mu.Unlock()
	if digits == nil {
		return echo.ErrNotFound
	}
	lang := langOf(c.Request().URL.Path)
	var buf bytes.Buffer
	captcha.NewAudio(id, digits, lang).WriteTo(&buf)
	c.Response().Header().Set("Content-Disposition", `inline; filename="captcha.wav"`)
	return c.Blob(http.StatusOK, "audio/wav", buf.Bytes())
}

// CaptchaAnswer returns the digits of a live challenge. It exists for the
// end-to-end tests, which cannot read the image; the site never calls it
// from a route.
func (s *Site) CaptchaAnswer(id string) (string, bool) {
	s.forms.mu.Lock()
	defer s.forms.mu.Unlock()
	ch := s.forms.captchas[id]
	if ch == nil {
		return "", false
	}
	b := make([]byte, len(ch.digits))
	for i, d := range ch.digits {
		b[i] = '0' + d
	}
	return string(b), true
}

package site

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"tropa/internal/circuit"
)

// Limits are the per-circuit rate limits. Behind tor every visitor comes
// from the same local address, so the key is the Tor circuit, with the tor
// it came through when several serve the onion (in memory only, forgotten
// when idle).
type Limits struct {
	// RequestsPerMinute and RequestBurst bound page requests per circuit.
	RequestsPerMinute, RequestBurst int
	// PostsPer10Min and PostBurst bound form submissions that write.
	PostsPer10Min, PostBurst int
	// CloseAfter is how many refused requests within a minute make tropa
	// close the circuit through tor's control port (0: never).
	CloseAfter int
}

// DefaultLimits suit people reading and asking; a browser loads one
// request per page here.
var DefaultLimits = Limits{RequestsPerMinute: 120, RequestBurst: 60, PostsPer10Min: 10, PostBurst: 5, CloseAfter: 30}

type limiter struct {
	cfg   Limits
	close func(circuit.Key) error

	mu   sync.Mutex
	circ map[circuit.Key]*circState
	last time.Time
}

type circState struct {
	req, post *rate.Limiter
	refused   int       // refusals since refusedAt
	refusedAt time.Time // start of the refusal window
	seen      time.Time
}

// maxTracked bounds the memory the limiter can use under a flood of
// circuits; past it, idle entries are swept and then the oldest dropped.
const maxTracked = 50000

func newLimiter(cfg Limits, closeFn func(circuit.Key) error) *limiter {
	return &limiter{cfg: cfg, close: closeFn, circ: map[circuit.Key]*circState{}}
}

func (l *limiter) state(id circuit.Key, now time.Time) *circState {
	cs := l.circ[id]
	if cs == nil {
		if len(l.circ) >= maxTracked || now.Sub(l.last) > time.Minute {
			l.sweep(now)
		}
		cs = &circState{
			req:  rate.NewLimiter(rate.Limit(float64(l.cfg.RequestsPerMinute)/60), l.cfg.RequestBurst),
			post: rate.NewLimiter(rate.Limit(float64(l.cfg.PostsPer10Min)/600), l.cfg.PostBurst),
		}
		l.circ[id] = cs
	}
	cs.seen = now
	return cs
}

func (l *limiter) sweep(now time.Time) {
	l.last = now
	for id, cs := range l.circ {
		if now.Sub(cs.seen) > 10*time.Minute {
			delete(l.circ, id)
		}
	}
	for id := range l.circ { // still full: drop arbitrary entries
		if len(l.circ) < maxTracked {
			break
		}
		delete(l.circ, id)
	}
}

// allow reports whether a request (or, with post, a write) on circuit id
// may go on, and closes a circuit that keeps pushing.
func (l *limiter) allow(id circuit.Key, post bool) bool {
	now := time.Now()
	l.mu.Lock()
	cs := l.state(id, now)
	ok := cs.req.AllowN(now, 1)
	if ok && post {
		ok = cs.post.AllowN(now, 1)
	}
	closeIt := false
	if !ok {
		if now.Sub(cs.refusedAt) > time.Minute {
			cs.refused, cs.refusedAt = 0, now
		}
		cs.refused++
		if l.cfg.CloseAfter > 0 && cs.refused >= l.cfg.CloseAfter {
			closeIt = true
			delete(l.circ, id)
		}
	}
	l.mu.Unlock()
	if closeIt && l.close != nil {
		_ = l.close(id)
	}
	return ok
}

// rateLimit refuses requests past the per-circuit limit with a 429 page.
// Requests that did not come through tor (the loopback preview) are not
// limited.
func (s *Site) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id, ok := circuit.ID(c.Request().Context()); ok && !s.limits.allow(id, false) {
			c.Response().Header().Set("Retry-After", "60")
			return echo.NewHTTPError(http.StatusTooManyRequests)
		}
		return next(c)
	}
}

// AllowPost reports whether the circuit of this request may write now (a
// question, a reply, a booking). Forms call it before doing any work.
func (s *Site) allowPost(c echo.Context) bool {
	id, ok := circuit.ID(c.Request().Context())
	return !ok || s.limits.allow(id, true)
}

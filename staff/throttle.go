package staff

import (
	"sync"
	"time"
)

// ThrottleOptions tune how failed logins slow down the next ones. The zero
// value is the production setting.
type ThrottleOptions struct {
	// Free is how many failures in a row cost nothing (zero: 3).
	Free int
	// Base is the wait after the first failure beyond Free; it doubles
	// with each further failure (zero: 1 s).
	Base time.Duration
	// Max caps the wait (zero: 60 s).
	Max time.Duration
	// Forget is how long after the last failure the count starts again
	// (zero: 15 min).
	Forget time.Duration
	// Names caps how many login names are tracked at once (zero: 4096), so
	// a flood of made-up names cannot grow memory without bound.
	Names int
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.Free <= 0 {
		o.Free = 3
	}
	if o.Base <= 0 {
		o.Base = time.Second
	}
	if o.Max <= 0 {
		o.Max = 60 * time.Second
	}
	if o.Forget <= 0 {
		o.Forget = 15 * time.Minute
	}
	if o.Names <= 0 {
		o.Names = 4096
	}
	return o
}

// throttle counts failed logins per name, in memory only: a restart
// forgets them, and nothing about them reaches the disk. Names that do not
// exist are counted like names that do, so the delays do not tell them
// apart.
type throttle struct {
	o   ThrottleOptions
	now Clock

	mu    sync.Mutex
	names map[string]*tries
}

type tries struct {
	fails    int
	last     time.Time // of the last failure
	inFlight bool      // a try past the free ones is being checked
}

func newThrottle(o ThrottleOptions, now Clock) *throttle {
	return &throttle{o: o.withDefaults(), now: now, names: map[string]*tries{}}
}

// wait is how long after the last failure the next try is taken.
func (t *throttle) wait(fails int) time.Duration {
	if fails < t.o.Free {
		return 0
	}
	d := t.o.Base
	for i := t.o.Free; i < fails && d < t.o.Max; i++ {
		d *= 2
	}
	return min(d, t.o.Max)
}

// begin asks to check a password for name. It returns zero when the try
// may go ahead (then end must follow), or how long to wait. Past the free
// tries, one try at a time is checked, so parallel guesses do not multiply
// the rate.
func (t *throttle) begin(name string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.names[name]
	if e == nil {
		return 0
	}
	if now.Sub(e.last) >= t.o.Forget {
		delete(t.names, name)
		return 0
	}
	if e.fails < t.o.Free {
		return 0
	}
	if e.inFlight {
		return max(t.wait(e.fails), time.Second)
	}
	if left := e.last.Add(t.wait(e.fails)).Sub(now); left > 0 {
		return left
	}
	e.inFlight = true
	return 0
}

// end records the outcome of a try begin allowed.
func (t *throttle) end(name string, ok bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.names[name]
	if ok {
		delete(t.names, name)
		return
	}
	if e == nil {
		if len(t.names) >= t.o.Names {
			t.evict(now)
		}
		e = &tries{}
		t.names[name] = e
	}
	e.inFlight = false
	e.fails++
	e.last = now
}

// evict makes room: forgotten names first, else the one idle longest.
// Called with mu held, only when the map is full.
func (t *throttle) evict(now time.Time) {
	var oldest string
	var at time.Time
	for n, e := range t.names {
		if now.Sub(e.last) >= t.o.Forget {
			delete(t.names, n)
			continue
		}
		if !e.inFlight && (oldest == "" || e.last.Before(at)) {
			oldest, at = n, e.last
		}
	}
	if len(t.names) >= t.o.Names && oldest != "" {
		delete(t.names, oldest)
	}
}

// abort ends a try begin allowed without an outcome (the password was not
// checked, e.g. the request ended while it waited for a hashing slot).
func (t *throttle) abort(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.names[name]; e != nil {
		e.inFlight = false
	}
}

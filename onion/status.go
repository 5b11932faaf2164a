package onion

import (
	"crypto/ed25519"
	"strings"
	"time"

	"github.com/cretz/bine/control"
)

// state is what the supervisor knows about tor, kept in memory only.
type state struct {
	progress int
	summary  string
	warned   bool
	restarts int
	// announcedAfter is the restart count when a republication was last
	// reported, so each restart is reported once.
	announcedAfter int
	uploads        map[string]*uploadState
	closedOn       string // day (YYYY-MM-DD) closedN counts for
	closedN        int
}

type uploadState struct {
	last     time.Time
	failures int
}

func (s *state) countClosed(now time.Time) {
	day := now.Format("2006-01-02")
	if s.closedOn != day {
		s.closedOn, s.closedN = day, 0
	}
	s.closedN++
}

// Status is tor's health as staff see it. It holds counts and states, never
// anything about a visitor.
type Status struct {
	Version      string
	Running      bool
	PID          int
	Bootstrap    int
	Summary      string
	Restarts     int
	ClosedToday  int // circuits closed for abuse today
	PoWAvailable bool
	Services     []ServiceStatus
	// Balance is set when several tors serve the public onion behind
	// Onionbalance: each instance and the frontend.
	Balance *BalanceStatus `json:",omitempty"`
}

// ServiceStatus is one onion service's state.
type ServiceStatus struct {
	Name           string
	Address        string
	LastUpload     time.Time // zero: not yet
	UploadFailures int
	IntroPoints    int // established introduction circuits
	HasDescriptor  bool
	PoW            bool
	PoWEffort      string // tor's suggested effort, "" when unknown
	Clients        int    // authorized clients of a client-auth service
	Withdrawn      bool   // a client-auth service without clients is not published
}

// Status queries the live tor; with Config.Balance, every tor and the
// Onionbalance frontend (Status.Balance).
func (o *Tor) Status() Status {
	if o.group != nil {
		return o.group.status()
	}
	return o.status()
}

func (o *Tor) status() Status {
	o.mu.Lock()
	s := Status{
		Version:      o.feat.version,
		Bootstrap:    o.st.progress,
		Summary:      o.st.summary,
		Restarts:     o.st.restarts,
		PoWAvailable: o.feat.pow(),
	}
	if o.st.closedOn == time.Now().Format("2006-01-02") {
		s.ClosedToday = o.st.closedN
	}
	uploads := map[string]uploadState{}
	for a, u := range o.st.uploads {
		uploads[a] = *u
	}
	o.mu.Unlock()
	s.PID = o.PID()
	services := o.serviceList()
	intros := map[string]int{}
	descs := map[string]bool{}
	err := o.control(func(c *control.Conn) error {
		kv, err := c.GetInfo("circuit-status")
		if err != nil {
			return err
		}
		for _, v := range kv {
			for _, line := range strings.Split(v.Val, "\n") {
				if !strings.Contains(line, " BUILT ") || !strings.Contains(line, "PURPOSE=HS_SERVICE_INTRO") {
					continue
				}
				for _, f := range strings.Fields(line) {
					if q, ok := strings.CutPrefix(f, "REND_QUERY="); ok {
						intros[q]++
					}
				}
			}
		}
		for _, sv := range services {
			addr := Address(sv.Key.Public().(ed25519.PublicKey))
			if _, err := c.GetInfo("hs/service/desc/id/" + addr); err == nil {
				descs[addr] = true
			}
		}
		return nil
	})
	s.Running = err == nil
	for _, sv := range services {
		addr := Address(sv.Key.Public().(ed25519.PublicKey))
		u := uploads[addr]
		s.Services = append(s.Services, ServiceStatus{
			Name: sv.Name, Address: addr, LastUpload: u.last, UploadFailures: u.failures,
			IntroPoints: intros[addr], HasDescriptor: descs[addr],
			PoW:     sv.Public && o.cfg.Defense.PoW && o.feat.pow(),
			Clients: len(sv.Clients), Withdrawn: !sv.published(),
		})
	}
	return s
}

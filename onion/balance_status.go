package onion

import (
	"time"
)

// BalanceStatus is the state of several tors behind Onionbalance: counts
// and states only, never anything about a visitor.
type BalanceStatus struct {
	Frontend  FrontendStatus
	Instances []InstanceStatus
	// RemoteConnections counts the connections that came from remote
	// instances (all of them together) since start.
	RemoteConnections int64
}

// FrontendStatus is the Onionbalance frontend: the public address.
type FrontendStatus struct {
	Address string
	// Running reports whether onionbalance runs; Waiting says why not.
	Running  bool
	Waiting  string
	PID      int
	Started  time.Time // this run of onionbalance
	Restarts int       // times it exited unexpectedly
	// LastUpload is the last upload of the frontend descriptor that an
	// HSDir accepted (seen on the first tor, which onionbalance posts
	// through); LastAttempt is onionbalance's own last publication
	// attempt. Zero: not yet.
	LastUpload  time.Time
	LastAttempt time.Time
	// UploadFailures counts frontend uploads that failed or that an HSDir
	// refused; LastFailure is tor's reason for the last one.
	UploadFailures int
	LastFailure    string
	TestNet        bool
}

// Frontend listing states of an instance (InstanceStatus.Frontend): what
// the published frontend descriptor holds for it, as far as tropa can
// tell from onionbalance's status and its own tors.
const (
	Listed  = "listed"  // its current introduction points are in the frontend descriptor
	Pending = "pending" // new introduction points, not yet published in the frontend descriptor
	Stale   = "stale"   // the frontend descriptor lists introduction points that no longer work
	Absent  = "absent"  // not in the frontend descriptor (yet)
	Unknown = "unknown" // onionbalance does not answer
)

// InstanceStatus is one instance of the public onion.
type InstanceStatus struct {
	Name    string // instance-1 … for local ones, "remote" for the others
	Address string
	Remote  bool
	// The instance's own tor (local instances only).
	Running       bool
	PID           int
	Bootstrap     int
	Restarts      int
	RunningSince  time.Time // start of the current tor process
	HasDescriptor bool
	LastUpload    time.Time
	IntroPoints   int
	PoW           bool
	// Connections counts the connections this instance forwarded since
	// start (local instances only).
	Connections int64
	// What onionbalance holds for it: when it last fetched its descriptor
	// and how many introduction points that descriptor lists.
	Fetched     time.Time
	FetchedIPs  int
	Frontend    string // Listed, Pending, Stale, Absent or Unknown
	FrontendWhy string // the reason, in a sentence
}

// status gathers every tor's status, the frontend's and onionbalance's
// view of the instances.
func (g *group) status() Status {
	per := make([]Status, len(g.tors))
	for i, t := range g.tors {
		per[i] = t.status()
	}
	s := per[0]
	s.Services = nil
	for _, p := range per[1:] {
		s.Running = s.Running && p.Running
		s.Bootstrap = min(s.Bootstrap, p.Bootstrap)
		s.Restarts += p.Restarts
		s.ClosedToday += p.ClosedToday
	}
	fe := g.fe
	fe.mu.Lock()
	fs := FrontendStatus{Address: g.front, Running: fe.cmd != nil, Waiting: fe.waiting, Restarts: fe.restarts, TestNet: fe.testnet}
	if fe.cmd != nil {
		fs.PID, fs.Started = fe.cmd.Process.Pid, fe.started
	}
	fe.mu.Unlock()
	g.mu.Lock()
	fs.LastUpload, fs.UploadFailures, fs.LastFailure = g.lastUpload, g.failures, g.lastFailure
	g.mu.Unlock()
	ob, attempt, obOK := fe.query()
	fs.LastAttempt = attempt
	bs := &BalanceStatus{Frontend: fs, RemoteConnections: g.ln.count(len(g.tors))}

	listedIPs := 0
	for i, t := range g.tors {
		var own ServiceStatus
		for _, sv := range per[i].Services {
			if sv.Name == g.names[i] {
				own = sv
			}
		}
		t.mu.Lock()
		var since time.Time
		if t.cur != nil {
			since = t.cur.start
		}
		t.mu.Unlock()
		in := InstanceStatus{Name: g.names[i], Address: g.addrs[i], Running: per[i].Running, PID: per[i].PID,
			Bootstrap: per[i].Bootstrap, Restarts: per[i].Restarts, RunningSince: since,
			HasDescriptor: own.HasDescriptor, LastUpload: own.LastUpload, IntroPoints: own.IntroPoints, PoW: own.PoW,
			Connections: g.ln.count(i)}
		o, known := ob[in.Address]
		in.Fetched, in.FetchedIPs = o.received, o.intros
		in.Frontend, in.FrontendWhy = judge(obOK, known, o, fs.LastUpload, attempt, in.Running, since)
		if in.Frontend == Listed || in.Frontend == Stale || in.Frontend == Pending {
			listedIPs += min(o.intros, 2)
		}
		bs.Instances = append(bs.Instances, in)
	}
	for _, a := range g.remote {
		o, known := ob[a]
		in := InstanceStatus{Name: "remote", Address: a, Remote: true, Fetched: o.received, FetchedIPs: o.intros}
		in.Frontend, in.FrontendWhy = judge(obOK, known, o, fs.LastUpload, attempt, true, time.Time{})
		if in.Frontend == Listed || in.Frontend == Pending {
			listedIPs += min(o.intros, 2)
		}
		bs.Instances = append(bs.Instances, in)
	}
	s.Balance = bs

	// The services as the health page lists them: the public (frontend)
	// address first, then each instance, then the first tor's others.
	s.Services = append(s.Services, ServiceStatus{Name: g.public, Address: g.front, LastUpload: fs.LastUpload,
		UploadFailures: fs.UploadFailures, HasDescriptor: !fs.LastUpload.IsZero(), IntroPoints: listedIPs})
	for i := range g.tors {
		for _, sv := range per[i].Services {
			if sv.Name == g.names[i] {
				s.Services = append(s.Services, sv)
			}
		}
	}
	for _, sv := range per[0].Services {
		if sv.Name != g.names[0] {
			s.Services = append(s.Services, sv)
		}
	}
	return s
}

// judge says what the published frontend descriptor holds for one
// instance. onionbalance keeps listing an instance while the HSDirs hold
// its last descriptor, so a dead or restarted tor's introduction points
// stay in the frontend descriptor until onionbalance has fetched the new
// one and republished; clients that try them fall back to the others.
// published is the last frontend upload tropa saw (whichever onionbalance
// run made it), attempt the running onionbalance's last publication, since
// the start of the instance's current tor (zero for a remote instance).
//
// What it cannot see: whether the descriptor onionbalance fetched of an
// instance is that tor's newest (an HSDir may still serve the previous
// one for a while); it reports Listed then.
func judge(obOK, known bool, o obInstance, published, attempt time.Time, running bool, since time.Time) (string, string) {
	last := published
	if attempt.After(last) {
		last = attempt
	}
	switch {
	case last.IsZero():
		return Absent, "the frontend descriptor has not been published yet"
	case !running:
		return Stale, "its tor is down; the frontend descriptor still lists its introduction points, and clients that try them fall back to the other instances"
	case !since.IsZero() && since.After(last):
		return Stale, "its tor restarted at " + since.UTC().Format("15:04:05") + " UTC, after the last frontend publication, which still lists the previous tor's introduction points (clients that try them fall back to the other instances)"
	case !obOK:
		return Unknown, "onionbalance does not answer (starting, restarting or waiting for the instances)"
	case !known || o.received.IsZero():
		return Absent, "onionbalance has not fetched its descriptor yet"
	case !since.IsZero() && since.After(o.modified):
		return Stale, "onionbalance still holds a descriptor of its previous tor (its tor restarted at " + since.UTC().Format("15:04:05") + " UTC); the next fetch replaces it"
	case attempt.IsZero() || o.modified.After(attempt):
		return Pending, "its current introduction points are not in the frontend descriptor yet (onionbalance's next publication)"
	}
	return Listed, "its current introduction points are in the frontend descriptor (published " + attempt.UTC().Format("15:04:05") + " UTC)"
}

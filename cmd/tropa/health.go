package main

import (
	"tropa/onion"
	"tropa/site"
)

// healthView is tor's status as the staff health page shows it.
func healthView(st onion.Status) site.HealthView {
	h := site.HealthView{TorVersion: st.Version, Running: st.Running, Bootstrap: st.Bootstrap, Summary: st.Summary,
		Restarts: st.Restarts, ClosedToday: st.ClosedToday, PoWAvailable: st.PoWAvailable}
	for _, sv := range st.Services {
		h.Services = append(h.Services, site.HealthService{Name: sv.Name, Address: sv.Address, LastUpload: sv.LastUpload,
			UploadFailures: sv.UploadFailures, IntroPoints: sv.IntroPoints, HasDescriptor: sv.HasDescriptor, PoW: sv.PoW,
			Clients: sv.Clients, Withdrawn: sv.Withdrawn})
	}
	if b := st.Balance; b != nil {
		f := b.Frontend
		hb := &site.HealthBalance{Address: f.Address, Running: f.Running, Waiting: f.Waiting, Restarts: f.Restarts,
			LastUpload: f.LastUpload, LastAttempt: f.LastAttempt, UploadFailures: f.UploadFailures,
			RemoteConnections: b.RemoteConnections}
		for _, in := range b.Instances {
			hb.Instances = append(hb.Instances, site.HealthInstance{Name: in.Name, Address: in.Address, Remote: in.Remote,
				Running: in.Running, Restarts: in.Restarts, HasDescriptor: in.HasDescriptor, LastUpload: in.LastUpload,
				Connections: in.Connections, Frontend: in.Frontend})
		}
		h.Balance = hb
	}
	return h
}

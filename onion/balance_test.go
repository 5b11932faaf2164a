package onion

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	a := Address(pub)
	for _, in := range []string{a, a + ".onion", "http://" + a + ".onion/", strings.ToUpper(a)} {
		if got, err := ParseAddress(in); err != nil || got != a {
			t.Errorf("ParseAddress(%q) = %q, %v", in, got, err)
		}
	}
	bad := []byte(a)
	if bad[10] == 'a' {
		bad[10] = 'b'
	} else {
		bad[10] = 'a'
	}
	for _, in := range []string{"", "abc.onion", a[:55], string(bad)} {
		if _, err := ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) accepted", in)
		}
	}
}

func TestCheckPrivateAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8090", "10.8.0.1:8090", "192.168.1.2:1", "[fd00::1]:8090", "[::1]:80"} {
		if err := CheckPrivateAddr(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"8.8.8.8:80", "0.0.0.0:8090", "[::]:80", "example.org:80", "10.0.0.1", ""} {
		if err := CheckPrivateAddr(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestBalanceCheck(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	r := Address(pub)
	cases := []struct {
		b  Balance
		ok bool
	}{
		{Balance{Instances: 2}, true},
		{Balance{Instances: 8}, true},
		{Balance{Instances: 0}, false},
		{Balance{Instances: 9}, false},
		{Balance{Instances: 7, Remote: []string{r}}, true},
		{Balance{Instances: 8, Remote: []string{r}}, false},
		{Balance{Instances: 1, Remote: []string{r, r + ".onion"}}, false},
		{Balance{Instances: 1, Remote: []string{"nope"}}, false},
		{Balance{Instances: 2, RemoteListen: "1.2.3.4:80"}, false},
	}
	for _, c := range cases {
		if err := c.b.Check(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.b, err)
		}
	}
	if (&Balance{Instances: 1}).balanced() || (*Balance)(nil).balanced() || !(&Balance{Instances: 1, Remote: []string{r}}).balanced() {
		t.Error("balanced() is wrong")
	}
}

// An instance's torrc carries the Onionbalance flag after its own
// HiddenServiceDir, next to the same defenses as a single public onion;
// a forwarded instance points tor at the TCP address.
func TestTorrcInstance(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	o := &Tor{cfg: Config{Defense: DefaultDefense}, ram: "/dev/shm/x",
		feat: features{options: map[string]bool{"HiddenServicePoWDefensesEnabled": true, "HiddenServiceEnableIntroDoSDefense": true}, modules: map[string]bool{"pow": true}},
		services: []Service{
			{Name: "instance-1", Key: key, Public: true, Frontend: "f"},
			{Name: "staff", Key: key, ClientAuth: true, Clients: []Client{{Name: "a", PublicB32: "X"}}},
		}}
	txt := o.torrcText()
	inst, staff, _ := strings.Cut(txt, "HiddenServiceDir /dev/shm/x/hs-staff")
	for _, want := range []string{"HiddenServiceDir /dev/shm/x/hs-instance-1\nHiddenServicePort 80 unix:/dev/shm/x/instance-1.sock\nHiddenServiceOnionBalanceInstance 1\n",
		"HiddenServiceExportCircuitID haproxy", "HiddenServicePoWDefensesEnabled 1", "HiddenServiceMaxStreams 20"} {
		if !strings.Contains(inst, want) {
			t.Errorf("torrc lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(staff, "OnionBalance") || strings.Contains(staff, "PoW") {
		t.Errorf("the staff service got instance options:\n%s", txt)
	}
	o.services = []Service{{Name: "instance", Key: key, Public: true, Frontend: "f", Forward: "10.8.0.1:8090"}}
	txt = o.torrcText()
	if !strings.Contains(txt, "HiddenServicePort 80 10.8.0.1:8090\n") {
		t.Errorf("forwarded instance torrc:\n%s", txt)
	}
	// One instance (no Balance): no Onionbalance line at all.
	o.services = []Service{{Name: "public", Key: key, Public: true}}
	if txt = o.torrcText(); strings.Contains(txt, "OnionBalance") {
		t.Errorf("single tor got an Onionbalance line:\n%s", txt)
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{w: &b, from: "tor: ", to: "tor 2: "}
	w.Write([]byte("tor: bootstrapped 100% (done): Done\n"))
	w.Write([]byte("instance-2 onion: http://x.onion\n"))
	if got := b.String(); got != "tor 2: bootstrapped 100% (done): Done\ninstance-2 onion: http://x.onion\n" {
		t.Errorf("got %q", got)
	}
}

func TestJudge(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	fetched := obInstance{received: t0, modified: t0, intros: 3}
	none := time.Time{}
	cases := []struct {
		name               string
		obOK, known        bool
		o                  obInstance
		published, attempt time.Time
		running            bool
		since              time.Time
		want               string
	}{
		{"never published", true, true, fetched, none, none, true, t0.Add(-time.Minute), Absent},
		{"listed", true, true, fetched, t0.Add(time.Second), t0.Add(time.Second), true, t0.Add(-time.Minute), Listed},
		{"new intros", true, true, fetched, t0.Add(-time.Second), t0.Add(-time.Second), true, t0.Add(-time.Minute), Pending},
		{"tor down", true, true, fetched, t0.Add(time.Second), t0.Add(time.Second), false, t0.Add(-time.Minute), Stale},
		{"restarted after the last publication", true, true, fetched, t0.Add(time.Second), t0.Add(time.Second), true, t0.Add(time.Minute), Stale},
		{"onionbalance restarting, published before the restart", false, false, obInstance{}, t0, none, true, t0.Add(time.Minute), Stale},
		{"onionbalance restarting, tor fine", false, false, obInstance{}, t0.Add(time.Hour), none, true, t0, Unknown},
		{"not fetched yet", true, false, obInstance{}, t0.Add(time.Hour), none, true, t0, Absent},
		{"onionbalance holds the previous tor's", true, true, fetched, t0.Add(time.Hour), t0.Add(time.Hour), true, t0.Add(time.Minute), Stale},
		{"remote, listed", true, true, fetched, t0.Add(time.Second), t0.Add(time.Second), true, none, Listed},
	}
	for _, c := range cases {
		if got, why := judge(c.obOK, c.known, c.o, c.published, c.attempt, c.running, c.since); got != c.want || why == "" {
			t.Errorf("%s: %s (%s), want %s", c.name, got, why, c.want)
		}
	}
}

// The fan-in hands over every source's connections and counts them.
func TestFanIn(t *testing.T) {
	dir := t.TempDir()
	var srcs []net.Listener
	for _, n := range []string{"a", "b"} {
		ln, err := net.Listen("unix", dir+"/"+n)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, ln)
	}
	f := newFanIn(srcs)
	defer f.Close()
	for _, n := range []string{"a", "b", "b"} {
		c, err := net.Dial("unix", dir+"/"+n)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := f.Accept()
		if err != nil {
			t.Fatal(err)
		}
		got.Close()
	}
	if f.count(0) != 1 || f.count(1) != 2 || f.count(2) != 0 {
		t.Errorf("counts %d %d", f.count(0), f.count(1))
	}
	f.Close()
	if _, err := f.Accept(); err == nil {
		t.Error("Accept after Close")
	}
}

// Without onionbalance, the error says how to install it.
func TestLookOnionbalanceMissing(t *testing.T) {
	_, err := LookOnionbalance("tropa-no-such-onionbalance")
	if err == nil || !errors.Is(err, ErrNoOnionbalance) || !strings.Contains(err.Error(), "apt-get install -y onionbalance") {
		t.Errorf("err = %v", err)
	}
}

// onionbalance's configuration names the key file, the status socket and
// every instance, local and remote.
func TestFrontendConfig(t *testing.T) {
	f := &frontend{dir: "/dev/shm/tropa-1-2", g: &group{addrs: []string{"aaa", "bbb"}, names: []string{"instance-1", "instance-2"}, remote: []string{"ccc"}}}
	got := f.configText()
	for _, want := range []string{"status-socket-location: '/dev/shm/tropa-1-2/status.sock'\n", "- key: '/dev/shm/tropa-1-2/frontend.pem'\n",
		"  - address: aaa.onion # instance-1\n", "  - address: bbb.onion # instance-2\n", "  - address: ccc.onion # remote\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

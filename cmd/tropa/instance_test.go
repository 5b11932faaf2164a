package main

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"tropa/onion"
)

func TestBalanceConfig(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	remote := onion.Address(pub)
	base := serveConfig{tor: true, torInstances: 1}
	if b, err := balanceConfig(base); b != nil || err != nil {
		t.Fatalf("one tor: %v %v", b, err)
	}
	cases := []struct {
		edit func(*serveConfig)
		want string // "" = accepted
	}{
		{func(c *serveConfig) { c.torInstances = 2 }, ""},
		{func(c *serveConfig) { c.torInstances = 0 }, "between 1 and 8"},
		{func(c *serveConfig) { c.torInstances = 9 }, "between 1 and 8"},
		{func(c *serveConfig) { c.torInstances = 2; c.tor = false }, "need tor"},
		{func(c *serveConfig) { c.instanceListen = "127.0.0.1:8090" }, "--remote-instance"},
		{func(c *serveConfig) { c.remoteInstances = addrList{remote} }, "--instance-listen"},
		{func(c *serveConfig) { c.remoteInstances = addrList{remote}; c.instanceListen = "127.0.0.1:8090" }, ""},
		{func(c *serveConfig) { c.remoteInstances = addrList{remote}; c.instanceListen = "203.0.113.5:8090" }, "private"},
	}
	_, noOB := onion.LookOnionbalance("")
	for i, c := range cases {
		cfg := base
		c.edit(&cfg)
		if c.want == "" && noOB != nil {
			c.want = "apt-get install -y onionbalance" // refused, saying how to install it
		}
		b, err := balanceConfig(cfg)
		switch {
		case c.want == "" && (err != nil || b == nil):
			t.Errorf("case %d: refused: %v", i, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("case %d: err = %v, want %q", i, err, c.want)
		}
	}
}

func TestAddrList(t *testing.T) {
	a, _, _ := ed25519.GenerateKey(nil)
	b, _, _ := ed25519.GenerateKey(nil)
	var l addrList
	if err := l.Set(onion.Address(a) + ".onion, " + onion.Address(b)); err != nil || len(l) != 2 {
		t.Fatalf("%v %v", l, err)
	}
	if err := l.Set("nope.onion"); err == nil {
		t.Error("a bad address was accepted")
	}
}

package swarm

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

func TestValidate(t *testing.T) {
	ok := func(sw core.Swarm) core.Swarm {
		if sw.Role == "" {
			sw.Role = "worker"
		}
		if sw.Timeout == 0 {
			sw.Timeout = 2 * time.Minute
		}
		return sw
	}
	for _, tc := range []struct {
		name string
		sw   core.Swarm
		want []string // parts of the usage error; none: valid
	}{
		{"no swarm at all is valid", ok(core.Swarm{}), nil},
		{"-swarm-init alone is valid", ok(core.Swarm{Init: true}), nil},
		{"-swarm-join with an address and a port", ok(core.Swarm{Join: "10.0.0.2:2377", Role: "manager"}), nil},
		{"-swarm-join with a host name", ok(core.Swarm{Join: "manager-1"}), nil},
		{"-swarm-join with a bracketed IPv6 address and a port", ok(core.Swarm{Join: "[fd00::2]:4000"}), nil},
		{"-swarm-join with a bare IPv6 address", ok(core.Swarm{Join: "fd00::2"}), nil},
		{"-swarm-join with a well-formed DINV_SWARM_TOKEN", ok(core.Swarm{Join: "m1", Token: workerA}), nil},
		{"-swarm-advertise with an interface name and a port", ok(core.Swarm{Init: true, Advertise: "eth0:2377"}), nil},
		{"an unknown role", ok(core.Swarm{Join: "m1", Role: "boss"}), []string{`-swarm-role "boss": a swarm role is manager or worker`}},
		{"a zero timeout", core.Swarm{Join: "m1", Role: "worker"}, []string{"-swarm-timeout 0s: give a duration above zero"}},
		{"a negative timeout", ok(core.Swarm{Join: "m1", Timeout: -time.Second}), []string{"-swarm-timeout -1s"}},
		{"-swarm-init with -swarm-join", ok(core.Swarm{Init: true, Join: "m1"}), []string{"-swarm-init and -swarm-join m1 exclude each other"}},
		{"-swarm-join with a scheme", ok(core.Swarm{Join: "tcp://m1:2377"}), []string{`-swarm-join "tcp://m1:2377": not host[:port]`}},
		{"-swarm-join with a port out of range", ok(core.Swarm{Join: "m1:70000"}), []string{`port "70000" is not 1-65535`}},
		{"-swarm-join with no host", ok(core.Swarm{Join: ":2377"}), []string{"no host"}},
		{"-swarm-join with two colons", ok(core.Swarm{Join: "m1:2377:1"}), []string{"not host[:port]"}},
		{"-swarm-join with a space", ok(core.Swarm{Join: "m1 m2"}), []string{"not host[:port]"}},
		{"-swarm-join with a bad name", ok(core.Swarm{Join: "-m1"}), []string{"neither an IP address nor a host name"}},
		{"-swarm-advertise 0.0.0.0", ok(core.Swarm{Init: true, Advertise: "0.0.0.0"}), []string{"no address others can reach"}},
		{"-swarm-advertise with a host name", ok(core.Swarm{Init: true, Advertise: "manager-1.example.org"}), []string{"neither an IP address nor an interface name"}},
		{"a DINV_SWARM_TOKEN that is no token, not quoted", ok(core.Swarm{Join: "m1", Token: "hunter2"}), []string{"DINV_SWARM_TOKEN: not a swarm join token"}},
		{"every problem at once", core.Swarm{Init: true, Join: "m1:0", Role: "x"},
			[]string{"-swarm-role", "-swarm-timeout", "exclude each other", `-swarm-join "m1:0"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(&tc.sw)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				return
			}
			if err == nil || !core.IsUsage(err) {
				t.Fatalf("error = %v, want a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error quotes the token or spans lines: %q", err)
			}
		})
	}
}

func TestJoinAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.2":        "10.0.0.2:2377",
		"10.0.0.2:4000":   "10.0.0.2:4000",
		"m1":              "m1:2377",
		"m1.example.org":  "m1.example.org:2377",
		"fd00::2":         "[fd00::2]:2377",
		"[fd00::2]":       "[fd00::2]:2377",
		"[fd00::2]:2377":  "[fd00::2]:2377",
		"dinv-e2e-m1-abc": "dinv-e2e-m1-abc:2377",
	} {
		if got, err := joinAddr(in); err != nil || got != want {
			t.Errorf("JoinAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNewPlan(t *testing.T) {
	cfg := &core.Config{CertDir: "/certs", Engine: core.EngineConfig{DataRoot: core.Setting[string]{Value: "/var/lib/docker"}},
		Swarm: core.Swarm{Join: "m1", Role: "manager", Timeout: time.Minute, Token: workerA}}
	p := newPlan(cfg, net.ParseIP("172.18.0.3"))
	want := plan{Join: "m1:2377", Role: "manager", Listen: "0.0.0.0:2377", Advertise: "172.18.0.3",
		Timeout: time.Minute, Token: workerA, TokenDir: "/certs/swarm",
		RootCAFile: "/var/lib/docker/swarm/certificates/swarm-root-ca.crt"}
	if p != want {
		t.Errorf("plan\n%+v, want\n%+v", p, want)
	}

	cfg.Swarm = core.Swarm{Init: true, Advertise: "10.1.2.3:4567", Timeout: time.Minute}
	p = newPlan(cfg, net.ParseIP("172.18.0.3"))
	if p.Advertise != "10.1.2.3:4567" || p.Listen != "0.0.0.0:4567" || p.Role != "worker" || p.Join != "" {
		t.Errorf("plan with an advertised port: %+v", p)
	}
	if p := newPlan(cfg, nil); p.Advertise != "10.1.2.3:4567" {
		t.Errorf("advertise %q", p.Advertise)
	}
	cfg.Swarm.Advertise = ""
	if p := newPlan(cfg, nil); p.Advertise != "" {
		t.Errorf("without an address, the engine chooses: advertise %q", p.Advertise)
	}
}

func TestCheckTokenAndDigest(t *testing.T) {
	if err := checkToken(workerA.Value()); err != nil {
		t.Errorf("a token of the test swarm: %v", err)
	}
	// One as docker swarm join-token -q printed it, and its swarm's root CA digest.
	real := "SWMTKN-1-28j13ei1axh3ut3bi0uikyhv6wdlx4btlgghho7i5e43cmgiqq-7thty2z3t7fcm1d1gjfzly4kl"
	if err := checkToken(real); err != nil {
		t.Errorf("a real token: %v", err)
	}
	for _, bad := range []string{"", "SWMTKN-1-abc-def", real + "\n" + real, strings.ToUpper(real), "SWMTKN-2" + real[8:]} {
		if checkToken(bad) == nil {
			t.Errorf("CheckToken(%q) accepted it", bad)
		}
	}
	if !sameSwarm(workerA, rootA) || !sameSwarm(managerA, rootA) || sameSwarm(workerB, rootA) || sameSwarm("nonsense", rootA) {
		t.Error("sameSwarm tells the swarms apart wrongly")
	}
}

package iptables

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config/configtest"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// What gVisor's own network stack answers (runsc from gVisor's Go module,
// v0.0.0-20260905035102-160fafc42237, measured).
const (
	addrtypeRule  = "iptables-legacy -t nat -A DINV-PROBE -m addrtype --dst-type LOCAL -j RETURN"
	noAddrtype    = "run iptables-legacy: exit status 1: Warning: Extension addrtype revision 0 not supported, missing kernel module?\niptables: Invalid argument. Run `dmesg' for more information."
	noPacketWrite = "AF_PACKET sendto: operation not supported"
)

func TestProbeGVisorNet(t *testing.T) {
	for _, c := range []struct {
		name     string
		natErr   error // iptables-legacy -t nat -S
		chainErr error // -N DINV-PROBE
		ruleErr  error // the addrtype rule
		sendErr  error
		want     gvisorNet
		ran      string
	}{
		{name: "runsc --network=host: no nat table, nothing more is asked",
			natErr: errors.New(iptablesNoNat), want: gvisorNet{HostNetwork: true},
			ran: "iptables-legacy -t nat -S"},
		{name: "gVisor's network stack: no addrtype, no packet writes",
			ruleErr: errors.New(noAddrtype), sendErr: errors.New(noPacketWrite),
			want: gvisorNet{NoAddrtype: errors.New(noAddrtype), NoPacketWrite: errors.New(noPacketWrite)},
			ran:  "-S|-N DINV-PROBE|" + addrtypeRule + "|-F DINV-PROBE|-X DINV-PROBE"},
		{name: "runsc --allow-packet-socket-write: packet writes work",
			ruleErr: errors.New(noAddrtype), want: gvisorNet{NoAddrtype: errors.New(noAddrtype)},
			ran: "-S|-N DINV-PROBE|" + addrtypeRule + "|-F DINV-PROBE|-X DINV-PROBE"},
		{name: "a sandbox whose iptables takes addrtype (a later gVisor)",
			want: gvisorNet{}, ran: "-S|-N DINV-PROBE|" + addrtypeRule + "|-F DINV-PROBE|-X DINV-PROBE"},
		{name: "the chain a killed start left is emptied and used",
			chainErr: errors.New("iptables: Chain already exists."), ruleErr: errors.New(noAddrtype),
			want: gvisorNet{NoAddrtype: errors.New(noAddrtype)},
			ran:  "-S|-N DINV-PROBE|-F DINV-PROBE|" + addrtypeRule + "|-F DINV-PROBE|-X DINV-PROBE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Outputs["iptables-legacy"] = "-P PREROUTING ACCEPT\n"
			f.RunErr = map[string]error{"iptables-legacy -t nat -S": c.natErr,
				"iptables-legacy -t nat -N DINV-PROBE": c.chainErr, addrtypeRule: c.ruleErr}
			sent := 0
			got := probeGVisorNet(f, "legacy", func() error { sent++; return c.sendErr })
			if got.HostNetwork != c.want.HostNetwork || errText(got.NoAddrtype) != errText(c.want.NoAddrtype) ||
				errText(got.NoPacketWrite) != errText(c.want.NoPacketWrite) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			ran := strings.ReplaceAll(strings.Join(f.Ran, "|"), "iptables-legacy -t nat ", "")
			if ran != strings.ReplaceAll(c.ran, "iptables-legacy -t nat ", "") {
				t.Errorf("ran %q\nwant %q", ran, c.ran)
			}
			if want := map[bool]int{false: 1}[c.want.HostNetwork]; sent != want {
				t.Errorf("%d packet sends, want %d", sent, want)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestGVisorEngineSettings(t *testing.T) {
	addrtype, packet := errors.New(noAddrtype), errors.New(noPacketWrite)
	advert := "--default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0"
	for _, c := range []struct {
		name   string
		net    gvisorNet
		engine string
		want   string
	}{
		{"runsc --network=host: no firewall, no bridge of its own", gvisorNet{HostNetwork: true}, "26.1",
			"--iptables=false --ip6tables=false --bridge=none --ip-forward=false"},
		{"gVisor's stack without addrtype: no iptables rules (20.10)", gvisorNet{NoAddrtype: addrtype, NoPacketWrite: packet}, "20.10",
			"--iptables=false --ip6tables=false"},
		{"26.1 sends no unsolicited ARP: packet writes do not matter", gvisorNet{NoAddrtype: addrtype, NoPacketWrite: packet}, "26.1",
			"--iptables=false --ip6tables=false"},
		{"28.5 without packet writes: new bridge networks advertise nothing", gvisorNet{NoAddrtype: addrtype, NoPacketWrite: packet}, "28.5",
			"--iptables=false --ip6tables=false " + advert},
		{"29 without packet writes too", gvisorNet{NoAddrtype: addrtype, NoPacketWrite: packet}, "29",
			"--iptables=false --ip6tables=false " + advert},
		{"28.5 with packet writes (runsc --allow-packet-socket-write)", gvisorNet{NoAddrtype: addrtype}, "28.5",
			"--iptables=false --ip6tables=false"},
		{"a sandbox with everything the engine needs: nothing", gvisorNet{}, "28.5", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var flags []string
			for _, d := range gvisorEngineSettings(c.net, c.engine) {
				for _, s := range d.Settings {
					if name := strings.TrimPrefix(strings.SplitN(s.Flag, "=", 2)[0], "--"); name != s.Setting {
						t.Errorf("flag %s sets %q, named %q", s.Flag, name, s.Setting)
					}
					flags = append(flags, s.Flag)
				}
			}
			if got := strings.Join(flags, " "); got != c.want {
				t.Errorf("flags %q\nwant  %q", got, c.want)
			}
		})
	}
}

func TestGiveEngineSettingsSaysEachOnceAndLeavesTheUsersOut(t *testing.T) {
	decisions := gvisorEngineSettings(gvisorNet{NoAddrtype: errors.New(noAddrtype), NoPacketWrite: errors.New(noPacketWrite)}, "28.5")
	for _, c := range []struct {
		name     string
		user     map[string]core.Source
		want     string
		warnings int
		yours    string
	}{
		{name: "nothing set by the user: every flag, one warning a decision",
			want: "--iptables=false --ip6tables=false --default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0", warnings: 2},
		{name: "iptables in the user's arguments: ip6tables still given",
			user: map[string]core.Source{"iptables": {Kind: core.FromArg, Name: "--iptables=false"}},
			want: "--ip6tables=false --default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0", warnings: 2,
			yours: "yours=\"iptables (--iptables=false (engine argument))\""},
		{name: "default-network-opts in daemon.json: dinv gives none, and says so",
			user: map[string]core.Source{"default-network-opt": {Kind: core.FromFile, Name: "/etc/docker/daemon.json: default-network-opts"}},
			want: "--iptables=false --ip6tables=false", warnings: 1,
			yours: "the settings are yours, dinv gives none: probe=\"AF_PACKET sendto: operation not supported\" yours=\"default-network-opt (/etc/docker/daemon.json: default-network-opts)\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l hosttest.Logs
			got := giveEngineSettings(l.Logger(), decisions, c.user)
			if strings.Join(got, " ") != c.want {
				t.Errorf("flags %q\nwant  %q", got, c.want)
			}
			if w := l.Warnings(); len(w) != c.warnings {
				t.Errorf("%d warnings, want %d:\n%s", len(w), c.warnings, l.String())
			}
			if !strings.Contains(l.String(), "engine_flags=") || c.yours != "" && !strings.Contains(l.String(), c.yours) {
				t.Errorf("log:\n%s", l.String())
			}
		})
	}
}

func TestIptablesStageUnderGVisorGivesTheProbedSettingsForItsEngine(t *testing.T) {
	f := hosttest.New()
	f.Programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
	f.Files[ipTablesNames] = ""
	f.NoNft = true
	f.Outputs["iptables-legacy"] = "-P PREROUTING ACCEPT\n"
	f.RunErr = map[string]error{addrtypeRule: errors.New(noAddrtype)}
	f.RunErr["iptables-legacy -t nat -C "+snatTCP] = errors.New("iptables: Bad rule")
	st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables",
		sendPacket: func() error { return syscall.EOPNOTSUPP },
		ifaceWith: func(ip net.IP) string {
			if ip.String() != "172.17.0.5" {
				t.Errorf("interface of %s asked", ip)
			}
			return "eth0"
		}}
	profile := configtest.Profile(t, "28.5")
	state := &core.State{GVisor: true, Profile: profile, ContainerIP: net.ParseIP("172.17.0.5"),
		Config: core.Config{Engine: core.EngineConfig{Given: map[string]core.Source{"ip6tables": {Kind: core.FromArg, Name: "--ip6tables"}}}}}
	var l hosttest.Logs
	if err := st.Run(core.WithLog(context.Background(), l.Logger()), state); err != nil {
		t.Fatal(err)
	}
	want := "--iptables=false --default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0"
	if got := strings.Join(state.EngineFlags, " "); got != want {
		t.Errorf("engine flags %q\nwant %q", got, want)
	}
	if n := len(l.Warnings()); n != 2 {
		t.Errorf("%d warnings:\n%s", n, l.String())
	}
	// The TCP rule was not there (-C failed): added; the UDP one was.
	ran := strings.Join(f.Ran, "\n")
	if !strings.Contains(ran, "iptables-legacy -t nat -A "+snatTCP) || strings.Contains(ran, "-A "+snatUDP) ||
		!strings.Contains(l.String(), "dinv added SNAT rules (tcp, udp)") {
		t.Errorf("ran:\n%s\nlog:\n%s", ran, l.String())
	}
}

const (
	snatTCP = "POSTROUTING -p tcp -o eth0 ! -s 172.17.0.5 -j SNAT --to-source 172.17.0.5"
	snatUDP = "POSTROUTING -p udp -o eth0 ! -s 172.17.0.5 -j SNAT --to-source 172.17.0.5"
)

func TestGVisorSNATOnlyWhereTheEngineGoesWithoutIptablesAndTheUserSetsNothing(t *testing.T) {
	ip := net.ParseIP("172.17.0.5")
	noAddrtype := gvisorNet{NoAddrtype: errors.New(noAddrtype)}
	for _, c := range []struct {
		name  string
		net   gvisorNet
		ip    net.IP
		iface string
		user  map[string]core.Source
		added bool
		said  string
	}{
		{"no addrtype: SNAT for tcp and udp", noAddrtype, ip, "eth0", nil, true, "[INFO]  gVisor has no MASQUERADE"},
		{"an iptables that takes addrtype: the engine masquerades itself", gvisorNet{}, ip, "eth0", nil, false, ""},
		{"runsc --network=host: no nat table", gvisorNet{HostNetwork: true}, ip, "eth0", nil, false, ""},
		{"-iptables given by the user: nat is theirs", noAddrtype, ip, "eth0", map[string]core.Source{"iptables": {Kind: core.FromArg}}, false, ""},
		{"--ip-masq=false given by the user", noAddrtype, ip, "eth0", map[string]core.Source{"ip-masq": {Kind: core.FromArg}}, false, ""},
		{"no IPv4 address: said", noAddrtype, nil, "", nil, false, "[WARN]  gVisor: no IPv4 address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Outputs["iptables-legacy"] = ""
			f.RunErr = map[string]error{"iptables-legacy -t nat -C " + snatTCP: errors.New("bad rule"),
				"iptables-legacy -t nat -C " + snatUDP: errors.New("bad rule")}
			var l hosttest.Logs
			giveGVisorSNAT(l.Logger(), f, "legacy", c.net, c.ip, c.iface, c.user)
			ran := strings.Join(f.Ran, "\n")
			added := strings.Contains(ran, "-A "+snatTCP) && strings.Contains(ran, "-A "+snatUDP)
			if added != c.added || !c.added && len(f.Ran) > 0 {
				t.Errorf("ran:\n%s", ran)
			}
			if c.said != "" && !strings.Contains(l.String(), c.said) || c.said == "" && l.String() != "" {
				t.Errorf("log:\n%s", l.String())
			}
		})
	}
}

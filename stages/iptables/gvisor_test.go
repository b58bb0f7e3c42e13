package iptables

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// What iptables says in a gVisor sandbox without iptables (runsc --network=host).
const iptablesNoNat = "iptables v1.8.11 (legacy): can't initialize iptables table `nat': Table does not exist"

func TestIptablesStageChecksTheSandboxOnlyUnderGVisor(t *testing.T) {
	for _, gvisor := range []bool{false, true} {
		f := hosttest.New()
		f.Programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
		f.OutputErr["iptables-legacy"] = errors.New(iptablesNoNat)
		if gvisor {
			f.Files["/proc/version"] = hosttest.GVisorVersion
		}
		st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables",
			sendPacket: func() error { return nil }, ifaceWith: func(net.IP) string { return "eth0" }}
		state := &core.State{EngineEnv: []string{"PATH=/usr/bin"}, GVisor: gvisor}
		if err := st.Run(core.WithLog(context.Background(), nolog), state); err != nil {
			t.Fatal(err)
		}
		if got := len(state.EngineFlags) > 0; got != gvisor {
			t.Errorf("gVisor %v: engine flags %q", gvisor, state.EngineFlags)
		}
	}
}

// TestUnderDryRunTheIptablesStageGivesTheSandboxsFlagsAndChangesNothing:
// -dry-run prints the command line a real start would run under gVisor
// (the probe's own chain made and removed), and adds no rule, links nothing.
func TestUnderDryRunTheIptablesStageGivesTheSandboxsFlagsAndChangesNothing(t *testing.T) {
	f := hosttest.New()
	f.Programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
	f.Outputs["iptables-legacy"] = "-P PREROUTING ACCEPT\n"
	f.RunErr = map[string]error{addrtypeRule: errors.New(noAddrtype)}
	st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables",
		sendPacket: func() error { return nil }, ifaceWith: func(net.IP) string { return "eth0" }}
	state := &core.State{Config: core.Config{DryRun: true}, EngineEnv: []string{"PATH=/usr/bin"}, GVisor: true,
		ContainerIP: net.ParseIP("172.17.0.5")}
	if err := st.Run(core.WithLog(context.Background(), nolog), state); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(state.EngineFlags, " "); got != "--iptables=false --ip6tables=false" {
		t.Errorf("engine flags %q, want the sandbox's", got)
	}
	if ran := strings.Join(f.Ran, "\n"); strings.Contains(ran, "SNAT") {
		t.Errorf("-dry-run added rules:\n%s", ran)
	}
	if len(f.Calls) != 0 || strings.Join(state.EngineEnv, " ") != "PATH=/usr/bin" {
		t.Errorf("-dry-run changed something: calls %q, engine environment %q", f.Calls, state.EngineEnv)
	}
}

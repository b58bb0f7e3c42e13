package iptables

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// What iptables says in a gVisor sandbox without iptables (runsc --network=host).
const iptablesNoNat = "iptables v1.8.11 (legacy): can't initialize iptables table `nat': Table does not exist"

func TestGVisorNetworkFlags(t *testing.T) {
	for _, c := range []struct {
		name   string
		natErr error
		want   string
	}{
		{name: "gVisor's own network stack has iptables: nothing to add"},
		{name: "runsc --network=host: the engine goes without networking of its own, said once",
			natErr: errors.New(iptablesNoNat), want: "--iptables=false --ip6tables=false --bridge=none --ip-forward=false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			if c.natErr != nil {
				f.OutputErr["iptables-legacy"] = c.natErr
			} else {
				f.Outputs["iptables-legacy"] = "-P PREROUTING ACCEPT\n"
			}
			var l hosttest.Logs
			got := gvisorNetworkFlags(l.Logger(), f, "legacy")
			if strings.Join(got, " ") != c.want {
				t.Errorf("flags %q, want %q", got, c.want)
			}
			if n := len(l.Warnings()); n != map[bool]int{true: 1}[c.want != ""] {
				t.Errorf("%d warnings: %q", n, l.Warnings())
			}
			if strings.Join(f.Ran, "|") != "iptables-legacy -t nat -S" {
				t.Errorf("ran %q", f.Ran)
			}
		})
	}
}

func TestIptablesStageChecksTheSandboxOnlyUnderGVisor(t *testing.T) {
	for _, gvisor := range []bool{false, true} {
		f := hosttest.New()
		f.Programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
		f.OutputErr["iptables-legacy"] = errors.New(iptablesNoNat)
		if gvisor {
			f.Files["/proc/version"] = hosttest.GVisorVersion
		}
		st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables"}
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
// -dry-run prints the command line a real start would run under gVisor.
func TestUnderDryRunTheIptablesStageGivesTheSandboxsFlagsAndChangesNothing(t *testing.T) {
	f := hosttest.New()
	f.Programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
	f.OutputErr["iptables-legacy"] = errors.New(iptablesNoNat)
	st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables"}
	state := &core.State{Config: core.Config{DryRun: true}, EngineEnv: []string{"PATH=/usr/bin"}, GVisor: true}
	if err := st.Run(core.WithLog(context.Background(), nolog), state); err != nil {
		t.Fatal(err)
	}
	if strings.Join(state.EngineFlags, " ") != strings.Join(sandboxNetFlags, " ") {
		t.Errorf("engine flags %q, want the sandbox's", state.EngineFlags)
	}
	if len(f.Calls) != 0 || strings.Join(state.EngineEnv, " ") != "PATH=/usr/bin" {
		t.Errorf("-dry-run changed something: calls %q, engine environment %q", f.Calls, state.EngineEnv)
	}
}

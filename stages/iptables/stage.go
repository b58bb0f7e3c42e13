// Package iptables is the iptables stage: it chooses between the legacy and
// the nf_tables iptables (chooseIptables: DINV_IPTABLES, else the variant
// whose tables hold rules, else nf_tables where the kernel has it), links the
// chosen variant's programs into a directory of their own and puts it first
// in the engine's PATH (State.EngineEnv). In a gVisor sandbox without
// a gVisor sandbox it probes what the sandbox's network offers and adds the
// engine flags that then work (State.EngineFlags, gvisor_net.go), and SNAT
// rules in place of the engine's masquerading. Under -dry-run it chooses,
// probes and says, and links nothing and adds no rule.
package iptables

import (
	"context"
	"net"
	"os"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct {
	sys    host.System
	getenv func(string) string
	dir    string
	// sendPacket tries a send on an AF_PACKET socket, ifaceWith names the
	// interface that has an address (under gVisor only: gvisor_net.go).
	sendPacket func() error
	ifaceWith  func(net.IP) string
}

// New returns the iptables stage.
func New() core.Stage {
	return &stage{sys: host.OS(), getenv: os.Getenv, dir: iptablesDir, sendPacket: sendLoopbackPacket, ifaceWith: interfaceWith}
}

func (*stage) Name() string { return "iptables" }

// Validate checks DINV_IPTABLES before anything runs.
func (i *stage) Validate(*core.Config, *core.Profile) error {
	switch v := i.getenv("DINV_IPTABLES"); v {
	case "", "legacy", "nft":
		return nil
	default:
		return core.Usagef("DINV_IPTABLES=%q: want legacy or nft", v)
	}
}

func (i *stage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	variant, why, err := chooseIptables(i.sys, i.getenv("DINV_IPTABLES"))
	if err != nil {
		return err
	}
	if variant == "" {
		log.Debug("no iptables variants installed: nothing to choose")
		return nil
	}
	// The engine runs iptables: a variant without it (DINV_IPTABLES naming
	// one that is not installed) would leave the engine without a firewall.
	if prog := "iptables-" + variant; !installed(i.sys, prog) {
		return errors.Errorf("iptables variant %s (%s): %s is not installed", variant, why, prog)
	}
	var sandbox gvisorNet
	if s.GVisor {
		// The probe makes a chain of its own and removes it: -dry-run too
		// gives the engine the flags a real start would.
		version := ""
		if s.Profile != nil {
			version = s.Profile.Version
		}
		sandbox = probeGVisorNet(i.sys, variant, i.sendPacket)
		s.EngineFlags = append(s.EngineFlags, giveEngineSettings(log, gvisorEngineSettings(sandbox, version), s.Config.Engine.Given)...)
	}
	if s.Config.DryRun {
		log.Info("dry run: a real start would use this iptables variant", "variant", variant, "reason", why)
		return nil // links nothing, changes no PATH, adds no rule
	}
	if s.GVisor {
		giveGVisorSNAT(log, i.sys, variant, sandbox, s.ContainerIP, i.ifaceWith(s.ContainerIP), s.Config.Engine.Given)
	}
	if err := linkIptables(i.sys, i.dir, variant); err != nil {
		return err
	}
	env := s.EngineEnv
	if env == nil {
		env = os.Environ()
	}
	s.EngineEnv = host.PrependPath(env, i.dir)
	log.Info("chose the iptables variant", "variant", variant, "reason", why)
	return nil
}

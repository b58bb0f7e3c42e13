// Package swarm is the swarm stage: once the engine answers, the host
// creates a Docker swarm (-swarm-init) or joins one (-swarm-join), and writes
// or reads the join tokens in the certificate directory. The domain code
// (initSwarm, joinSwarm, the token files, the checks of the settings) is in
// plain functions beside this adapter; internal/engineapi speaks to the
// engine's socket. It fills no State field; -dry-run skips it.
package swarm

import (
	"context"
	"os"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// ipvsPath exists when the kernel has IPVS, which service VIPs and the
// ingress routing mesh need.
const ipvsPath = "/proc/net/ip_vs"

// ipvsWarning is said once at start when ipvsPath is absent.
const ipvsWarning = "this kernel has no IPVS (/proc/net/ip_vs): swarm service VIPs and the ingress routing mesh will not work here; services with --endpoint-mode dnsrr and ports published with mode=host do"

// stage is the adapter between the runner and initSwarm/joinSwarm.
//
// It does nothing when the engine stops, on purpose: a host leaving its swarm
// whenever its container stops would come back from `docker restart`, an
// upgrade or a machine's reboot as a new node, its tasks rescheduled and, for
// a manager, the raft quorum shrunk or lost. Membership lives in the engine's
// data volume, as it does for any Docker host; leaving is the operator's
// decision (docker swarm leave, docker node rm).
type stage struct {
	engine func(socket string) engineAPI
	dial   func(ctx context.Context, addr string) error
	clock  core.Clock
	ipvs   string
}

// New returns the swarm stage.
func New() core.Stage {
	return &stage{engine: newEngine, dial: dialTCP, clock: core.RealClock{}, ipvs: ipvsPath}
}

func (*stage) Name() string      { return "swarm" }
func (*stage) SkipsDryRun()      {}
func (*stage) Phase() core.Phase { return core.Running }

// Requires the ready stage when the host takes part in a swarm: the engine's
// API must answer.
func (*stage) Requires(cfg *core.Config) []string {
	if cfg.Swarm.Enabled() {
		return []string{"ready"}
	}
	return nil
}

func (*stage) Validate(cfg *core.Config, _ *core.Profile) error {
	if err := validate(&cfg.Swarm); err != nil {
		return err
	}
	return checkFirewall(cfg)
}

func (st *stage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	if !s.Config.Swarm.Enabled() {
		log.Debug("no swarm: neither -swarm-init nor -swarm-join")
		return nil
	}
	if s.Engine == nil {
		return errors.New("swarm: no engine is running")
	}
	if _, err := os.Stat(st.ipvs); err != nil {
		log.Warn(ipvsWarning)
	}
	p := newPlan(&s.Config, s.ContainerIP)
	d := deps{Engine: st.engine(s.Config.Engine.Socket()), Dial: st.dial, Clock: st.clock, Log: log}
	if p.Init {
		return initSwarm(ctx, d, p)
	}
	return joinSwarm(ctx, d, p)
}

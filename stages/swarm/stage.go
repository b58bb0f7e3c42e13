// Package swarm is the swarm stage: once the engine answers, the host
// creates a Docker swarm (-swarm-init) or joins one (-swarm-join), and writes
// or reads the join tokens in the certificate directory. The domain code
// (Init, Join, the token files, the checks of the settings) is in plain
// functions beside this adapter; engineapi speaks to the engine's socket.
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

// swarmStage is the adapter between the runner and Init/Join.
//
// It has no stop hook (core.Stopper), on purpose: a host leaving its swarm
// whenever its container stops would come back from `docker restart`, an
// upgrade or a machine's reboot as a new node, its tasks rescheduled and, for
// a manager, the raft quorum shrunk or lost. Membership lives in the engine's
// data volume, as it does for any Docker host; leaving is the operator's
// decision (docker swarm leave, docker node rm).
type swarmStage struct {
	engine func(socket string) Engine
	dial   func(ctx context.Context, addr string) error
	clock  core.Clock
	ipvs   string
}

// New returns the swarm stage.
func New() core.Stage {
	return &swarmStage{engine: NewEngine, dial: DialTCP, clock: core.RealClock{}, ipvs: ipvsPath}
}

func (*swarmStage) Name() string { return "swarm" }
func (*swarmStage) SkipsDryRun() {}

// Requires the ready stage when the host takes part in a swarm: the engine's
// API must answer.
func (*swarmStage) Requires(cfg *core.Config) []string {
	if cfg.Swarm.Enabled() {
		return []string{"ready"}
	}
	return nil
}

func (*swarmStage) Validate(cfg *core.Config, _ *core.Profile) error {
	if err := Validate(&cfg.Swarm); err != nil {
		return err
	}
	return CheckFirewall(cfg)
}

func (st *swarmStage) Run(ctx context.Context, s *core.State) error {
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
	p := NewPlan(&s.Config, s.ContainerIP)
	d := Deps{Engine: st.engine(s.Config.Socket), Dial: st.dial, Clock: st.clock, Log: log}
	if p.Init {
		return Init(ctx, d, p)
	}
	return Join(ctx, d, p)
}

// Package privileges is the privileges stage: before any stage changes
// anything, it checks that the container holds what a Docker host needs and
// says what is missing in one line, instead of letting a later stage fail on
// a refused mount (the rootless engine needs other things:
// missingForRootless). It fills State.GVisor: whether dinv runs on gVisor's
// kernel (host.InGVisor), which the stages after it choose by; there it also
// says when the engine's runc cannot run a container. It runs under -dry-run
// too, finding the same, and then says a missing privilege instead of
// refusing it.
package privileges

import (
	"context"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct{ sys host.System }

// New returns the privileges stage.
func New() core.Stage { return &stage{sys: host.OS()} }

func (*stage) Name() string { return "privileges" }

func (p *stage) Run(ctx context.Context, s *core.State) error {
	s.GVisor = host.InGVisor(p.sys)
	if s.GVisor {
		warnGVisorRunc(core.Log(ctx), p.sys)
	}
	err := check(core.Log(ctx), p.sys, s.Config.Rootless)
	if err != nil && s.Config.DryRun {
		core.Log(ctx).Warn("a real start would stop here", "error", err)
		return nil
	}
	return err
}

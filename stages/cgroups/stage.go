// Package cgroups is the cgroups stage: it makes the container's cgroups
// usable by the engine, without which no container runs inside: read-only v1
// hierarchies made writable, and on cgroup v2 dinv's processes moved to a
// child cgroup so that every controller can be enabled for the engine's
// (fixCgroups). A rootless engine cannot use them here, which it says once
// (rootlessCgroups); under gVisor it says which controllers are missing. It
// fills no State field, and -dry-run skips it.
package cgroups

import (
	"context"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct {
	sys   host.System
	sleep func(time.Duration)
}

// New returns the cgroups stage.
func New() core.Stage { return &stage{sys: host.OS(), sleep: time.Sleep} }

func (*stage) Name() string { return "cgroups" }
func (*stage) SkipsDryRun() {}

func (c *stage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	if s.Config.Rootless {
		return rootlessCgroups(log, c.sys)
	}
	if s.GVisor {
		if err := warnGVisorCgroups(log, c.sys); err != nil {
			return err
		}
	}
	return fixCgroups(log, c.sys, c.sleep)
}

// Package mounts is the mounts stage: it mounts securityfs, where the engine
// detects AppArmor, and makes / a shared mount, so that the engine's mounts
// propagate (fixMounts). Not for the rootless engine: rootlesskit makes the
// engine's mount namespace itself, and the container's root holds no
// CAP_SYS_ADMIN to mount anything. It fills no State field, and -dry-run
// skips it.
package mounts

import (
	"context"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct{ sys host.System }

// New returns the mounts stage.
func New() core.Stage { return &stage{sys: host.OS()} }

func (*stage) Name() string { return "mounts" }
func (*stage) SkipsDryRun() {}

func (m *stage) Run(ctx context.Context, s *core.State) error {
	if s.Config.Rootless {
		core.Log(ctx).Debug("rootless engine: rootlesskit makes its mounts")
		return nil
	}
	return fixMounts(core.Log(ctx), m.sys)
}

// Package stale is the stale stage: it removes the run files a killed
// engine left behind (the pid files and containerd's socket, removeStale),
// which would keep a new engine from starting, and never those of a live
// engine. It fills no State field, and -dry-run skips it.
package stale

import (
	"context"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct{ sys host.System }

// New returns the stale stage.
func New() core.Stage { return &stage{sys: host.OS()} }

func (*stage) Name() string { return "stale" }
func (*stage) SkipsDryRun() {}

func (st *stage) Run(ctx context.Context, s *core.State) error {
	return removeStale(core.Log(ctx), st.sys, s.Config.Engine.Pidfile.Value, s.Config.Engine.ExecRoot.Value)
}

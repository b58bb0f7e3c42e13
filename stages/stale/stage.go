// Package stale is the stale stage: it removes the run files a killed
// engine left behind (the pid files and containerd's socket, removeStale),
// which would keep a new engine from starting, and never those of a live
// engine; and it makes the directory of each unix socket the engine is to
// listen on (socketDirs): the engine binds a socket but makes no directory.
// It fills no State field, and -dry-run skips it.
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
	e := &s.Config.Engine
	if err := removeStale(core.Log(ctx), st.sys, e.Pidfile.Value, e.ExecRoot.Value); err != nil {
		return err
	}
	return socketDirs(core.Log(ctx), st.sys, e.Listeners)
}

// Package rootless is the rootless stage: it prepares the container for the
// rootless engine, and without Config.Rootless does nothing. The
// dinv:<version>-rootless images set DINV_ROOTLESS=1, and dinv then runs the
// engine as an unprivileged user in a user namespace of its own, made by
// rootlesskit (Debian's dockerd-rootless.sh), with slirp4netns for its
// network. The container's root only prepares (prepareRootless): the user
// and its subordinate IDs, its run directory, the ID-mapping helpers, the tun
// device, and links from the usual socket and pid file to the user's. The
// engine's command line stays dinv's; the image's wrapper (images/
// rootless/dockerd, first in the engine's PATH) moves its run files to the
// user's run directory and starts it as the user under rootlesskit.
//
// It fills State.EngineUser and State.EngineEnv (the user's HOME and
// XDG_RUNTIME_DIR, the wrapper first in PATH); -dry-run skips it.
package rootless

import (
	"context"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct{ sys host.System }

// New returns the rootless stage.
func New() core.Stage { return &stage{sys: host.OS()} }

func (*stage) Name() string { return "rootless" }
func (*stage) SkipsDryRun() {}

func (r *stage) Run(ctx context.Context, s *core.State) error {
	if !s.Config.Rootless {
		core.Log(ctx).Debug("not rootless: nothing to do")
		return nil
	}
	env, err := prepareRootless(core.Log(ctx), r.sys, &s.Config, s.EngineEnv)
	if err != nil {
		return err
	}
	u := rootlessUser
	s.EngineEnv = env
	s.EngineUser = &core.EngineUser{Name: u.Name, UID: u.UID, GID: u.GID}
	return nil
}

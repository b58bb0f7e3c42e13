package engine

import (
	"os"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/activation"
	"github.com/dinv/dinv/internal/reaper"
)

// activated turns the engine's command into its launch through dinv
// (internal/activation) with the listening sockets as fds 3 and up. The
// engine is looked up in env's PATH here, so that a missing engine fails to
// start as it does without activation.
func activated(c reaper.Cmd, sockets []*os.File) (reaper.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return c, errors.Wrap(err, "find dinv's own program for the engine's launcher")
	}
	path, err := reaper.LookPath(c.Args[0], c.Env)
	if err != nil {
		return c, err
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	c.Path = self
	c.Args = append([]string{activation.LauncherName, path}, c.Args...)
	c.Env = activation.LauncherEnv(env, len(sockets))
	c.Files = sockets
	return c, nil
}

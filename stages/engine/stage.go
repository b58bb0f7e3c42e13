// Package engine is the engine stage: it starts the command lines the args
// stage built (State.Commands) and leaves them supervised (supervisor) for
// the rest of dinv's life, in State.Engine. Processes are started and reaped
// by internal/reaper. -dry-run skips it.
package engine

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/activation"
	"github.com/dinv/dinv/internal/reaper"
)

// stopGrace is how long a process dinv ends gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// engineStopGrace is how long the engine gets to shut down when dinv stops
// it (a stage failed after it started): dockerd gives its containers 15 s,
// and a swarm manager's clean-up comes on top (seen: over 5 s for one that
// was still setting up its networks).
const engineStopGrace = 30 * time.Second

// servingWait is how long a process the engine needs (containerd) may take
// to serve before the engine stage gives up: the engine's own wait for the
// containerd it is given (--containerd) is a minute.
const servingWait = time.Minute

type stage struct {
	procs  func() (reaper.Procs, error)
	stderr io.Writer
}

// New returns the engine stage.
func New() core.Stage {
	return &stage{procs: reaper.Default, stderr: os.Stderr}
}

func (*stage) Name() string                   { return "engine" }
func (*stage) SkipsDryRun()                   {}
func (*stage) Phase() core.Phase              { return core.Start }
func (*stage) Requires(*core.Config) []string { return []string{"args"} }

func (e *stage) Run(ctx context.Context, s *core.State) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx) // stopped before the engine started: start nothing
	}
	log := core.Log(ctx)
	procs, err := e.procs()
	if err != nil {
		log.Debug("not a child subreaper", "error", err)
	}
	cmds := make([]reaper.Cmd, len(s.Commands))
	serves := make([]string, len(s.Commands))
	for i, c := range s.Commands {
		if err := writeFiles(c.Files); err != nil {
			return err
		}
		cmds[i] = reaper.Cmd{Args: c.Args, Env: engineEnv(s.EngineEnv, c.Env), Stderr: e.stderr}
		serves[i] = c.Serves
	}
	if len(s.Listeners) > 0 {
		last := &cmds[len(cmds)-1]
		if *last, err = activated(*last, s.Listeners); err != nil {
			return err
		}
		log.Debug("socket activation", "first_fd", activation.FirstFD, "sockets", len(s.Listeners))
	}
	sup, err := superviseServing(ctx, log, procs, cmds, serves, stopGrace, servingWait)
	for _, l := range s.Listeners {
		l.Close() // the engine has its own copies now
	}
	s.Listeners = nil
	if err != nil {
		return err
	}
	sup.SetEngineGrace(engineStopGrace)
	s.Engine = sup
	return nil
}

// engineEnv is env (nil: dinv's own) with add after it; nil when both are.
func engineEnv(env, add []string) []string {
	if len(add) == 0 {
		return env
	}
	if env == nil {
		env = os.Environ()
	}
	return append(append([]string(nil), env...), add...)
}

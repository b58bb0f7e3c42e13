package engine

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/dinv/dinv/core"
)

// stopGrace is how long a process dinv stops gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// engineStage starts State.Commands and leaves them supervised in State.Engine.
type engineStage struct {
	signals <-chan os.Signal
	procs   func() Procs
	stderr  io.Writer
}

// New returns the engine stage; signals are those dinv caught (see
// ForwardedSignals), forwarded to the engine for as long as it runs.
func New(signals <-chan os.Signal) core.Stage {
	return &engineStage{signals: signals, procs: realProcs, stderr: os.Stderr}
}

func (*engineStage) Name() string                   { return "engine" }
func (*engineStage) Mutates() bool                  { return true }
func (*engineStage) Requires(*core.Config) []string { return []string{"args"} }

func (e *engineStage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	procs := e.procs()
	if subreaperErr != nil {
		log.Debug("not a child subreaper", "error", subreaperErr)
	}
	sup, err := Supervise(log, procs, s.Commands, s.EngineEnv, e.signals, e.stderr, stopGrace)
	if err != nil {
		return err
	}
	s.Engine = sup
	return nil
}

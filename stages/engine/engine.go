package engine

import (
	"context"
	"io"
	"os"
	"syscall"
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
func (*engineStage) SkipsDryRun()                   {}
func (*engineStage) Requires(*core.Config) []string { return []string{"args"} }

func (e *engineStage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	procs := e.procs()
	if subreaperErr != nil {
		log.Debug("not a child subreaper", "error", subreaperErr)
	}
	if sig := pendingStop(e.signals); sig != nil {
		return &StoppedError{Signal: *sig}
	}
	sup, err := Supervise(log, procs, s.Commands, s.EngineEnv, e.signals, e.stderr, stopGrace)
	if err != nil {
		return err
	}
	s.Engine = sup
	return nil
}

// StoppedError is the engine stage's answer to a SIGTERM, SIGINT or SIGQUIT
// that came before the engine started: it does not start it at all.
type StoppedError struct{ Signal syscall.Signal }

func (e *StoppedError) Error() string {
	return e.Signal.String() + " before the engine started: not starting it"
}

// ExitCode is 128+N, as if the signal had ended the engine.
func (e *StoppedError) ExitCode() int { return 128 + int(e.Signal) }

// pendingStop drains the signals caught so far and returns the first that
// asks dinv to stop; the others (HUP, USR1, USR2) have no engine to go to yet.
func pendingStop(signals <-chan os.Signal) (stop *syscall.Signal) {
	for {
		select {
		case sig := <-signals:
			ss, ok := sig.(syscall.Signal)
			if stop == nil && ok && (ss == syscall.SIGTERM || ss == syscall.SIGINT || ss == syscall.SIGQUIT) {
				stop = &ss
			}
		default:
			return stop
		}
	}
}

package core

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
)

// Runner runs a resolved stage list in order, then watches the engine a stage
// started until it ends. It alone owns what cuts across stages:
//   - each stage's logger (dinv.<name>), its start and finish with the
//     duration at debug level, and the one wrap of a failure with its name;
//   - skipping DryRunSkippers under -dry-run;
//   - the signals dinv catches (Catch): the first stop signal ends the
//     stages' context; once the engine runs, every other signal goes to it;
//   - the engine's life: once the stage that starts it (Phase Start) has
//     returned, the stages after it get a context that ends with the engine.
type Runner struct {
	Log hclog.Logger     // the root logger, named "dinv"
	Now func() time.Time // the clock; time.Now when nil
	// StageWait is how long a stage gets to return once its context has
	// ended (a stop signal, the engine's end); 2 s when zero. One that takes
	// longer is left behind: dinv is about to exit.
	StageWait time.Duration

	mu       sync.Mutex
	engine   Engine     // signals go to it once set
	stopping *StopError // the first stop signal
	cancel   context.CancelCauseFunc
	release  chan struct{}
}

// Exit is how a run of dinv ends.
type Exit struct {
	Code   int    // dinv's exit status
	Reason string // why, in a few words
	Err    error  // the failure that ended the run, nil for a clean end
}

// Catch routes signals, caught by dinv's main from its first instruction, for
// the rest of the runner's life, and returns ctx ended by the first stop
// signal (SIGTERM, SIGINT, SIGQUIT) with a *StopError cause.
//
// Before the engine runs, other signals are dropped with a warning: the engine
// is not there to get them, and one passed on while it starts, before it has
// installed its handlers, would kill it. Once it runs every signal goes to it
// at once, except the first stop signal, which Run passes on after the stop
// hooks.
func (r *Runner) Catch(ctx context.Context, signals <-chan os.Signal) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	r.cancel = cancel
	r.release = make(chan struct{})
	go func() {
		for {
			select {
			case <-r.release:
				return
			case sig := <-signals:
				if ss, ok := sig.(syscall.Signal); ok {
					r.route(ss)
				}
			}
		}
	}()
	return ctx
}

// Release stops routing signals: for a runner that is done.
func (r *Runner) Release() {
	if r.release != nil {
		close(r.release)
	}
}

// route handles one caught signal.
func (r *Runner) route(sig syscall.Signal) {
	r.mu.Lock()
	eng := r.engine
	first := isStop(sig) && r.stopping == nil
	if first {
		// Said before the stop is visible: Run may return, and dinv exit,
		// as soon as it is.
		r.Log.Info("stop signal received", "signal", SignalName(sig), "engine_running", eng != nil)
		r.stopping = &StopError{Signal: sig}
	}
	stop := r.stopping
	r.mu.Unlock()
	switch {
	case first:
		r.cancel(stop)
	case eng != nil:
		r.Log.Debug("forward signal", "signal", SignalName(sig))
		if err := eng.Signal(sig); err != nil {
			r.Log.Warn("cannot forward signal", "signal", SignalName(sig), "error", err)
		}
	case isStop(sig):
		r.Log.Debug("already stopping", "signal", SignalName(sig))
	default:
		r.Log.Warn("signal before the engine started: dropped", "signal", SignalName(sig))
	}
}

// stopped returns the first stop signal, nil before one.
func (r *Runner) stopped() *StopError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

// Run runs stages in order on s and stops at the first failure, wrapped as
// "stage <name>: ...", or at a stop signal: no stage starts after one. ctx
// is Catch's (or any context). Once the stage that starts the engine has
// returned, Run watches the engine: the stages after it get a context that
// also ends with the engine, and Run returns once the engine has ended,
// with its status. A stop signal passes on to the engine; a failure once
// the engine runs stops it.
func (r *Runner) Run(ctx context.Context, stages []Stage, s *State) Exit {
	life, endLife := context.WithCancelCause(ctx)
	defer endLife(nil)
	var failure error
	for _, st := range stages {
		if r.stopped() != nil {
			// A stop signal came during the last stage, which returned
			// all the same (it does not watch its context): no later
			// stage runs, the engine's least of all.
			break
		}
		if _, skip := st.(DryRunSkipper); skip && s.Config.DryRun {
			r.Log.Named(st.Name()).Debug("skipped", "reason", "dry-run")
			continue
		}
		err := r.runStage(life, st, s)
		if PhaseOf(st) == Start && s.Engine != nil && r.watch(s.Engine) {
			go func(eng Engine) {
				select {
				case <-eng.Done():
					endLife(errors.New(eng.Reason()))
				case <-life.Done():
				}
			}(s.Engine)
		}
		if err != nil {
			failure = err
			break
		}
	}
	stop := r.stopped()
	if stop != nil {
		failure = nil // the stop explains whatever the stages said
	}
	eng := s.Engine
	switch {
	case eng == nil && stop != nil:
		return Exit{Code: stop.ExitCode(), Reason: stop.Error() + " before the engine started"}
	case eng == nil && failure != nil:
		return Exit{Code: ExitCode(failure), Reason: "start-up failed", Err: failure}
	case eng == nil && s.Config.DryRun:
		return Exit{Reason: "dry run"}
	case eng == nil:
		return Exit{Reason: "no engine stage in the list"}
	case failure != nil && running(eng):
		// A stage failed with the engine running: stop it, as a stop
		// signal would, and fail.
		eng.Stop()
		<-eng.Done()
		return Exit{Code: ExitCode(failure), Reason: "start-up failed; engine stopped", Err: failure}
	}
	if failure == nil {
		select {
		case <-eng.Done():
		case <-life.Done():
		}
	}
	if stop = r.stopped(); stop != nil && running(eng) {
		r.Log.Debug("forward signal", "signal", SignalName(stop.Signal))
		if err := eng.Signal(stop.Signal); err != nil {
			r.Log.Warn("cannot forward signal", "signal", SignalName(stop.Signal), "error", err)
		}
	}
	<-eng.Done()
	exit := Exit{Code: eng.ExitCode(), Reason: eng.Reason()}
	if failure != nil && exit.Code != 0 {
		// The engine ended the start-up (it crashed before answering).
		exit.Err = failure
	}
	return exit
}

// watch records the engine the signals go to from now on, and reports
// whether it is new.
func (r *Runner) watch(eng Engine) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.engine == eng {
		return false
	}
	r.engine = eng
	return true
}

// runStage runs one stage with its logger, timed, its error wrapped.
func (r *Runner) runStage(ctx context.Context, st Stage, s *State) error {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	log := r.Log.Named(st.Name())
	start := now()
	if !r.begin(log) {
		return nil // a stop signal came after the last stage: Run stops
	}
	done := make(chan error, 1)
	go func() { done <- st.Run(WithLog(ctx, log), s) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		case <-time.After(orDefault(r.StageWait, 2*time.Second)):
			log.Warn("stage still running after its context ended; not waiting for it", "cause", context.Cause(ctx))
			return errors.Wrapf(context.Cause(ctx), "stage %s", st.Name())
		}
	}
	if err != nil {
		log.Debug("failed", "duration", now().Sub(start))
		return errors.Wrapf(err, "stage %s", st.Name())
	}
	log.Debug("done", "duration", now().Sub(start))
	return nil
}

// begin logs a stage's start unless a stop signal has come, under the lock
// route says the stop with: no stage starts after "stop signal received".
func (r *Runner) begin(log hclog.Logger) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping != nil {
		return false
	}
	log.Debug("start")
	return true
}

// running reports whether the engine has not exited yet.
func running(e Engine) bool {
	select {
	case <-e.Done():
		return false
	default:
		return true
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

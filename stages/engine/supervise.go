package engine

import (
	"context"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/reaper"
)

// supervisor is the engine's process tree while dinv looks after it: it
// passes signals to the engine and, when the engine exits, ends everything
// else it started and records why. It implements core.Engine.
type supervisor struct {
	log    hclog.Logger
	procs  reaper.Procs
	engine reaper.Proc
	names  []string      // the program of each process, the engine last
	all    []reaper.Proc // every started process, the engine last
	cmds   []reaper.Cmd  // what each was started with
	serves []string      // the socket each serves the ones after it ("" none)
	tail   *tail         // the engine's last stderr lines
	grace  time.Duration // SIGTERM to SIGKILL for what is left when the engine has gone
	// engineGrace is SIGTERM to SIGKILL for the engine when Stop ends it.
	engineGrace time.Duration

	done   chan struct{}
	code   int
	reason string
}

// supervise starts cmds in order (the last is the engine, whose stderr is
// also kept for LastError) and supervises them in the background. If one
// cannot be started, the ones already running are ended and the error
// returned. grace is how long a process gets between SIGTERM and SIGKILL
// when dinv ends it.
func supervise(log hclog.Logger, procs reaper.Procs, cmds []reaper.Cmd, grace time.Duration) (*supervisor, error) {
	return superviseServing(context.Background(), log, procs, cmds, nil, grace, 0)
}

// superviseServing is supervise, except that a process the ones after it
// need (containerd, before the engine it serves) is waited for: when
// serves[i] is not "", the command after cmds[i] starts once cmds[i]'s
// process accepts a connection on the unix socket serves[i]. If it exits
// first, does not serve within wait, or ctx ends meanwhile (or before a
// command starts), what was started is ended and the error returned. Such
// a process that exits while the engine runs is started again (as the
// engine restarts the containerd it manages itself): the engine reconnects
// to it.
func superviseServing(ctx context.Context, log hclog.Logger, procs reaper.Procs, cmds []reaper.Cmd, serves []string,
	grace, wait time.Duration) (*supervisor, error) {
	if len(cmds) == 0 {
		return nil, errors.New("no command to start: the args stage left none")
	}
	out := cmds[len(cmds)-1].Stderr
	if out == nil {
		out = os.Stderr
	}
	s := &supervisor{log: log, procs: procs, tail: newTail(out), grace: grace, engineGrace: grace, done: make(chan struct{})}
	for i, c := range cmds {
		if ctx.Err() != nil { // a stop came: start nothing more
			s.endAll()
			return nil, context.Cause(ctx)
		}
		serving := ""
		if i < len(serves) && i < len(cmds)-1 {
			serving = serves[i]
		}
		var tail *tail
		switch {
		case i == len(cmds)-1:
			c.Stderr = s.tail
		case serving != "":
			tail = newTail(orStderr(c.Stderr)) // why it stopped, should it stop before serving
			c.Stderr = tail
		}
		p, err := procs.Start(c)
		if err != nil {
			s.endAll()
			return nil, err
		}
		log.Debug("started", "pid", p.Pid(), "args", c.Args)
		s.names = append(s.names, c.Args[0])
		s.all = append(s.all, p)
		s.cmds = append(s.cmds, c)
		s.serves = append(s.serves, serving)
		if serving == "" {
			continue
		}
		start := time.Now()
		if err := waitServing(ctx, p, serving, wait); err != nil {
			s.endAll()
			if last := tail.LastError(); last != "" {
				return nil, errors.Wrapf(err, "%s (its last line: %s)", c.Args[0], last)
			}
			return nil, errors.Wrapf(err, "%s", c.Args[0])
		}
		log.Debug("serving", "program", c.Args[0], "socket", serving, "after", time.Since(start))
	}
	s.engine = s.all[len(s.all)-1]
	go s.run()
	return s, nil
}

func orStderr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stderr
	}
	return w
}

// restartDelay is how long a process the engine needs (supervisor.serves)
// stays down before it is started again.
var restartDelay = time.Second

// run waits for the engine to exit, then ends everything else. A process
// the engine needs that exits meanwhile is started again, after
// restartDelay; another only gets a warning.
func (s *supervisor) run() {
	n := len(s.all) - 1
	exited := make(chan int, n)
	watch := func(i int) {
		p := s.all[i]
		go func() {
			<-p.Done()
			exited <- i
		}()
	}
	for i := range n {
		watch(i)
	}
	restart := make(chan int, n)
	timers := make([]*time.Timer, n) // the restart pending for each
	later := func(i int) { timers[i] = time.AfterFunc(restartDelay, func() { restart <- i }) }
	for {
		select {
		case i := <-exited:
			st := s.all[i].Status().String()
			if s.serves[i] == "" {
				s.log.Warn("process exited before the engine", "program", s.names[i], "status", st)
				continue
			}
			s.log.Error("a process the engine needs exited: starting it again", "program", s.names[i], "status", st,
				"after", restartDelay)
			later(i)
		case i := <-restart:
			p, err := s.procs.Start(s.cmds[i])
			if err != nil {
				s.log.Error("cannot start it again: trying later", "program", s.names[i], "error", err)
				later(i)
				continue
			}
			s.log.Info("started again", "program", s.names[i], "pid", p.Pid())
			s.all[i] = p
			watch(i)
		case <-s.engine.Done():
			for _, t := range timers {
				if t != nil {
					t.Stop()
				}
			}
			st := s.engine.Status()
			s.endAll()
			s.code = st.ExitCode()
			s.reason = "engine " + st.String()
			close(s.done)
			return
		}
	}
}

// endAll ends what dinv started and what those left behind: the processes
// themselves, every member of their process groups and dinv's stray children
// (orphans reparented to it). SIGTERM first; SIGKILL to whatever is left
// after the grace period. Nothing may survive holding dinv's output.
func (s *supervisor) endAll() {
	if !s.signalAll(syscall.SIGTERM) {
		return
	}
	if s.waitGone(s.grace) {
		return
	}
	s.log.Debug("processes still there after the grace period: killing them", "grace", s.grace)
	s.signalAll(syscall.SIGKILL)
	if !s.waitGone(5 * time.Second) {
		s.log.Warn("processes still there after SIGKILL")
	}
}

// signalAll sends sig to every process of the tree and reports whether any
// was there to get it.
func (s *supervisor) signalAll(sig syscall.Signal) bool {
	any := false
	for _, p := range s.all {
		if p.SignalGroup(sig) {
			any = true
		}
		select {
		case <-p.Done():
		default:
			_ = p.Signal(sig) // it exits meanwhile: nothing to do
			any = true
		}
	}
	for _, pid := range s.procs.Strays() {
		if syscall.Kill(pid, sig) == nil {
			any = true
		}
	}
	return any
}

// waitGone waits up to d for the tree to be gone and reports whether it is.
func (s *supervisor) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !s.alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether any process of the tree is still there.
func (s *supervisor) alive() bool {
	for _, p := range s.all {
		select {
		case <-p.Done():
		default:
			return true
		}
		if p.SignalGroup(0) {
			return true
		}
	}
	return len(s.procs.Strays()) > 0
}

// Done is closed when the engine has exited and the others are gone.
func (s *supervisor) Done() <-chan struct{} { return s.done }

// ExitCode is the engine's exit status, 128+N for signal N; valid after Done.
func (s *supervisor) ExitCode() int { <-s.done; return s.code }

// Reason says how the engine ended ("engine exited with status 1"); valid
// after Done.
func (s *supervisor) Reason() string { <-s.done; return s.reason }

// Signal passes sig on to the engine.
func (s *supervisor) Signal(sig syscall.Signal) error { return s.engine.Signal(sig) }

// SetEngineGrace sets how long Stop gives the engine to shut down before
// it kills it (the grace supervise was given, unless set); call it before Stop.
func (s *supervisor) SetEngineGrace(d time.Duration) { s.engineGrace = d }

// Stop asks the engine to shut down with SIGTERM, and kills it, saying so,
// after the engine's grace period; Done tells when it has gone.
func (s *supervisor) Stop() {
	grace := s.engineGrace
	go func() {
		_ = s.engine.Signal(syscall.SIGTERM)
		select {
		case <-s.engine.Done():
		case <-time.After(grace):
			s.log.Warn("the engine did not shut down in time: killing it", "grace", grace)
			_ = s.engine.Signal(syscall.SIGKILL)
		}
	}()
}

// LastError is the engine's stderr line that best explains its exit.
func (s *supervisor) LastError() string { return s.tail.LastError() }

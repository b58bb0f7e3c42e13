package engine

import (
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
	if len(cmds) == 0 {
		return nil, errors.New("no command to start: the args stage left none")
	}
	out := cmds[len(cmds)-1].Stderr
	if out == nil {
		out = os.Stderr
	}
	s := &supervisor{log: log, procs: procs, tail: newTail(out), grace: grace, engineGrace: grace, done: make(chan struct{})}
	for i, c := range cmds {
		if i == len(cmds)-1 {
			c.Stderr = s.tail
		}
		p, err := procs.Start(c)
		if err != nil {
			s.endAll()
			return nil, err
		}
		log.Debug("started", "pid", p.Pid(), "args", c.Args)
		s.names = append(s.names, c.Args[0])
		s.all = append(s.all, p)
	}
	s.engine = s.all[len(s.all)-1]
	go s.run()
	return s, nil
}

// run waits for the engine to exit, then ends everything else.
func (s *supervisor) run() {
	others := s.all[:len(s.all)-1]
	exited := make(chan int, len(others))
	for i, p := range others {
		go func() {
			<-p.Done()
			exited <- i
		}()
	}
	for {
		select {
		case i := <-exited:
			s.log.Warn("process exited before the engine", "program", s.names[i], "status", others[i].Status().String())
		case <-s.engine.Done():
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
// it kills it (the grace Supervise was given, unless set); call it before Stop.
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

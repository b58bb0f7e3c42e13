package engine

import (
	"io"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Supervisor is the engine's process tree while dinv looks after it: it
// forwards signals to the engine and, when the engine exits, stops the other
// processes it started and records why. It implements core.Engine.
type Supervisor struct {
	log    hclog.Logger
	engine Proc
	names  []string // the program of each process, the engine last
	procs  []Proc   // every started process, the engine last
	tail   *tail    // the engine's last stderr lines
	grace  time.Duration

	done   chan struct{}
	code   int
	reason string
}

// Supervise starts cmds in order (the last is the engine) with env, passing
// their stderr through to stderr, and supervises them in the background:
// every signal from signals goes to the engine. If one cannot be started, the
// ones already running are stopped and the error returned. grace is how long
// a process gets between SIGTERM and SIGKILL when dinv stops it.
func Supervise(log hclog.Logger, procs Procs, cmds []core.Command, env []string,
	signals <-chan os.Signal, stderr io.Writer, grace time.Duration) (*Supervisor, error) {
	if len(cmds) == 0 {
		return nil, errors.New("no command to start: the args stage left none")
	}
	s := &Supervisor{log: log, tail: newTail(stderr), grace: grace, done: make(chan struct{})}
	for i, c := range cmds {
		out := stderr
		if i == len(cmds)-1 {
			out = s.tail
		}
		p, err := procs.Start(c.Args, env, out)
		if err != nil {
			terminate(s.procs, grace)
			return nil, err
		}
		log.Debug("started", "pid", p.Pid(), "args", c.Args)
		s.names = append(s.names, c.Args[0])
		s.procs = append(s.procs, p)
	}
	s.engine = s.procs[len(s.procs)-1]
	go s.run(signals)
	return s, nil
}

// run forwards signals until the engine exits, then stops the others.
func (s *Supervisor) run(signals <-chan os.Signal) {
	others := s.procs[:len(s.procs)-1]
	exited := make(chan int, len(others))
	for i, p := range others {
		go func() {
			<-p.Done()
			exited <- i
		}()
	}
	for {
		select {
		case sig := <-signals:
			ss, ok := sig.(syscall.Signal)
			if !ok {
				continue
			}
			s.log.Debug("forward signal", "signal", sig.String())
			if err := s.engine.Signal(ss); err != nil {
				s.log.Warn("cannot forward signal", "signal", sig.String(), "error", err)
			}
		case i := <-exited:
			s.log.Warn("process exited before the engine", "program", s.names[i], "status", others[i].Status().String())
		case <-s.engine.Done():
			st := s.engine.Status()
			terminate(others, s.grace)
			s.code = st.ExitCode()
			s.reason = "engine " + st.String()
			close(s.done)
			return
		}
	}
}

// terminate stops every process still running: SIGTERM, then SIGKILL to those
// still there after grace.
func terminate(procs []Proc, grace time.Duration) {
	for _, p := range procs {
		_ = p.Signal(syscall.SIGTERM)
	}
	if !waitAll(procs, grace) {
		for _, p := range procs {
			_ = p.Signal(syscall.SIGKILL)
		}
		waitAll(procs, 5*time.Second)
	}
}

// waitAll waits up to d for every process to exit and reports whether they did.
func waitAll(procs []Proc, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for _, p := range procs {
		select {
		case <-p.Done():
		case <-timer.C:
			return false
		}
	}
	return true
}

// Done is closed when the engine has exited and the others are stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// ExitCode is the engine's exit status, 128+N for signal N; valid after Done.
func (s *Supervisor) ExitCode() int { <-s.done; return s.code }

// Reason says how the engine ended ("engine exited with status 1"); valid
// after Done.
func (s *Supervisor) Reason() string { <-s.done; return s.reason }

// Stop asks the engine to shut down with SIGTERM, and kills it after the
// grace period; Done tells when it has gone.
func (s *Supervisor) Stop() {
	go terminate([]Proc{s.engine}, s.grace)
}

// LastError is the engine's stderr line that best explains its exit.
func (s *Supervisor) LastError() string { return lastError(s.tail.Lines()) }

package engine

import (
	"io"
	"sync"
	"syscall"
)

// fakeProcs records what was started; each fake process ends when the test
// says so, or on a signal in its exitOn set.
type fakeProcs struct {
	mu      sync.Mutex
	started []*fakeProc
	envs    [][]string
	failAt  int // Start fails for the process with this 1-based index
	exitOn  map[string]map[syscall.Signal]Status
}

func (f *fakeProcs) Start(args, env []string, stderr io.Writer) (Proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == len(f.started)+1 {
		return nil, syscall.ENOENT
	}
	p := &fakeProc{pid: 100 + len(f.started), args: args, stderr: stderr, done: make(chan struct{}),
		exitOn: f.exitOn[args[0]]}
	f.started = append(f.started, p)
	f.envs = append(f.envs, env)
	return p, nil
}

type fakeProc struct {
	mu      sync.Mutex
	pid     int
	args    []string
	stderr  io.Writer
	signals []syscall.Signal
	exitOn  map[syscall.Signal]Status
	status  Status
	done    chan struct{}
	closed  bool
}

func (p *fakeProc) Pid() int              { return p.pid }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) Status() Status        { <-p.done; return p.status }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.signals = append(p.signals, sig)
	st, ok := p.exitOn[sig]
	p.mu.Unlock()
	if ok {
		p.exit(st)
	}
	return nil
}

func (p *fakeProc) exit(st Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.status = st
	close(p.done)
}

func (p *fakeProc) got() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

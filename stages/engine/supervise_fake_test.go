package engine

import (
	"io"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/reaper"
)

// fakeProcs records what was started; each fake process ends when the test
// says so, or on a signal in its exitOn set.
type fakeProcs struct {
	mu      sync.Mutex
	started []*fakeProc
	envs    [][]string
	failAt  int // Start fails for the process with this 1-based index
	exitOn  map[string]map[syscall.Signal]reaper.Status
	// groupLeft is how many members each process's group keeps after its
	// leader exits, until they get a signal in groupDiesOn.
	groupLeft   int
	groupDiesOn map[syscall.Signal]bool
	strays      map[int]bool // stray children; a signal in groupDiesOn ends them
	// signals are the signals every process got, in order: "dockerd SIGTERM".
	signals []string
	onStart func() // called as each process starts
}

func (f *fakeProcs) signalled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.signals...)
}

// startedArgs0 lists the program of each process started so far.
func (f *fakeProcs) startedArgs0() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.started {
		out = append(out, p.args[0])
	}
	return out
}

func (f *fakeProcs) proc(i int) *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started[i]
}

func (f *fakeProcs) Start(c reaper.Cmd) (reaper.Proc, error) {
	args, env, stderr := c.Args, c.Env, c.Stderr
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == len(f.started)+1 {
		return nil, syscall.ENOENT
	}
	p := &fakeProc{f: f, pid: 100 + len(f.started), args: args, stderr: stderr, done: make(chan struct{}),
		exitOn: f.exitOn[args[0]], group: f.groupLeft}
	f.started = append(f.started, p)
	f.envs = append(f.envs, env)
	if f.onStart != nil {
		f.onStart()
	}
	return p, nil
}

func (f *fakeProcs) Strays() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for pid := range f.strays {
		out = append(out, pid)
	}
	return out
}

type fakeProc struct {
	f        *fakeProcs
	mu       sync.Mutex
	pid      int
	args     []string
	stderr   io.Writer
	signals  []syscall.Signal
	groupGot []syscall.Signal
	group    int // members of its group besides itself
	exitOn   map[syscall.Signal]reaper.Status
	status   reaper.Status
	done     chan struct{}
	closed   bool
}

func (p *fakeProc) Pid() int              { return p.pid }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) Status() reaper.Status { <-p.done; return p.status }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.signals = append(p.signals, sig)
	st, ok := p.exitOn[sig]
	p.mu.Unlock()
	p.f.mu.Lock()
	p.f.signals = append(p.f.signals, p.args[0]+" "+unix.SignalName(sig))
	p.f.mu.Unlock()
	if ok {
		p.exit(st)
	}
	return nil
}

func (p *fakeProc) SignalGroup(sig syscall.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed || p.group > 0 {
		if sig != 0 {
			p.groupGot = append(p.groupGot, sig)
		}
		if p.f.groupDiesOn[sig] {
			p.group = 0
		}
		return true
	}
	return false
}

func (p *fakeProc) exit(st reaper.Status) {
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

func (p *fakeProc) gotGroup() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.groupGot...)
}

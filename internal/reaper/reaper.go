// Package reaper is the one place dinv waits for child processes. dinv may be
// PID 1 (or a child subreaper): orphans are reparented to it, and a single
// loop calls wait4(-1) on every SIGCHLD, hands the statuses of the processes
// it started to their Procs and discards the others'. Once it runs, nothing
// else in dinv may wait for a child (no exec.Cmd.Wait, no exec.Command.Run):
// the loop would steal the status. Stages after the engine run programs with
// Output instead.
package reaper

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// Procs starts processes and tells how they end: the narrow interface between
// the supervisor and the operating system. The real one is the reaper; the
// supervisor's unit tests use a fake.
type Procs interface {
	// Start runs c with stdin from /dev/null, in a process group of its own
	// so that a terminal's Ctrl-C reaches it only through dinv.
	Start(c Cmd) (Proc, error)
	// Strays returns the pids of dinv's children it did not start: orphans
	// of its processes, reparented to it.
	Strays() []int
}

// Cmd is a process to start.
type Cmd struct {
	Path   string     // the program; "" looks Args[0] up in Env's PATH
	Args   []string   // its argv, Args[0] included
	Env    []string   // nil: dinv's own
	Stdout io.Writer  // nil: dinv's own
	Stderr io.Writer  // nil: dinv's own
	Files  []*os.File // open files it gets as fd 3, 4, ...
}

// Proc is one started process.
type Proc interface {
	Pid() int
	// Signal sends sig; after the process has exited it does nothing.
	Signal(sig syscall.Signal) error
	// SignalGroup sends sig to the process's group (what it started and did
	// not move elsewhere), and reports whether any member was there to get it.
	SignalGroup(sig syscall.Signal) bool
	// Done is closed when the process has exited; Status is valid after it.
	Done() <-chan struct{}
	Status() Status
}

// outputDrain bounds how long an exited process's output is read on after its
// exit: a grandchild may hold the pipe open.
const outputDrain = 200 * time.Millisecond

type reaper struct {
	mu      sync.Mutex
	waiting map[int]*proc
}

var (
	once         sync.Once
	theReaper    *reaper
	subreaperErr error
)

// Default returns the process-wide reaper, starting it on first use: dinv
// becomes a child subreaper, so that orphans of the engine are its to reap
// even when it is not PID 1 (under docker run --init, say). The error says
// why it could not become one (the reaper works regardless).
func Default() (Procs, error) {
	once.Do(func() {
		subreaperErr = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		theReaper = &reaper{waiting: make(map[int]*proc)}
		sigchld := make(chan os.Signal, 1)
		signal.Notify(sigchld, syscall.SIGCHLD)
		go func() {
			for range sigchld {
				theReaper.reap()
			}
		}()
	})
	return theReaper, subreaperErr
}

func (r *reaper) Start(c Cmd) (Proc, error) {
	if len(c.Args) == 0 {
		return nil, errors.New("empty command line")
	}
	path := c.Path
	if path == "" {
		var err error
		if path, err = LookPath(c.Args[0], c.Env); err != nil {
			return nil, err
		}
	}
	env, stdout, stderr := c.Env, c.Stdout, c.Stderr
	if env == nil {
		env = os.Environ()
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, errors.Wrap(err, "open /dev/null")
	}
	defer devNull.Close()
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	outFile, outCopy, err := outputFile(stdout)
	if err != nil {
		return nil, err
	}
	errFile, errCopy, err := outputFile(stderr)
	if err != nil {
		outCopy.abandon()
		return nil, err
	}
	files := []uintptr{devNull.Fd(), outFile.Fd(), errFile.Fd()}
	for _, f := range c.Files {
		files = append(files, f.Fd())
	}
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: &syscall.SysProcAttr{Setpgid: true}}
	p := &proc{r: r, done: make(chan struct{}), output: []*copier{outCopy, errCopy}}
	// Registered under the lock the reap loop takes, so a child that exits at
	// once is never mistaken for an orphan.
	r.mu.Lock()
	pid, err := syscall.ForkExec(path, c.Args, attr)
	if err == nil {
		p.pid = pid
		r.waiting[pid] = p
	}
	r.mu.Unlock()
	if err != nil {
		outCopy.abandon()
		errCopy.abandon()
		return nil, errors.Wrapf(err, "start %s", path)
	}
	outCopy.start()
	errCopy.start()
	r.reap() // in case its SIGCHLD came before it was registered
	return p, nil
}

// copier copies a child's output from a pipe to a writer that is not a file.
type copier struct {
	r, w *os.File // r nil: the child writes to the file itself
	to   io.Writer
	done chan struct{}
}

// outputFile returns the file a child writes to: w itself when it is a file,
// else a pipe's write end, whose read end the copier drains into w.
func outputFile(w io.Writer) (*os.File, *copier, error) {
	if f, ok := w.(*os.File); ok {
		c := &copier{done: make(chan struct{})}
		close(c.done)
		return f, c, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, errors.Wrap(err, "create output pipe")
	}
	return pw, &copier{r: pr, w: pw, to: w, done: make(chan struct{})}, nil
}

// start, once the child has its copy of the write end, closes dinv's and
// copies until the child's copies are closed too.
func (c *copier) start() {
	if c.r == nil {
		return
	}
	c.w.Close()
	go func() {
		_, _ = io.Copy(c.to, c.r) // a failing writer loses output, not the process
		c.r.Close()
		close(c.done)
	}()
}

// abandon closes both ends of a pipe no child got.
func (c *copier) abandon() {
	if c.r != nil {
		c.r.Close()
		c.w.Close()
	}
}

// reap collects every exited child without blocking.
func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if p, ok := r.waiting[pid]; ok {
			delete(r.waiting, pid)
			p.exited = true
			go p.finish(statusOf(ws))
		}
	}
}

// Strays lists the children of this process (by /proc/PID/stat's parent
// field) that the reaper did not start.
func (r *reaper) Strays() []int {
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || r.waiting[pid] != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok && ppid == self {
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads a process's parent pid from /proc/PID/stat.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

type proc struct {
	r      *reaper
	pid    int
	exited bool // under r.mu: reaped, the pid may be reused
	status Status
	done   chan struct{}
	output []*copier
}

func (p *proc) finish(st Status) {
	timeout := time.After(outputDrain)
	for _, c := range p.output {
		select {
		case <-c.done:
		case <-timeout:
		}
	}
	p.status = st
	close(p.done)
}

func (p *proc) Pid() int              { return p.pid }
func (p *proc) Done() <-chan struct{} { return p.done }
func (p *proc) Status() Status        { <-p.done; return p.status }

func (p *proc) Signal(sig syscall.Signal) error {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	if p.exited {
		return nil
	}
	return errors.Wrapf(syscall.Kill(p.pid, sig), "send %v to %d", sig, p.pid)
}

// SignalGroup signals the process group the process leads (Start made it
// one). The group outlives its leader while members remain, and no new
// process can take its id meanwhile, so this is safe after the leader exits.
func (p *proc) SignalGroup(sig syscall.Signal) bool {
	return syscall.Kill(-p.pid, sig) == nil
}

// LookPath finds name in the PATH of env (dinv's own PATH when env is nil),
// as a shell would; a name with a slash is used as it is.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := os.Getenv("PATH")
	if env != nil {
		path = ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				path = v
			}
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.Errorf("%s: not found in PATH %q", name, path)
}

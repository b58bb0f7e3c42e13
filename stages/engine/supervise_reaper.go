package engine

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
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
	// Start runs args (args[0] looked up in env's PATH) with env (nil: dinv's
	// own), stdin from /dev/null, stdout shared with dinv's and stderr written
	// to stderr, in a process group of its own so that a terminal's Ctrl-C
	// reaches it only through dinv.
	Start(args, env []string, stderr io.Writer) (Proc, error)
}

// Proc is one started process.
type Proc interface {
	Pid() int
	// Signal sends sig; after the process has exited it does nothing.
	Signal(sig syscall.Signal) error
	// Done is closed when the process has exited; Status is valid after it.
	Done() <-chan struct{}
	Status() Status
}

// outputDrain bounds how long an exited process's stderr is read on after its
// exit: a grandchild may hold the pipe open.
const outputDrain = 200 * time.Millisecond

// reaper is the one place dinv waits for children. As dinv may be PID 1 (or
// a subreaper), orphans are reparented to it: its single loop calls wait4(-1)
// on every SIGCHLD, hands the statuses of the processes it started to their
// Procs and discards the others'. Nothing else in dinv may wait for a child
// once it runs (no exec.Cmd.Wait, no exec.Command.Run): the loop would steal
// the status. Stages after the engine that need a process start it here.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]*proc
}

var (
	reaperOnce   sync.Once
	theReaper    *reaper
	subreaperErr error // from prctl, logged by the engine stage
	devNull, _   = os.Open(os.DevNull)
	errNoDevNull = errors.New("open /dev/null")
)

// realProcs returns the process-wide reaper, starting it on first use: dinv
// becomes a child subreaper, so that orphans of the engine are its to reap
// even when it is not PID 1 (under docker run --init, say).
func realProcs() Procs {
	reaperOnce.Do(func() {
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
	return theReaper
}

func (r *reaper) Start(args, env []string, stderr io.Writer) (Proc, error) {
	if len(args) == 0 {
		return nil, errors.New("empty command line")
	}
	if devNull == nil {
		return nil, errNoDevNull
	}
	path, err := lookPath(args[0], env)
	if err != nil {
		return nil, err
	}
	if env == nil {
		env = os.Environ()
	}
	errFile, pipeR, err := stderrFile(stderr)
	if err != nil {
		return nil, err
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{devNull.Fd(), os.Stdout.Fd(), errFile.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	p := &proc{r: r, done: make(chan struct{}), output: make(chan struct{})}
	// Registered under the lock the reap loop takes, so a child that exits at
	// once is never mistaken for an orphan.
	r.mu.Lock()
	pid, err := syscall.ForkExec(path, args, attr)
	if err == nil {
		p.pid = pid
		r.waiting[pid] = p
	}
	r.mu.Unlock()
	if pipeR == nil {
		close(p.output)
	} else {
		errFile.Close()
		if err != nil {
			pipeR.Close()
		} else {
			go func() {
				_, _ = io.Copy(stderr, pipeR)
				pipeR.Close()
				close(p.output)
			}()
		}
	}
	if err != nil {
		return nil, errors.Wrapf(err, "start %s", path)
	}
	r.reap() // in case its SIGCHLD came before it was registered
	return p, nil
}

// stderrFile returns the file the child writes its stderr to: stderr itself
// when it is a file, else a pipe's write end (and its read end to copy from).
func stderrFile(stderr io.Writer) (w *os.File, r *os.File, err error) {
	if f, ok := stderr.(*os.File); ok {
		return f, nil, nil
	}
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, errors.Wrap(err, "create stderr pipe")
	}
	return w, r, nil
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

type proc struct {
	r      *reaper
	pid    int
	exited bool // under r.mu: reaped, the pid may be reused
	status Status
	done   chan struct{}
	output chan struct{} // closed when its stderr has been copied out
}

func (p *proc) finish(st Status) {
	select {
	case <-p.output:
	case <-time.After(outputDrain):
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

// lookPath finds name in the PATH of env (dinv's own PATH when env is nil),
// as a shell would; a name with a slash is used as it is.
func lookPath(name string, env []string) (string, error) {
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

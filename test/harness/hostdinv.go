package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// HostStages is the stage list of the suites that run dinv on the host:
// every stage but those that would change the host (cgroups its cgroups,
// mounts the propagation of /, iptables the engine's PATH and the host's
// rules), which the unit tests cover with fakes and the end-to-end suite
// runs in containers.
const HostStages = "stages: [network, stale, storage, pki, args, engine, ready]\n"

// Build builds the command pkg of this module ("cmd/dinv") into out as the
// images carry dinv: static (CGO_ENABLED=0), -trimpath, -ldflags=-s
// (images/build.sh); the go tool's output is in the error.
func Build(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s", "-o", out, "github.com/dinv/dinv/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// BuildDinv builds dinv (Build) into dir and returns the binary's path.
func BuildDinv(dir string) (string, error) {
	bin := filepath.Join(dir, "dinv")
	return bin, Build(context.Background(), "cmd/dinv", bin)
}

// HostSuite is what a suite that runs the real dinv on the host keeps for
// its run: the HostRecord of what its tests make there, and dinv built from
// this tree.
type HostSuite struct {
	Name   string
	Record *HostRecord
	Dinv   string // the dinv binary
	bin    string // its directory
}

// OpenHostSuite removes what killed runs of suite left on the host, starts
// this run's record (see OpenHostRecord) and builds dinv into a recorded
// temporary directory.
func OpenHostSuite(suite string) (*HostSuite, error) {
	rec, err := OpenHostRecord(suite)
	if err != nil {
		return nil, err
	}
	s := &HostSuite{Name: suite, Record: rec}
	s.bin, err = os.MkdirTemp("", "dinv-"+suite+"-bin-")
	if err == nil {
		err = rec.Add(HostDir, s.bin)
	}
	if err == nil {
		s.Dinv, err = BuildDinv(s.bin)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close removes the binary, then what the record lists that is still there
// (what the tests' cleanups missed), saying so on stderr: it returns false
// when anything was left, and the run fails.
func (s *HostSuite) Close() bool {
	if s.bin != "" {
		os.RemoveAll(s.bin)
	}
	found, err := s.Record.Close()
	if err != nil || len(found) > 0 {
		fmt.Fprintf(os.Stderr, "%s: the tests left on the host (removed now): %q %v\n", s.Name, found, err)
		return false
	}
	return true
}

// HostDinv is one place to run the real dinv on the host: every placement
// flag points into a short temporary directory of its own (a socket's path
// holds 108 bytes), the port is free, and an engine it starts gets a bridge
// of its own and no iptables, so that it never meets the host's engine (its
// docker0, its chains; never --bridge=none: dockerd then deletes docker0).
// When the test ends, what still runs in it is stopped, its mounts detached,
// its bridge and directory removed; a docker0 that was there must still be.
type HostDinv struct {
	Dir, Certs, DataRoot, ExecRoot, Pidfile, Socket string
	Port                                            int
	// EngineVersion is given as -engine-version ("20.10", Debian's dockerd,
	// by default: no case depends on detection); "" lets dinv detect it.
	EngineVersion string
	// Env is added to dinv's environment: the test's, without what chooses
	// dinv's configuration (DINV_*, DOCKER_*, DEBUG).
	Env []string

	suite   *HostSuite
	bridge  string // made by EngineArgs, removed when the test ends
	docker0 bool   // the host engine's bridge was there to begin with
}

// NewDinv makes a HostDinv's directory, recorded before anything can fail.
func (s *HostSuite) NewDinv(t *testing.T) *HostDinv {
	t.Helper()
	dir, err := os.MkdirTemp("", "dinv-"+s.Name+"-")
	if err != nil {
		t.Fatal(err)
	}
	_, noDocker0 := net.InterfaceByName("docker0")
	h := &HostDinv{
		Dir:           dir,
		Certs:         filepath.Join(dir, "certs"),
		DataRoot:      filepath.Join(dir, "data"),
		ExecRoot:      filepath.Join(dir, "exec"),
		Pidfile:       filepath.Join(dir, "run", "docker.pid"),
		Socket:        filepath.Join(dir, "run", "docker.sock"),
		EngineVersion: "20.10",
		suite:         s,
		docker0:       noDocker0 == nil,
	}
	t.Cleanup(func() { h.cleanup(t) })
	if err := s.Record.Add(HostDir, dir); err != nil {
		t.Fatal(err)
	}
	h.Port = FreePort(t)
	if err := os.MkdirAll(filepath.Dir(h.Pidfile), 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// Flags are -engine-version (when EngineVersion is set) and the placement
// flags.
func (h *HostDinv) Flags() []string {
	if h.EngineVersion == "" {
		return h.Placement()
	}
	return append([]string{"-engine-version", h.EngineVersion}, h.Placement()...)
}

// Placement are the flags that put everything dinv and an engine touch in
// h's directory, and the port.
func (h *HostDinv) Placement() []string {
	return []string{"-certs", h.Certs, "-data-root", h.DataRoot, "-exec-root", h.ExecRoot,
		"-pidfile", h.Pidfile, "-socket", h.Socket, "-port", strconv.Itoa(h.Port)}
}

// EngineArgs are the engine's arguments after --: h's bridge (made the first
// time) and no iptables.
func (h *HostDinv) EngineArgs(t *testing.T) []string {
	t.Helper()
	if h.bridge == "" {
		// A random name and a /24 of 198.18.0.0/15 (RFC 2544's benchmarking
		// range, nobody's network) to match.
		b := make([]byte, 3)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		name := "dinvh" + hex.EncodeToString(b)
		if err := h.suite.Record.Add(HostBridge, name); err != nil {
			t.Fatal(err)
		}
		for i, args := range [][]string{
			{"link", "add", name, "type", "bridge"},
			{"addr", "add", fmt.Sprintf("198.%d.%d.1/24", 18+int(b[0]&1), b[1]), "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
			if i == 0 {
				h.bridge = name // made: the cleanup removes it, whatever fails next
			}
		}
	}
	return []string{"--", "--bridge=" + h.bridge, "--iptables=false"}
}

// EnginePid reads the engine's pid file.
func (h *HostDinv) EnginePid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(h.Pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %q", h.Pidfile, b)
	}
	return pid
}

// killEngine stops an engine its pid file names (one a dinv killed or
// wrongly let through left behind): SIGTERM, then SIGKILL after 10 s.
func (h *HostDinv) killEngine() {
	b, err := os.ReadFile(h.Pidfile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for end := time.Now().Add(10 * time.Second); Alive(pid) && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (h *HostDinv) cleanup(t *testing.T) {
	if err := KillAll(ProcessesNaming(h.Dir), 10*time.Second); err != nil {
		t.Error(err)
	}
	// A dockerd killed with SIGKILL leaves its mounts (the netns of its
	// default network under the exec root), a dinv killed in the storage
	// stage its probe's overlay: without unmounting, RemoveAll fails.
	UnmountUnder(h.Dir)
	if h.bridge != "" {
		if out, err := exec.Command("ip", "link", "del", h.bridge).CombinedOutput(); err != nil {
			t.Errorf("remove bridge %s: %v: %s", h.bridge, err, out)
		}
	}
	if _, err := net.InterfaceByName("docker0"); h.docker0 && err != nil {
		t.Errorf("the host engine's docker0 is gone after this test: %v", err)
	}
	if err := os.RemoveAll(h.Dir); err != nil {
		t.Errorf("remove %s: %v", h.Dir, err)
	}
}

// cleanEnv is the test's environment without what chooses dinv's
// configuration or its engine profile.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DINV_") && !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, "DEBUG=") {
			env = append(env, kv)
		}
	}
	return env
}

// HostProc is one dinv process started by HostDinv.Start, its standard
// output and error read into one buffer as they come.
type HostProc struct {
	h       *HostDinv
	cmd     *exec.Cmd
	out     Buffer
	pipe    *os.File      // the read end of its output
	started time.Time     // just before it started
	exited  chan struct{} // closed when it has exited
	drained chan struct{} // closed when every holder closed its output
	err     error         // its exit, once exited
	ended   time.Time     // when it exited
}

// drainWait bounds the wait for dinv's output once dinv has exited: a
// process it left behind may hold it.
const drainWait = 5 * time.Second

// Start starts dinv with h.Flags(), then args, then h.EngineArgs, in a
// process group of its own. When the test ends, a dinv still running gets
// SIGTERM (its group SIGKILL 30 s later), an engine its pid file names is
// stopped, and, if the test failed, dinv's output is logged.
func (h *HostDinv) Start(t *testing.T, args ...string) *HostProc {
	t.Helper()
	args = append(append(h.Flags(), args...), h.EngineArgs(t)...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(h.suite.Dinv, args...)
	cmd.Env = append(cleanEnv(), h.Env...)
	// A file, not a writer: Wait returns as dinv exits, not when the last
	// process that inherited its output closes it.
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &HostProc{h: h, cmd: cmd, pipe: r, exited: make(chan struct{}), drained: make(chan struct{})}
	p.started = time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(&p.out, r)
		close(p.drained)
	}()
	go func() {
		p.err = cmd.Wait()
		p.ended = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() { p.cleanup(t) })
	return p
}

func (p *HostProc) cleanup(t *testing.T) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
	p.h.killEngine()
	p.settle()
	p.pipe.Close()
	if t.Failed() {
		t.Logf("dinv's output:\n%s", p.Output())
	}
}

// settle waits, once dinv has exited, until its output is read to the end
// or drainWait passes.
func (p *HostProc) settle() {
	<-p.exited
	select {
	case <-p.drained:
	case <-time.After(drainWait):
	}
}

// Output is what dinv wrote so far, standard output and error as written.
func (p *HostProc) Output() string { return p.out.String() }

// Exited is closed when dinv has exited.
func (p *HostProc) Exited() <-chan struct{} { return p.exited }

// Signal sends sig to dinv and returns when.
func (p *HostProc) Signal(t *testing.T, sig syscall.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal dinv: %v", err)
	}
	return at
}

// WaitLine waits until a line of dinv's output holds s, and returns it; it
// fails the test when dinv exits first or timeout passes.
func (p *HostProc) WaitLine(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			p.settle()
			if line, ok := lineWith(p.Output(), s, true); ok {
				return line
			}
			t.Fatalf("dinv exited (%v) before writing %q:\n%s", p.err, s, p.Output())
		default:
		}
		if line, ok := lineWith(p.Output(), s, false); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("dinv did not write %q within %s:\n%s", s, timeout, p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lineWith returns the first line of out that holds s: only whole lines,
// unless all is set (the output is complete).
func lineWith(out, s string, all bool) (string, bool) {
	if !all {
		out = out[:strings.LastIndexByte(out, '\n')+1]
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l, true
		}
	}
	return "", false
}

// Exit waits up to within for dinv to exit and returns its exit code; it
// fails the test when dinv still runs.
func (p *HostProc) Exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("dinv still runs after %s:\n%s", within, p.Output())
	}
	p.settle()
	return p.code(t)
}

// Ended is when dinv exited (the zero time while it runs).
func (p *HostProc) Ended() time.Time {
	select {
	case <-p.exited:
		return p.ended
	default:
		return time.Time{}
	}
}

func (p *HostProc) code(t *testing.T) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(p.err)
	return -1
}

// HostResult is how one HostDinv.Run ended.
type HostResult struct {
	Code       int
	Output     string        // standard output and error as written
	EngineSeen string        // the engine's socket or pid file, if one appeared
	TimedOut   bool          // dinv was stopped
	Took       time.Duration // from its start to its exit
}

// Run runs dinv as Start does until it exits, watching for the engine's
// socket and pid file all along; after timeout its group gets SIGTERM (and
// SIGKILL 15 s later) and TimedOut is set. An engine left running is
// stopped before Run returns.
func (h *HostDinv) Run(t *testing.T, timeout time.Duration, args ...string) HostResult {
	t.Helper()
	p := h.Start(t, args...)
	var r HostResult
	watch := func() {
		for _, f := range []string{h.Socket, h.Pidfile} {
			if _, err := os.Lstat(f); err == nil && r.EngineSeen == "" {
				r.EngineSeen = f
			}
		}
	}
	deadline := time.After(timeout)
wait:
	for {
		watch()
		select {
		case <-p.exited:
			break wait
		case <-deadline:
			r.TimedOut = true
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(15 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
			break wait
		case <-time.After(5 * time.Millisecond):
		}
	}
	watch()
	h.killEngine()
	p.settle()
	r.Code, r.Output, r.Took = p.code(t), p.Output(), p.ended.Sub(p.started)
	return r
}

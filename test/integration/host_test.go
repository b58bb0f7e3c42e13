//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// hostStages is every stage but those that would change the host.
const hostStages = "stages: [network, stale, storage, pki, args, engine, ready]\n"

// dinvRun is one dinv process with its own directory and port.
type dinvRun struct {
	dir, sock, pidfile, execRoot, certs string
	port                                int
	bridgeName                          string // made by bridge, removed by cleanup
	cmd                                 *exec.Cmd
	out                                 *syncBuffer
	exited                              chan struct{}
	err                                 error // the process's exit, after exited
}

// syncBuffer is the dinv's output, readable while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRun prepares a directory (short: socket paths are limited to 108
// bytes) and a free port.
func newRun(t *testing.T) *dinvRun {
	t.Helper()
	dir, err := os.MkdirTemp("", "dinvit-")
	if err != nil {
		t.Fatal(err)
	}
	r := &dinvRun{dir: dir, sock: filepath.Join(dir, "d.sock"), pidfile: filepath.Join(dir, "d.pid"),
		execRoot: filepath.Join(dir, "exec"), certs: filepath.Join(dir, "certs"),
		out: &syncBuffer{}, exited: make(chan struct{})}
	// Registered before anything can fail: the directory goes in any case.
	t.Cleanup(func() { r.cleanup(t) })
	if err := hostRecord.Add(harness.HostDir, dir); err != nil {
		t.Fatal(err)
	}
	r.port = freePort(t)
	if err := os.WriteFile(filepath.Join(dir, "stages.yaml"), []byte(hostStages), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs dinv with the placement flags, then flags.
func (r *dinvRun) start(t *testing.T, flags ...string) {
	t.Helper()
	args := []string{"-config", filepath.Join(r.dir, "stages.yaml"), "-engine-version", "20.10",
		"-certs", r.certs, "-data-root", filepath.Join(r.dir, "data"), "-exec-root", r.execRoot,
		"-pidfile", r.pidfile, "-socket", r.sock, "-port", strconv.Itoa(r.port), "-tls-san", "127.0.0.1"}
	args = append(args, flags...)
	args = append(args, "--", "--bridge="+r.bridge(t), "--iptables=false")
	r.cmd = exec.Command(dinvBin, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
}

// bridge makes a bridge of the run's own for the engine's default network.
// Never --bridge=none: dockerd then deletes docker0, the host engine's bridge.
func (r *dinvRun) bridge(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("dinvit%d", r.port)
	addr := fmt.Sprintf("198.18.%d.1/24", r.port%250)
	if err := hostRecord.Add(harness.HostBridge, name); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{"link", "add", name, "type", "bridge"},
		{"addr", "add", addr, "dev", name},
		{"link", "set", name, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		if i == 0 {
			r.bridgeName = name // made: cleanup removes it, whatever fails next
		}
	}
	return name
}

// waitReady waits for dinv's readiness line and fails if dinv exits first.
func (r *dinvRun) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for !strings.Contains(r.out.String(), "engine ready") {
		select {
		case <-r.exited:
			t.Fatalf("dinv exited before the engine was ready: %v\n%s", r.err, r.out)
		case <-deadline:
			t.Fatalf("engine not ready after 90s:\n%s", r.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait waits for dinv to exit and returns its exit code.
func (r *dinvRun) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(within):
		t.Fatalf("dinv still running after %v:\n%s", within, r.out)
	}
	if r.err == nil {
		return 0
	}
	if ee, ok := r.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(r.err)
	return -1
}

// enginePid reads the engine's pid file.
func (r *dinvRun) enginePid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(r.pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q", b)
	}
	return pid
}

// leftovers lists the processes whose command line names the run's directory.
func (r *dinvRun) leftovers() []int {
	return harness.ProcessesNaming(r.dir)
}

// cleanup stops dinv if it still runs, kills anything left from the run and
// removes its directory; dinv's output is shown when the test failed.
func (r *dinvRun) cleanup(t *testing.T) {
	if r.cmd != nil && r.cmd.Process != nil {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.exited:
			case <-time.After(30 * time.Second):
				_ = r.cmd.Process.Kill()
				<-r.exited
			}
		}
	}
	if err := harness.KillAll(r.leftovers(), 10*time.Second); err != nil {
		t.Error(err)
	}
	if t.Failed() {
		t.Logf("dinv output:\n%s", r.out)
	}
	// A dockerd killed with SIGKILL leaves its mounts (the netns of its
	// default network under the exec root): without them RemoveAll fails.
	harness.UnmountUnder(r.dir)
	if r.bridgeName != "" {
		if out, err := exec.Command("ip", "link", "del", r.bridgeName).CombinedOutput(); err != nil {
			t.Errorf("remove bridge %s: %v: %s", r.bridgeName, err, out)
		}
	}
	if _, err := net.InterfaceByName("docker0"); err != nil {
		t.Errorf("the host engine's docker0 is gone after this test: %v", err)
	}
	_ = os.RemoveAll(r.dir)
}

// docker runs the real docker CLI and returns its combined output.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+os.TempDir()+"/dinvit-noconfig")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *dinvRun) tcp() string { return fmt.Sprintf("tcp://127.0.0.1:%d", r.port) }

func TestPlainServesTheAPIOnTCP(t *testing.T) {
	r := newRun(t)
	r.start(t)
	r.waitReady(t)
	out, err := docker("-H", r.tcp(), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker version: %v: %s", err, out)
	}
	log := r.out.String()
	for _, want := range []string{fmt.Sprintf(":%d", r.port), "anyone who can reach this address is root on the host", "-tlsverify"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestTLSServesOnlyTLS(t *testing.T) {
	r := newRun(t)
	r.start(t, "-tls")
	r.waitReady(t)
	out, err := docker("-H", r.tcp(), "--tls", "--tlscacert", filepath.Join(r.certs, "docker.crt"), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker --tls version: %v: %s", err, out)
	}
	resp, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/_ping", r.port))
	if err == nil && strings.Contains(resp, "200 OK") {
		t.Errorf("plain HTTP got the API: %s", resp)
	}
	// TLS without client certificates lets anyone who reaches the port in:
	// the warning says so, as for plain TCP.
	if log := r.out.String(); !strings.Contains(log, "without client certificates") || !strings.Contains(log, "tls=tls") {
		t.Error("the -tls run does not warn that clients need no certificate")
	}
}

func TestTLSVerifyAdmitsOnlyTheGeneratedClientCertificate(t *testing.T) {
	r := newRun(t)
	r.start(t, "-tlsverify")
	r.waitReady(t)
	c := func(name string) string { return filepath.Join(r.certs, name) }
	out, err := docker("-H", r.tcp(), "--tlsverify", "--tlscacert", c("ca.crt"), "--tlscert", c("docker-client.crt"),
		"--tlskey", c("docker-client.key"), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker with the client certificate: %v: %s", err, out)
	}
	out, err = docker("-H", r.tcp(), "--tlsverify", "--tlscacert", c("ca.crt"), "version", "--format", "{{.Server.Version}}")
	if err == nil {
		t.Errorf("a client without a certificate was let in: %s", out)
	}
	other := otherCA(t, filepath.Join(r.dir, "other"))
	out, err = docker("-H", r.tcp(), "--tlsverify", "--tlscacert", c("ca.crt"), "--tlscert", other.cert,
		"--tlskey", other.key, "version", "--format", "{{.Server.Version}}")
	if err == nil {
		t.Errorf("a client with another CA's certificate was let in: %s", out)
	}
}

func TestLocalServesOnlyTheSocket(t *testing.T) {
	r := newRun(t)
	r.start(t, "-local")
	r.waitReady(t)
	out, err := docker("-H", "unix://"+r.sock, "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker on the socket: %v: %s", err, out)
	}
	if ports := listeningTCP(t, r.enginePid(t)); len(ports) > 0 {
		t.Errorf("the engine listens on TCP ports %v", ports)
	}
}

func TestSIGTERMStopsTheEngineAndDinvExits0(t *testing.T) {
	r := newRun(t)
	r.start(t)
	r.waitReady(t)
	engine := r.enginePid(t)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, r.out)
	}
	if err := syscall.Kill(engine, 0); err == nil {
		t.Errorf("engine %d still runs", engine)
	}
	if left := r.leftovers(); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if !strings.Contains(r.out.String(), `reason="engine exited with status 0"`) {
		t.Error("no exit reason logged")
	}
}

func TestEngineKilledMakesDinvExitNonZeroAndSaySo(t *testing.T) {
	r := newRun(t)
	r.start(t)
	r.waitReady(t)
	if err := syscall.Kill(r.enginePid(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 30*time.Second); code != 137 {
		t.Fatalf("exit code %d, want 137", code)
	}
	if !strings.Contains(r.out.String(), `reason="engine killed by signal 9"`) {
		t.Errorf("no reason logged:\n%s", r.out)
	}
}

func TestHealthcheckBeforeAndAfterReadiness(t *testing.T) {
	r := newRun(t)
	health := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := exec.CommandContext(ctx, dinvBin, "-healthcheck", "-socket", r.sock).Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := health(); code != 1 {
		t.Errorf("before the engine: exit %d, want 1", code)
	}
	r.start(t)
	r.waitReady(t)
	if code := health(); code != 0 {
		t.Errorf("ready engine: exit %d, want 0", code)
	}
}

func TestEngineThatDiesAtStartFailsWithItsError(t *testing.T) {
	r := newRun(t)
	l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", r.port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r.start(t)
	if code := r.wait(t, 90*time.Second); code == 0 {
		t.Fatalf("exit code 0 with the port taken")
	}
	log := r.out.String()
	if !strings.Contains(log, "start-up failed") || !strings.Contains(log, "address already in use") {
		t.Errorf("no start-up error with the engine's reason:\n%s", log)
	}
}

func TestStalePidFilesAreRemovedAndTheEngineStarts(t *testing.T) {
	r := newRun(t)
	// A process that is no engine holds the pid the file names, as after a
	// container restart; dockerd itself refuses a pid file of a live process.
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	cdir := filepath.Join(r.execRoot, "containerd")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(r.pidfile, strconv.Itoa(sleeper.Process.Pid))
	write(filepath.Join(cdir, "containerd.pid"), strconv.Itoa(dead.Process.Pid))
	write(filepath.Join(cdir, "containerd.sock"), "")
	r.start(t)
	r.waitReady(t)
	if r.enginePid(t) == sleeper.Process.Pid {
		t.Error("the pid file still names the old process")
	}
	if n := strings.Count(r.out.String(), "removed stale pid file"); n != 2 {
		t.Errorf("%d stale pid files reported, want 2", n)
	}
}

// httpGet sends a plain HTTP GET and returns the status line and body.
func httpGet(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", "-sS", "-i", url)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// listeningTCP lists the TCP ports pid listens on, from its sockets' inodes
// and the kernel's socket tables.
func listeningTCP(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var ports []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(f)
		f.Close()
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] {
				ports = append(ports, f[1])
			}
		}
	}
	return ports
}

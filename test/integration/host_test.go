//go:build integration

package integration

import (
	"context"
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

	"github.com/dinv/dinv/test/harness"
)

// newRun prepares a place to run dinv on the host (see harness.HostDinv)
// with the host stage list.
func newRun(t *testing.T) *harness.HostDinv {
	t.Helper()
	h := suite.NewDinv(t)
	harness.WriteFile(t, h.Dir, "stages.yaml", []byte(harness.HostStages), 0o644)
	return h
}

// start runs dinv with the host stage list and 127.0.0.1 in the server's
// certificate, then flags.
func start(t *testing.T, h *harness.HostDinv, flags ...string) *harness.HostProc {
	t.Helper()
	return h.Start(t, append([]string{"-config", filepath.Join(h.Dir, "stages.yaml"), "-tls-san", "127.0.0.1"}, flags...)...)
}

// waitReady waits for dinv's readiness line and fails if dinv exits first.
func waitReady(t *testing.T, p *harness.HostProc) {
	t.Helper()
	p.WaitLine(t, "engine ready", 90*time.Second)
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

// tcp is the engine's TCP address for the docker CLI.
func tcp(h *harness.HostDinv) string { return fmt.Sprintf("tcp://127.0.0.1:%d", h.Port) }

func TestPlainServesTheAPIOnTCP(t *testing.T) {
	h := newRun(t)
	p := start(t, h)
	waitReady(t, p)
	out, err := docker("-H", tcp(h), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker version: %v: %s", err, out)
	}
	log := p.Output()
	for _, want := range []string{fmt.Sprintf(":%d", h.Port), "anyone who can reach this address is root on the host", "-tlsverify"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestTLSServesOnlyTLS(t *testing.T) {
	h := newRun(t)
	p := start(t, h, "-tls")
	waitReady(t, p)
	out, err := docker("-H", tcp(h), "--tls", "--tlscacert", filepath.Join(h.Certs, "docker.crt"), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker --tls version: %v: %s", err, out)
	}
	resp, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/_ping", h.Port))
	if err == nil && strings.Contains(resp, "200 OK") {
		t.Errorf("plain HTTP got the API: %s", resp)
	}
	// TLS without client certificates lets anyone who reaches the port in:
	// the warning says so, as for plain TCP.
	if log := p.Output(); !strings.Contains(log, "without client certificates") || !strings.Contains(log, "tls=tls") {
		t.Error("the -tls run does not warn that clients need no certificate")
	}
}

func TestTLSVerifyAdmitsOnlyTheGeneratedClientCertificate(t *testing.T) {
	h := newRun(t)
	p := start(t, h, "-tlsverify")
	waitReady(t, p)
	c := func(name string) string { return filepath.Join(h.Certs, name) }
	out, err := docker("-H", tcp(h), "--tlsverify", "--tlscacert", c("ca.crt"), "--tlscert", c("docker-client.crt"),
		"--tlskey", c("docker-client.key"), "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker with the client certificate: %v: %s", err, out)
	}
	out, err = docker("-H", tcp(h), "--tlsverify", "--tlscacert", c("ca.crt"), "version", "--format", "{{.Server.Version}}")
	if err == nil {
		t.Errorf("a client without a certificate was let in: %s", out)
	}
	other := otherCA(t, filepath.Join(h.Dir, "other"))
	out, err = docker("-H", tcp(h), "--tlsverify", "--tlscacert", c("ca.crt"), "--tlscert", other.cert,
		"--tlskey", other.key, "version", "--format", "{{.Server.Version}}")
	if err == nil {
		t.Errorf("a client with another CA's certificate was let in: %s", out)
	}
}

func TestLocalServesOnlyTheSocket(t *testing.T) {
	h := newRun(t)
	p := start(t, h, "-local")
	waitReady(t, p)
	out, err := docker("-H", "unix://"+h.Socket, "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(out, "20.10") {
		t.Fatalf("docker on the socket: %v: %s", err, out)
	}
	if ports := listeningTCP(t, h.EnginePid(t)); len(ports) > 0 {
		t.Errorf("the engine listens on TCP ports %v", ports)
	}
}

func TestSIGTERMStopsTheEngineAndDinvExits0(t *testing.T) {
	h := newRun(t)
	p := start(t, h)
	waitReady(t, p)
	engine := h.EnginePid(t)
	p.Signal(t, syscall.SIGTERM)
	if code := p.Exit(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.Output())
	}
	if err := syscall.Kill(engine, 0); err == nil {
		t.Errorf("engine %d still runs", engine)
	}
	if left := harness.ProcessesNaming(h.Dir); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if !strings.Contains(p.Output(), `reason="engine exited with status 0"`) {
		t.Error("no exit reason logged")
	}
}

func TestEngineKilledMakesDinvExitNonZeroAndSaySo(t *testing.T) {
	h := newRun(t)
	p := start(t, h)
	waitReady(t, p)
	if err := syscall.Kill(h.EnginePid(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.Exit(t, 30*time.Second); code != 137 {
		t.Fatalf("exit code %d, want 137", code)
	}
	if !strings.Contains(p.Output(), `reason="engine killed by signal 9"`) {
		t.Errorf("no reason logged:\n%s", p.Output())
	}
}

func TestHealthcheckBeforeAndAfterReadiness(t *testing.T) {
	h := newRun(t)
	health := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := exec.CommandContext(ctx, suite.Dinv, "-healthcheck", "-socket", h.Socket).Run()
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
	p := start(t, h)
	waitReady(t, p)
	if code := health(); code != 0 {
		t.Errorf("ready engine: exit %d, want 0", code)
	}
}

func TestEngineThatDiesAtStartFailsWithItsError(t *testing.T) {
	h := newRun(t)
	l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", h.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := start(t, h)
	if code := p.Exit(t, 90*time.Second); code == 0 {
		t.Fatalf("exit code 0 with the port taken")
	}
	log := p.Output()
	if !strings.Contains(log, "start-up failed") || !strings.Contains(log, "address already in use") {
		t.Errorf("no start-up error with the engine's reason:\n%s", log)
	}
}

func TestStalePidFilesAreRemovedAndTheEngineStarts(t *testing.T) {
	h := newRun(t)
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
	cdir := filepath.Join(h.ExecRoot, "containerd")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(h.Pidfile, strconv.Itoa(sleeper.Process.Pid))
	write(filepath.Join(cdir, "containerd.pid"), strconv.Itoa(dead.Process.Pid))
	write(filepath.Join(cdir, "containerd.sock"), "")
	p := start(t, h)
	waitReady(t, p)
	if h.EnginePid(t) == sleeper.Process.Pid {
		t.Error("the pid file still names the old process")
	}
	if n := strings.Count(p.Output(), "removed stale pid file"); n != 2 {
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

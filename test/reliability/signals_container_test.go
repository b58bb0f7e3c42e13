//go:build reliability

package reliability

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// stageHook is where a container case raises SIGTERM: at the first system
// call of dinv (or any process it starts) that names path, a file only that
// stage touches before the engine runs.
type stageHook struct {
	stage string
	path  string
	// engine: the signal may reach the engine: dinv then exits as the
	// engine does (0 after a clean shutdown, 143 when the signal ended it
	// while it started); before the engine, 143 only.
	engine bool
}

// stageHooks are the places of a default start in order. args has none: it
// builds the command line in memory, without a system call to stop in (a
// signal there is the engine stage's).
func stageHooks(t *testing.T, img string) []stageHook {
	cgroups, mounts := containerHookPaths(t, img)
	return []stageHook{
		{stage: "privileges", path: "/proc/self/status"},
		{stage: "network", path: "/proc/net/route"},
		{stage: "cgroups", path: cgroups},
		{stage: "mounts", path: mounts},
		{stage: "iptables", path: "/proc/net/ip_tables_names"},
		{stage: "stale", path: "/var/run/docker.pid"},
		{stage: "storage", path: "/var/lib/docker"},
		{stage: "pki", path: "/certs/.dinv-commit"},
		// The engine stage looks dockerd up on the engine's PATH.
		{stage: "engine", path: "/usr/local/sbin/dockerd", engine: true},
		// The ready stage first removes an earlier client.json, then
		// polls the engine, which is starting.
		{stage: "ready", path: "/run/dinv/client.json", engine: true},
	}
}

// containerHookPaths are the files the cgroups and mounts stages touch first
// in a DinV container with the probed privileges ("" when the stage has
// nothing to do there): a read-only cgroup v1 hierarchy that is remounted
// (or cgroup.type of the v2 tree), and securityfs's mount point when it is
// not mounted yet.
func containerHookPaths(t *testing.T, img string) (cgroups, mounts string) {
	t.Helper()
	priv, err := harness.Probe(img)
	if err != nil {
		t.Fatal(err)
	}
	script := `if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo cgroups /sys/fs/cgroup/cgroup.type; else
awk '$5 ~ "^/sys/fs/cgroup/" && $5 != "/sys/fs/cgroup/memory" && $6 ~ "(^|,)ro(,|$)" && $0 ~ " - cgroup " {print "cgroups " $5; exit}' /proc/self/mountinfo; fi
grep -q ' /sys/kernel/security ' /proc/self/mountinfo || { [ -d /sys/kernel/security ] && echo mounts /sys/kernel/security; }`
	args := append(append([]string{"run", "--rm", "--network", "none", "--entrypoint", "sh"}, priv.Options...), img, "-c", script)
	out := harness.Client{}.Run(t, args...)
	for _, l := range strings.Split(out, "\n") {
		switch f := strings.Fields(l); {
		case len(f) == 2 && f[0] == "cgroups":
			cgroups = f[1]
		case len(f) == 2 && f[0] == "mounts":
			mounts = f[1]
		}
	}
	return cgroups, mounts
}

// TestSignalDuringEachStageOfAContainerStart: a real DinV container whose
// dinv is traced from the host from its first instruction (strace attached
// to the container's first process, a shell waiting on a FIFO before it
// execs /dinv), SIGTERM raised at a system call of each stage in turn.
func TestSignalDuringEachStageOfAContainerStart(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("strace is needed to raise the signal inside a stage: apt-get install strace")
	}
	img := image(t)
	network := harness.Network(t, "stage-signal")
	var raced, outcomes []string
	for _, hook := range stageHooks(t, img) {
		t.Run("SIGTERM during "+hook.stage+", container", func(t *testing.T) {
			figures.Case(t, "signal during start-up")
			if hook.path == "" {
				t.Skipf("the %s stage has nothing to do in a container with these privileges: no system call to raise the signal in", hook.stage)
			}
			r := signalAtStage(t, img, network, hook)
			if r.between != "" {
				raced = append(raced, hook.stage+": "+r.between)
			}
			outcomes = append(outcomes, r.outcome)
		})
	}
	figures.Note("SIGTERM raised by strace inside each stage of a container start: %s; stages started between the signal and its routing: %d %v",
		strings.Join(outcomes, "; "), len(raced), raced)
}

// stageSignal is how one traced start ended.
type stageSignal struct {
	between string // stages that started after the hooked one, before the stop was logged
	outcome string // the stage, the exit code and dinv's reason
}

func signalAtStage(t *testing.T, img, network string, hook stageHook) stageSignal {
	t.Helper()
	h := suite.NewDinv(t) // the gate and strace's output: recorded, so a killed run's strace is killed
	gate := filepath.Join(h.Dir, "go")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	vol := harness.Volume(t, "certs")
	d := startDinV(t, img, network, []string{"-v", h.Dir + ":/gate", "-v", vol + ":/certs",
		"-e", "DEBUG=true", "-e", "DOCKER_TLS_CERTDIR=/certs", "--entrypoint", "sh"},
		"-c", "read x </gate/go && exec /dinv")
	pid := d.Inspect(t, "{{.State.Pid}}")
	st := exec.Command("strace", "-f", "-o", filepath.Join(h.Dir, "strace.out"),
		"-P", hook.path, "-e", "inject=all:signal=TERM", "-p", pid)
	stderr, err := st.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	straceDone := make(chan error, 1)
	attached := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var said []string
		for sc.Scan() {
			said = append(said, sc.Text())
			if strings.Contains(sc.Text(), "attached") {
				select {
				case attached <- true:
				default:
				}
			}
		}
		close(attached)
		err := st.Wait()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, strings.Join(said, "\n"))
		}
		straceDone <- err
	}()
	t.Cleanup(func() {
		select {
		case <-straceDone:
		case <-time.After(10 * time.Second):
			st.Process.Kill()
			<-straceDone
		}
	})
	select {
	case ok := <-attached:
		if !ok {
			t.Fatalf("strace did not attach to %s", pid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("strace did not attach within 30 s")
	}
	feedFIFO(t, gate, 30*time.Second)
	code := waitExit(t, d.Name, 2*time.Minute)
	log := d.Logs(t)
	finished, err := time.Parse(time.RFC3339Nano, d.Inspect(t, "{{.State.FinishedAt}}"))
	if err != nil {
		t.Fatal(err)
	}

	stop := logLine(log, "stop signal received")
	if stop == "" {
		t.Fatalf("dinv never got the signal (exit %d): no system call of the %s stage named %s here?\n%s", code, hook.stage, hook.path, tail(log, 15))
	}
	started := stagesStarted(log, stop)
	if !stageNames(started)[hook.stage] {
		t.Errorf("the signal came before the %s stage started (stages started before it: %v)", hook.stage, started)
	}
	var r stageSignal
	for i, s := range started {
		if s == hook.stage && i+1 < len(started) {
			r.between = strings.Join(started[i+1:], ", ")
		}
	}
	if later := stagesAfter(log, "stop signal received"); len(later) > 0 {
		t.Errorf("stages started after the stop signal: %v", later)
	}
	if at, err := logTime(stop); err == nil {
		took := finished.Sub(at)
		figures.Time("SIGTERM to exit, container start, traced", took)
		if limit := 20 * time.Second; took > limit {
			t.Errorf("the container exited %s after dinv got SIGTERM, want at most %s", took.Round(time.Millisecond), limit)
		}
	}
	engineRan := strings.Contains(log, "msg=\"Starting up\"")
	exiting := logLine(log, "dinv: exiting:")
	switch {
	case !hook.engine:
		if code != 143 {
			t.Errorf("exit %d, want 143", code)
		}
		if engineRan || !strings.Contains(exiting, "stopped by SIGTERM before the engine started") {
			t.Errorf("the engine started, or dinv did not say it stopped before it:\n%s", tail(log, 10))
		}
	case code == 143 && strings.Contains(exiting, "before the engine started"):
		t.Logf("%s: stopped before the engine started: %s", hook.stage, exiting)
	case code == 0 && strings.Contains(log, "Daemon shutdown complete"):
		t.Logf("%s: the engine got the signal and shut down cleanly: %s", hook.stage, exiting)
	case code == 143 && strings.Contains(exiting, "signal 15"):
		t.Logf("%s: the signal ended the engine while it started: %s", hook.stage, exiting)
	default:
		t.Errorf("exit %d: want 143 before the engine, or the engine's clean 0:\n%s", code, tail(log, 15))
	}
	if i := strings.Index(exiting, "reason="); i >= 0 {
		r.outcome = fmt.Sprintf("%s: exit %d, %s", hook.stage, code, exiting[i+len("reason="):])
	}
	return r
}

// logLine is the first line of log holding s ("" when none does).
func logLine(log, s string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// stagesStarted lists the stages whose start line comes before the line mark.
func stagesStarted(log, mark string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if l == mark {
			break
		}
		if i := strings.Index(l, "[DEBUG] dinv."); i >= 0 && strings.HasSuffix(l, ": start") {
			out = append(out, strings.TrimSuffix(l[i+len("[DEBUG] dinv."):], ": start"))
		}
	}
	return out
}

func stageNames(s []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range s {
		m[n] = true
	}
	return m
}

// logTime is the time at the start of one of dinv's log lines.
func logTime(line string) (time.Time, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return time.Time{}, fmt.Errorf("empty line")
	}
	return time.Parse("2006-01-02T15:04:05.000Z0700", f[0])
}

// TestSignalWhileAnotherContainerHoldsTheCertificateLock: two containers on
// one /certs volume, one holding the directory's lock (flock, as a DinV
// writing there does): the DinV container says it waits and for which file,
// and a docker kill -s TERM stops it at once with 143, the volume unchanged.
func TestSignalWhileAnotherContainerHoldsTheCertificateLock(t *testing.T) {
	figures.Case(t, "signal during start-up")
	img := image(t)
	network := harness.Network(t, "lock-held")
	vol := harness.Volume(t, "certs")
	holder := harness.Name("lock-holder")
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", holder) })
	harness.Client{}.Run(t, "run", "-d", "--name", holder, "--network", network, "-v", vol+":/certs",
		"--entrypoint", "flock", img, "/certs/.dinv.lock", "sh", "-c", "touch /certs/held && exec sleep 600")
	for end := time.Now().Add(30 * time.Second); (harness.Client{}).Try(t, "exec", holder, "test", "-e", "/certs/held").ExitCode != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the lock holder never took the lock")
		}
	}
	snap := func() map[string]string {
		dir := t.TempDir()
		harness.Client{}.Run(t, "cp", holder+":/certs/.", dir)
		return snapshot(t, dir)
	}
	before := snap()
	d := startDinV(t, img, network, []string{"-v", vol + ":/certs", "-e", "DOCKER_TLS_CERTDIR=/certs"})
	line := ""
	for end := time.Now().Add(harness.ReadyTimeout); line == ""; time.Sleep(50 * time.Millisecond) {
		line = logLine(d.Logs(t), "waiting for the certificate directory's lock")
		if line == "" && time.Now().After(end) {
			t.Fatalf("dinv never said it waits for the lock:\n%s", tail(d.Logs(t), 10))
		}
	}
	if !strings.Contains(line, "/certs/.dinv.lock") {
		t.Errorf("the waiting line does not name /certs/.dinv.lock:\n%s", line)
	}
	at := time.Now()
	harness.Client{}.Run(t, "kill", "-s", "TERM", d.Name)
	code := waitExit(t, d.Name, time.Minute)
	finished, err := time.Parse(time.RFC3339Nano, d.Inspect(t, "{{.State.FinishedAt}}"))
	if err != nil {
		t.Fatal(err)
	}
	took := finished.Sub(at)
	figures.Time("SIGTERM to exit while another container holds the lock", took)
	if code != 143 || took > promptly {
		t.Errorf("exit %d %s after docker kill -s TERM, want 143 within %s:\n%s", code, took.Round(time.Millisecond), promptly, tail(d.Logs(t), 5))
	}
	if n := strings.Count(d.Logs(t), "waiting for the certificate directory's lock"); n != 1 {
		t.Errorf("said %d times that it waits, want once", n)
	}
	if diff := diffSnapshots(before, snap()); len(diff) > 0 {
		t.Errorf("the certificate volume changed: %s", strings.Join(diff, "; "))
	}
}

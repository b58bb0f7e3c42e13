package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/internal/reaper"
)

// These tests run real tiny processes through the reaper. Nothing else in
// this test binary may wait for a child (exec.Command.Run) once it runs.

// realProcs is the process-wide reaper; every process a test leaves behind
// is killed when the test ends.
func realProcs(t *testing.T) reaper.Procs {
	t.Helper()
	procs, _ := reaper.Default()
	t.Cleanup(func() {
		for _, pid := range procs.Strays() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return procs
}

// alive reports whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(st), ')')
	return i > 0 && !strings.HasPrefix(string(st[i+1:]), " Z")
}

func sh(script string, args ...string) []reaper.Cmd {
	return []reaper.Cmd{{Args: append([]string{"sh", "-c", script}, args...), Stderr: os.Stderr}}
}

func TestRealEngineExitStatus(t *testing.T) {
	cases := []struct {
		name   string
		script string
		code   int
		reason string
	}{
		{"an exit code is dinv's exit code", "exit 3", 3, "engine exited with status 3"},
		{"a SIGKILL is 137", "kill -9 $$", 137, "engine killed by signal 9"},
		{"an instant exit is not lost", "exit 0", 0, "engine exited with status 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := supervise(hclog.NewNullLogger(), realProcs(t), sh(c.script), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			waitDone(t, s)
			if s.ExitCode() != c.code || s.Reason() != c.reason {
				t.Errorf("got %d %q, want %d %q", s.ExitCode(), s.Reason(), c.code, c.reason)
			}
		})
	}
}

func TestRealEngineGetsExactlyItsArgvAndEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	script := `tr '\0' '|' < /proc/$$/cmdline > "$1"; echo "$DINV_T" >> "$1"`
	cmd := sh(script, "x", out, "a b", "")
	env := []string{"PATH=/usr/bin:/bin", "DINV_T=env ok"}
	cmd[0].Env = env
	s, err := supervise(hclog.NewNullLogger(), realProcs(t), cmd, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s)
	got, _ := os.ReadFile(out)
	want := strings.Join(cmd[0].Args, "|") + "|env ok\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRealEngineGetsSignalsEveryTime(t *testing.T) {
	dir := t.TempDir()
	ready, count := filepath.Join(dir, "ready"), filepath.Join(dir, "count")
	// Each SIGUSR1 is counted in $2 before the next is sent: signals sent
	// closer together may merge into one while sh is busy (a loaded machine).
	script := `n=0; trap 'n=$((n+1)); echo $n > "$2"; [ $n -ge 3 ] && exit 7' USR1; trap 'exit 0' TERM; touch "$1"; while :; do sleep 0.01; done`
	s, err := supervise(hclog.NewNullLogger(), realProcs(t), sh(script, "x", ready, count), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, ready)
	for i := 1; i <= 3; i++ {
		if err := s.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		waitContent(t, count, strconv.Itoa(i)+"\n")
	}
	waitDone(t, s)
	if s.ExitCode() != 7 {
		t.Errorf("exit code %d, want 7 (three SIGUSR1 forwarded)", s.ExitCode())
	}
}

// waitContent waits until the file at path holds want.
func waitContent(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && string(b) == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s holds %q, want %q", path, b, want)
}

func TestRealEngineThatTrapsSIGTERMExitsCleanlyOnStopAndTakesItsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The engine leaves its child behind: the supervisor must end it.
	script := `trap 'exit 0' TERM; sleep 100 & echo $! > "$1"; wait`
	s, err := supervise(hclog.NewNullLogger(), realProcs(t), sh(script, "x", pidFile), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child := readPid(t, pidFile)
	s.Stop()
	waitDone(t, s)
	if s.ExitCode() != 0 {
		t.Errorf("exit code %d, %s", s.ExitCode(), s.Reason())
	}
	if alive(child) {
		t.Errorf("the engine's child %d outlived it", child)
	}
}

func TestRealStrayThatLeftTheGroupAndIgnoresSIGTERMIsKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// setsid: a group (and session) of its own, so only dinv's stray list finds it.
	script := `setsid sh -c 'trap "" TERM; echo $$ > "$1"; while :; do sleep 0.05; done' x "$1" & while [ ! -s "$1" ]; do sleep 0.01; done; exit 0`
	s, err := supervise(hclog.NewNullLogger(), realProcs(t), sh(script, "x", pidFile), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	stray := readPid(t, pidFile)
	waitDone(t, s)
	if alive(stray) {
		t.Errorf("stray %d that ignores SIGTERM outlived the engine", stray)
	}
}

func TestRealEngineLastErrorLineIsCaptured(t *testing.T) {
	s, err := supervise(hclog.NewNullLogger(), realProcs(t),
		sh(`echo 'level=info msg="starting"' >&2; echo 'failed to start daemon: bad flag' >&2; exit 1`),
		time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s)
	if got := s.LastError(); got != "failed to start daemon: bad flag" {
		t.Errorf("last error %q", got)
	}
}

func TestRealOtherChildIsKilledWhenItIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	pidFile, ready := filepath.Join(dir, "pid"), filepath.Join(dir, "ready")
	cmds := []reaper.Cmd{
		{Args: []string{"sh", "-c", `trap '' TERM; echo $$ > "$1"; while :; do sleep 0.01; done`, "x", pidFile}},
		{Args: []string{"sh", "-c", `touch "$1"; sleep 0.2`, "x", ready}},
	}
	s, err := supervise(hclog.NewNullLogger(), realProcs(t), cmds, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s)
	pid := readPid(t, pidFile)
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("child %d still exists after the engine exited", pid)
	}
}

func TestRealOrphansAreReaped(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	s, err := supervise(hclog.NewNullLogger(), realProcs(t),
		sh(`sleep 0.2 & echo $! > "$1"; exit 0`, "x", pidFile), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s)
	pid := readPid(t, pidFile)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		if os.IsNotExist(err) {
			return // reaped: no zombie left
		}
		if time.Now().After(deadline) {
			st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			t.Fatalf("orphan %d not reaped: %s", pid, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRealStartOfAMissingProgramFails(t *testing.T) {
	_, err := supervise(hclog.NewNullLogger(), realProcs(t),
		[]reaper.Cmd{{Args: []string{"dinv-no-such-program"}}}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "dinv-no-such-program") {
		t.Fatalf("error %v", err)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s not created", path)
}

// readPid waits for the pid a script writes to path: the shell creates the
// file before it writes the number, so an empty file is not yet an answer.
func readPid(t *testing.T, path string) int {
	t.Helper()
	waitFile(t, path)
	var b []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ = os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return pid
		}
	}
	t.Fatalf("pid file %q", b)
	return 0
}

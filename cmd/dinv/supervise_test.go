package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/activation"
	"github.com/dinv/dinv/test/harness"
)

// TestMain lets a test run the whole of dinv in a child process (the
// supervisor reaps every child of its process, which a test binary must not
// share): DINV_TEST_ARGS holds the JSON arguments.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[0] == activation.LauncherName {
		activation.Launch(os.Args[1:]) // the engine's launcher is this binary too
	}
	if os.Getenv("DINV_TEST_FAKE_ENGINE") != "" {
		os.Exit(fakeActivatedEngine())
	}
	if os.Getenv("DINV_TEST_FAKE_CONTAINERD") != "" {
		os.Exit(fakeContainerd())
	}
	if os.Getenv("DINV_TEST_FAKE_ENGINE_CONTAINERD") != "" {
		os.Exit(fakeEngineNeedingContainerd())
	}
	if args := os.Getenv("DINV_TEST_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		signals := make(chan os.Signal, 16)
		signal.Notify(signals, core.Signals...)
		os.Exit(run(append([]string{"/dinv"}, argv...), os.Getenv, os.Stdout, os.Stderr, signals))
	}
	os.Exit(m.Run())
}

func TestAnEngineThatEndsBeforeAnsweringGivesDinvItsStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		code   int
		logs   []string
		not    []string
	}{
		{"a crash at start-up: its status and its last error", "echo 'failed to start daemon: listen tcp: address already in use' >&2; exit 3", 3,
			[]string{"start-up failed", "address already in use", `exiting: reason="engine exited with status 3" code=3`}, nil},
		{"a clean exit before answering: status 0, no failure logged", "exit 0", 0,
			[]string{`exiting: reason="engine exited with status 0" code=0`}, []string{"start-up failed"}},
		{"killed by a signal: 128+N", "kill -KILL $$", 137,
			[]string{"engine killed by signal 9", "code=137"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortTempDir(t)
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "dockerd"), []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFakeContainerd(t, bin)
			list := filepath.Join(dir, "stages.yaml")
			if err := os.WriteFile(list, []byte("stages: [args, engine, ready]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			argv, _ := json.Marshal(append([]string{"-engine-version", "26.1", "-config", list, "-local"}, placed(dir)...))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DINV_TEST_ARGS="+string(argv), "PATH="+bin+":"+os.Getenv("PATH"))
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", got, tc.code, out)
			}
			for _, want := range tc.logs {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, unwanted := range tc.not {
				if strings.Contains(string(out), unwanted) {
					t.Errorf("output has %q:\n%s", unwanted, out)
				}
			}
		})
	}
}

// startDinv runs dinv (this test binary) with a fake dockerd of script on its
// PATH and $MARK set to a file the script may write; it is killed when the
// test ends.
func startDinv(t *testing.T, script string, args ...string) (cmd *exec.Cmd, out *harness.Buffer, mark string) {
	t.Helper()
	return startDinvWith(t, nil, script, args...)
}

// startDinvWith is startDinv with env added to dinv's environment.
func startDinvWith(t *testing.T, env []string, script string, args ...string) (cmd *exec.Cmd, out *harness.Buffer, mark string) {
	t.Helper()
	dir := shortTempDir(t)
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "dockerd"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFakeContainerd(t, bin)
	mark = filepath.Join(dir, "mark")
	argv, _ := json.Marshal(append(args, placed(dir)...))
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DINV_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DINV_TEST_ARGS="+string(argv), "PATH="+bin+":"+os.Getenv("PATH"), "MARK="+mark)
	cmd.Env = append(cmd.Env, env...)
	out = &harness.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, out, mark
}

// waitFor polls until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// markedPid waits for the script to write its mark and returns the pid in it.
func markedPid(t *testing.T, mark string) int {
	t.Helper()
	var pid int
	waitFor(t, "the script's mark", func() bool {
		b, err := os.ReadFile(mark)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// exitOf waits for dinv to exit and returns its code.
func exitOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("dinv did not exit within 60 s")
	}
	return cmd.ProcessState.ExitCode()
}

func gone(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err != nil || strings.Contains(string(st), ") Z ")
}

func TestAStopSignalWhileTheEngineVersionIsDetectedEndsDinvAt143(t *testing.T) {
	// No -engine-version: dinv asks dockerd --version, which hangs.
	cmd, out, mark := startDinv(t, `[ "$1" = --version ] && { echo $$ > "$MARK"; exec sleep 100; }; exit 9`, "-local")
	detector := markedPid(t, mark)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Without the stop, detection would give up after its own 10 s timeout
	// and dinv exit 2: 143 means the signal ended the wait.
	if code := exitOf(t, cmd); code != 143 {
		t.Errorf("exit code %d, want 143; output:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "SIGTERM before the engine started") {
		t.Errorf("output lacks the reason:\n%s", out)
	}
	waitFor(t, "the version detector to be killed", func() bool { return gone(detector) })
}

func TestASignalBeforeTheEngineIsDroppedAndSaid(t *testing.T) {
	cmd, out, mark := startDinv(t, `[ "$1" = --version ] && { echo $$ > "$MARK"; exec sleep 100; }; exit 9`, "-local")
	markedPid(t, mark)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dropped-signal warning", func() bool {
		return strings.Contains(out.String(), "signal before the engine started: dropped: signal=SIGHUP")
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, cmd); code != 130 {
		t.Errorf("exit code %d, want 130 for SIGINT; output:\n%s", code, out)
	}
}

func TestAStopSignalOnceTheEngineRunsGoesToItAndDinvExitsWithItsStatus(t *testing.T) {
	list := filepath.Join(t.TempDir(), "stages.yaml")
	if err := os.WriteFile(list, []byte("stages: [args, engine, ready]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out, mark := startDinv(t, `trap 'echo engine got TERM >&2; exit 0' TERM; echo $$ > "$MARK"; while :; do sleep 0.05; done`,
		"-engine-version", "26.1", "-config", list, "-local")
	markedPid(t, mark)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := exitOf(t, cmd)
	if code != 0 || !strings.Contains(out.String(), "engine got TERM") ||
		!strings.Contains(out.String(), `exiting: reason="engine exited with status 0" code=0`) {
		t.Errorf("exit code %d, want the engine's 0 after it got SIGTERM; output:\n%s", code, out)
	}
}

func TestNothingTheEngineStartedOutlivesIt(t *testing.T) {
	list := filepath.Join(t.TempDir(), "stages.yaml")
	if err := os.WriteFile(list, []byte("stages: [args, engine, ready]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The child keeps dinv's output open: a leak would hold go test's pipe.
	cmd, out, mark := startDinv(t, `sleep 100 & echo $! > "$MARK"; sleep 0.2; exit 3`,
		"-engine-version", "26.1", "-config", list, "-local")
	child := markedPid(t, mark)
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	if code := exitOf(t, cmd); code != 3 {
		t.Errorf("exit code %d, want the engine's 3; output:\n%s", code, out)
	}
	if !gone(child) {
		t.Errorf("the engine's child %d outlived dinv", child)
	}
}

// fakeActivatedEngine is an engine started by socket activation, as dockerd
// takes it (go-systemd's activation package): LISTEN_PID must be its own pid,
// LISTEN_FDS 1, the socket fd 3. It waits a moment (an engine starting up),
// then answers one connection with "hello" and exits.
func fakeActivatedEngine() int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		fmt.Fprintf(os.Stderr, "not activated: LISTEN_PID=%q (pid %d) LISTEN_FDS=%q\n",
			os.Getenv("LISTEN_PID"), os.Getpid(), os.Getenv("LISTEN_FDS"))
		return 4
	}
	for _, kv := range os.Environ() {
		for _, leak := range []string{"DINV_SWARM_TOKEN=", "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "LISTEN_FDNAMES="} {
			if strings.HasPrefix(kv, leak) {
				fmt.Fprintf(os.Stderr, "the engine inherited %s\n", kv)
				return 6
			}
		}
	}
	l, err := net.FileListener(os.NewFile(3, "activated"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fd 3:", err)
		return 5
	}
	time.Sleep(300 * time.Millisecond)
	c, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		return 6
	}
	fmt.Fprint(c, "hello")
	c.Close()
	return 0
}

// TestTheEngineGetsDinvsSocketAndAnEarlyClientWaitsForItsAnswer: dinv
// binds the port on every address, IPv6 too as the engine's own listener
// would, and the engine gets it; what dinv inherited (socket activation
// variables, the swarm token, a client's TLS variables) the engine does not.
func TestTheEngineGetsDinvsSocketAndAnEarlyClientWaitsForItsAnswer(t *testing.T) {
	list := filepath.Join(t.TempDir(), "stages.yaml")
	if err := os.WriteFile(list, []byte("stages: [args, engine]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := harness.FreePort(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	inherited := []string{"LISTEN_PID=1", "LISTEN_FDS=4", "LISTEN_FDNAMES=x", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/certs/client", "DINV_SWARM_TOKEN=SWMTKN-1-secret"}
	cmd, out, _ := startDinvWith(t, inherited, "DINV_TEST_FAKE_ENGINE=1 exec "+self,
		"-engine-version", "26.1", "-config", list, "-port", strconv.Itoa(port))
	// The client comes before the engine has even started, over IPv6: it
	// is not refused.
	var conn net.Conn
	waitFor(t, "the port to be bound", func() bool {
		conn, err = net.Dial("tcp", "[::1]:"+strconv.Itoa(port))
		return err == nil
	})
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "hello" {
		t.Errorf("read %q, %v; want the engine's hello; dinv's output:\n%s", got, err, out)
	}
	if code := exitOf(t, cmd); code != 0 {
		t.Errorf("exit code %d, want 0; output:\n%s", code, out)
	}
}

func TestATakenPortStopsDinvBeforeAnyStage(t *testing.T) {
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	code, _, stderr := runDinv(t, nil, append([]string{"-engine-version", "26.1", "-tlsverify", "-port", strconv.Itoa(port)}, placed(dir)...)...)
	if code != 1 || !strings.Contains(stderr, "bind the API port") || !strings.Contains(stderr, "address already in use") ||
		!strings.Contains(stderr, "-port") {
		t.Errorf("exit code %d, stderr:\n%s\nwant 1 naming the port and the fix", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a stage ran: %s holds %v", dir, entries)
	}
}

func TestACommandRunsInsteadOfTheEngine(t *testing.T) {
	cmd, out, _ := startDinv(t, "echo engine started >&2; exit 9", "sh", "-c", "echo ok; exit 4")
	_ = cmd
	code := exitOf(t, cmd)
	if code != 4 || strings.TrimSpace(out.String()) != "ok" {
		t.Errorf("exit code %d, output %q; want sh's 4 and only its ok", code, out)
	}
}

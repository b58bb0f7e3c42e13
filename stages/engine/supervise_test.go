package engine

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/internal/reaper"
)

func cmds(progs ...string) []reaper.Cmd {
	var cs []reaper.Cmd
	for _, p := range progs {
		cs = append(cs, reaper.Cmd{Args: []string{p, "--flag", "a b"}, Stderr: os.Stderr})
	}
	return cs
}

// withEnv sets env on every command.
func withEnv(cs []reaper.Cmd, env []string) []reaper.Cmd {
	for i := range cs {
		cs[i].Env = env
	}
	return cs
}

func waitDone(t *testing.T, s *supervisor) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("supervisor not done after 30s")
	}
}

func TestSuperviseStartsCommandsInOrderWithTheirArgsAndEnv(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {}}}}
	env := []string{"PATH=/x", "A=1"}
	s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("containerd", "dockerd"), env), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 2 || f.started[0].args[0] != "containerd" || f.started[1].args[0] != "dockerd" {
		t.Fatalf("started %v", f.started)
	}
	if !reflect.DeepEqual(f.started[1].args, []string{"dockerd", "--flag", "a b"}) {
		t.Errorf("engine args %q", f.started[1].args)
	}
	if !reflect.DeepEqual(f.envs[0], env) || !reflect.DeepEqual(f.envs[1], env) {
		t.Errorf("envs %q", f.envs)
	}
	if f.started[1].stderr != s.tail || f.started[0].stderr != os.Stderr {
		t.Error("the engine's stderr is not kept, or another's is")
	}
	f.started[1].exit(reaper.Status{})
	waitDone(t, s)
}

func TestSuperviseStopsTheStartedOnesWhenOneCannotStart(t *testing.T) {
	f := &fakeProcs{failAt: 2, exitOn: map[string]map[syscall.Signal]reaper.Status{
		"containerd": {syscall.SIGTERM: {Signal: syscall.SIGTERM}}}}
	_, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("containerd", "dockerd"), nil), time.Second)
	if err == nil {
		t.Fatal("no error")
	}
	if got := f.started[0].got(); !reflect.DeepEqual(got, []syscall.Signal{syscall.SIGTERM}) {
		t.Errorf("containerd got %v, want SIGTERM", got)
	}
}

func TestSupervisePassesSignalsOnToTheEngine(t *testing.T) {
	f := &fakeProcs{}
	s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("dockerd"), nil), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGHUP} {
		if err := s.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	want := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGHUP}
	if got := f.started[0].got(); !reflect.DeepEqual(got, want) {
		t.Errorf("engine got %v, want %v", got, want)
	}
	f.started[0].exit(reaper.Status{})
	waitDone(t, s)
}

func TestWhenTheEngineExitsItsGroupAndStrayChildrenAreEnded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		diesOn    map[syscall.Signal]bool
		wantGroup []syscall.Signal
	}{
		{"members that stop on SIGTERM get nothing more", map[syscall.Signal]bool{syscall.SIGTERM: true, syscall.SIGKILL: true},
			[]syscall.Signal{syscall.SIGTERM}},
		{"members that ignore SIGTERM are killed after the grace", map[syscall.Signal]bool{syscall.SIGKILL: true},
			[]syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeProcs{groupLeft: 1, groupDiesOn: tc.diesOn, strays: map[int]bool{}}
			s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("dockerd"), nil), 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			eng := f.started[0]
			eng.exit(reaper.Status{Code: 1})
			waitDone(t, s)
			if got := eng.gotGroup(); !reflect.DeepEqual(got, tc.wantGroup) {
				t.Errorf("the engine's group got %v, want %v", got, tc.wantGroup)
			}
			if s.alive() {
				t.Error("Done before the engine's group was gone")
			}
		})
	}
}

func TestSuperviseEndsWithTheEnginesStatus(t *testing.T) {
	cases := []struct {
		name     string
		status   reaper.Status
		code     int
		reason   string
		ignoreTE bool // containerd ignores SIGTERM
	}{
		{"an engine that exits 0 gives 0", reaper.Status{}, 0, "engine exited with status 0", false},
		{"an engine that exits 1 gives 1", reaper.Status{Code: 1}, 1, "engine exited with status 1", false},
		{"an engine killed by SIGKILL gives 137", reaper.Status{Signal: syscall.SIGKILL}, 137, "engine killed by signal 9", false},
		{"a child that ignores SIGTERM is killed after the grace", reaper.Status{Code: 2}, 2, "engine exited with status 2", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exits := map[syscall.Signal]reaper.Status{syscall.SIGKILL: {Signal: syscall.SIGKILL}}
			if !c.ignoreTE {
				exits[syscall.SIGTERM] = reaper.Status{Signal: syscall.SIGTERM}
			}
			f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": exits}}
			s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("containerd", "dockerd"), nil), 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			f.started[1].exit(c.status)
			waitDone(t, s)
			if s.ExitCode() != c.code || s.Reason() != c.reason {
				t.Errorf("got %d %q, want %d %q", s.ExitCode(), s.Reason(), c.code, c.reason)
			}
			want := []syscall.Signal{syscall.SIGTERM}
			if c.ignoreTE {
				want = append(want, syscall.SIGKILL)
			}
			if got := f.started[0].got(); !reflect.DeepEqual(got, want) {
				t.Errorf("containerd got %v, want %v", got, want)
			}
		})
	}
}

func TestSuperviseStopSendsSIGTERMToTheEngine(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"dockerd": {syscall.SIGTERM: {}}}}
	s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("dockerd"), nil), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	waitDone(t, s)
	if s.ExitCode() != 0 {
		t.Errorf("exit code %d", s.ExitCode())
	}
}

func TestSuperviseWithoutCommandsFails(t *testing.T) {
	if _, err := supervise(hclog.NewNullLogger(), &fakeProcs{}, withEnv(nil, nil), time.Second); err == nil {
		t.Fatal("no error")
	}
}

func TestTailPassesThroughAndKeepsTheLastLines(t *testing.T) {
	var out bytes.Buffer
	tl := newTail(&out)
	in := ""
	for i := range tailLines + 5 {
		in += "line " + string(rune('a'+i)) + "\n"
	}
	in += "unfinished"
	for _, chunk := range []string{in[:7], in[7:50], in[50:]} {
		tl.Write([]byte(chunk))
	}
	if out.String() != in {
		t.Errorf("passed through %q", out.String())
	}
	lines := tl.Lines()
	if len(lines) != tailLines+1 || lines[0] != "line f" || lines[len(lines)-1] != "unfinished" {
		t.Errorf("kept %q", lines)
	}
}

func TestLastErrorPicksTheLineThatSaysWhy(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  string
	}{
		{"a plain line printed at exit wins over info lines",
			[]string{`level=info msg="start"`, "failed to load listeners: listen tcp 0.0.0.0:2375: bind: address already in use", `level=info msg="stopping"`},
			"failed to load listeners: listen tcp 0.0.0.0:2375: bind: address already in use"},
		{"the last error-level line wins over later info lines",
			[]string{`level=error msg="first"`, `level=fatal msg="bad flag"`, `level=info msg="bye"`},
			`level=fatal msg="bad flag"`},
		{"only info lines give the last one",
			[]string{`level=info msg="a"`, `level=info msg="b"`}, `level=info msg="b"`},
		{"the usage hint after a refused flag gives the line before it",
			[]string{`level=info msg="Starting up"`, "unknown flag: --no-such-flag", "See 'dockerd --help'."},
			"unknown flag: --no-such-flag"},
		{"dockerd's fatal line wins over the lines its cause runs on to",
			[]string{`level=info msg="Starting up"`, "failed to start daemon: Error initializing network controller: iptables failed: iptables --wait -t nat -N DOCKER: iptables v1.8.9: can't initialize iptables table `nat'", "Perhaps iptables or your kernel needs to be upgraded.", " (exit status 3)"},
			"failed to start daemon: Error initializing network controller: iptables failed: iptables --wait -t nat -N DOCKER: iptables v1.8.9: can't initialize iptables table `nat'"},
		{"no lines give nothing", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := lastError(c.lines); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// What Debian's dockerd 20.10, 26.1 and 28.5 print when they refuse an
// argument: the refusal on a "Status:" line, the exit code after the hint, or
// after the whole usage (28.5), longer than the tail keeps.
func TestLastErrorOfARefusedCommandLineIsTheRefusal(t *testing.T) {
	usage := "\nUsage:\tdockerd [OPTIONS]\n\nA self-sufficient runtime for containers.\n\nOptions:\n"
	for i := 0; i < 3*tailLines; i++ {
		usage += fmt.Sprintf("      --option-%d string   what it does\n", i)
	}
	cases := []struct{ name, out string }{
		{"20.10 and 26.1", "Status: unknown flag: --no-such-engine-flag\nSee 'dockerd --help'., Code: 125\n"},
		{"28.5, the usage between", "Status: unknown flag: --no-such-engine-flag\nSee 'dockerd --help'.\n" + usage + ", Code: 125\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := newTail(io.Discard)
			tl.Write([]byte(`time="2026-12-01T00:00:00Z" level=info msg="Starting up"` + "\n"))
			tl.Write([]byte(c.out))
			if got, want := tl.LastError(), "unknown flag: --no-such-engine-flag"; got != want {
				t.Errorf("LastError() = %q, want %q", got, want)
			}
		})
	}
	if got := lastError([]string{"unknown flag: --x", "See 'dockerd --help'., Code: 125"}); got != "unknown flag: --x" {
		t.Errorf("lastError skips the hint with its code: got %q", got)
	}
	if got := lastError([]string{"unknown flag: --x", ", Code: 125"}); got != "unknown flag: --x" {
		t.Errorf("lastError skips a line holding only the code: got %q", got)
	}
}

func TestSuperviseStopKillsAnEngineThatOutlivesItsGraceAndSaysSo(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"dockerd": {syscall.SIGKILL: {Signal: syscall.SIGKILL}}}}
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	s, err := supervise(log, f, withEnv(cmds("dockerd"), nil), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.SetEngineGrace(50 * time.Millisecond)
	s.Stop()
	waitDone(t, s)
	if got := f.started[0].got(); !reflect.DeepEqual(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}) {
		t.Errorf("the engine got %v, want SIGTERM then SIGKILL", got)
	}
	if !strings.Contains(logs.String(), "the engine did not shut down in time: killing it: grace=50ms") {
		t.Errorf("log: %q", logs.String())
	}
}

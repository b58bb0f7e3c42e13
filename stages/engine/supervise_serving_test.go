package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/internal/reaper"
)

// containerdFirst is what the engine stage starts where dinv starts the
// engine's containerd: containerd serving socket, then the engine.
func containerdFirst(socket string) ([]reaper.Cmd, []string) {
	return withEnv(cmds("containerd", "dockerd"), nil), []string{socket, ""}
}

type superviseResult struct {
	s   *supervisor
	err error
}

// superviseAsync runs SuperviseServing in the background.
func superviseAsync(ctx context.Context, f *fakeProcs, socket string, wait time.Duration) <-chan superviseResult {
	out := make(chan superviseResult, 1)
	cs, serves := containerdFirst(socket)
	go func() {
		s, err := superviseServing(ctx, hclog.NewNullLogger(), f, cs, serves, 20*time.Millisecond, wait)
		out <- superviseResult{s, err}
	}()
	return out
}

func result(t *testing.T, ch <-chan superviseResult) superviseResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("SuperviseServing has not returned after 30s")
	}
	return superviseResult{}
}

func TestTheEngineStartsOnceContainerdServes(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "containerd.sock")
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {}}}}
	ch := superviseAsync(context.Background(), f, socket, time.Minute)
	// containerd is starting: no socket yet, then one that refuses (a
	// socket file left by an earlier run), then the real one.
	time.Sleep(50 * time.Millisecond)
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Fatalf("started %q before containerd served", got)
	}
	stale, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	time.Sleep(50 * time.Millisecond)
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Fatalf("started %q on a stale socket file", got)
	}
	if err := syscall.Unlink(socket); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd", "dockerd"}) {
		t.Fatalf("started %q", got)
	}
	f.proc(1).exit(reaper.Status{})
	waitDone(t, r.s)
}

func TestContainerdThatExitsBeforeServingFailsTheStartWithItsLastLine(t *testing.T) {
	f := &fakeProcs{}
	ch := superviseAsync(context.Background(), f, filepath.Join(t.TempDir(), "none.sock"), time.Minute)
	for len(f.startedArgs0()) == 0 {
		time.Sleep(time.Millisecond)
	}
	c := f.proc(0)
	fmt.Fprintln(c.stderr, `time="x" level=info msg="starting containerd"`)
	fmt.Fprintln(c.stderr, `containerd: failed to load TOML: /x/containerd.toml: (1, 1): parsing error`)
	c.exit(reaper.Status{Code: 1})
	r := result(t, ch)
	if r.err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"containerd", "exited (exited with status 1) before serving", "parsing error"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q lacks %q", r.err, want)
		}
	}
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Errorf("started %q", got)
	}
}

func TestContainerdThatDoesNotServeInTimeIsEndedAndNothingElseStarts(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {Signal: syscall.SIGTERM}}}}
	r := result(t, superviseAsync(context.Background(), f, filepath.Join(t.TempDir(), "none.sock"), 100*time.Millisecond))
	if r.err == nil || !strings.Contains(r.err.Error(), "not serving on") {
		t.Fatalf("error = %v", r.err)
	}
	if got := f.signalled(); !reflect.DeepEqual(got, []string{"containerd SIGTERM"}) {
		t.Errorf("signals %q, want containerd's SIGTERM alone", got)
	}
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Errorf("started %q", got)
	}
}

func TestAStopWhileContainerdStartsEndsItAndStartsNoEngine(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {Signal: syscall.SIGTERM}}}}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("received SIGTERM")
	ch := superviseAsync(ctx, f, filepath.Join(t.TempDir(), "none.sock"), time.Minute)
	time.Sleep(30 * time.Millisecond)
	cancel(stop)
	r := result(t, ch)
	if !errors.Is(r.err, stop) {
		t.Fatalf("error = %v, want the stop", r.err)
	}
	if got := f.signalled(); !reflect.DeepEqual(got, []string{"containerd SIGTERM"}) {
		t.Errorf("signals %q", got)
	}
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Errorf("started %q", got)
	}
}

// serving starts the engine behind a containerd that serves at once.
func serving(t *testing.T, f *fakeProcs) *supervisor {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := result(t, superviseAsync(context.Background(), f, socket, time.Minute))
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.s
}

func TestContainerdIsStoppedAfterTheEngine(t *testing.T) {
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{
		"containerd": {syscall.SIGTERM: {}},
		"dockerd":    {syscall.SIGTERM: {}},
	}}
	s := serving(t, f)
	s.Stop()
	waitDone(t, s)
	if got, want := f.signalled(), []string{"dockerd SIGTERM", "containerd SIGTERM"}; !reflect.DeepEqual(got, want) {
		t.Errorf("signals %q, want %q: the engine first, containerd once it has gone", got, want)
	}
	if s.ExitCode() != 0 {
		t.Errorf("exit code %d", s.ExitCode())
	}
}

func TestContainerdThatExitsUnderARunningEngineIsStartedAgain(t *testing.T) {
	defer func(d time.Duration) { restartDelay = d }(restartDelay)
	restartDelay = 10 * time.Millisecond
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {}}}}
	s := serving(t, f)
	for n, i := range []int{0, 2} { // twice: the one started again is watched too
		f.proc(i).exit(reaper.Status{Signal: syscall.SIGKILL})
		deadline := time.Now().Add(10 * time.Second)
		for len(f.startedArgs0()) < 3+n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if got, want := f.startedArgs0(), []string{"containerd", "dockerd", "containerd", "containerd"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("started %q, want %q", got, want)
	}
	if got := f.proc(3).args; !reflect.DeepEqual(got, f.proc(0).args) {
		t.Errorf("started again with %q, not %q", got, f.proc(0).args)
	}
	f.proc(1).exit(reaper.Status{})
	waitDone(t, s)
	if got := f.signalled(); !reflect.DeepEqual(got, []string{"containerd SIGTERM"}) {
		t.Errorf("signals %q: the containerd running at the end gets SIGTERM, the dead ones nothing", got)
	}
}

func TestAProcessThatServesNothingIsNotStartedAgain(t *testing.T) {
	defer func(d time.Duration) { restartDelay = d }(restartDelay)
	restartDelay = time.Millisecond
	f := &fakeProcs{}
	s, err := supervise(hclog.NewNullLogger(), f, withEnv(cmds("docker-containerd", "docker"), nil), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f.proc(0).exit(reaper.Status{Code: 2})
	time.Sleep(50 * time.Millisecond)
	if got := f.startedArgs0(); len(got) != 2 {
		t.Errorf("started %q: 1.12's containerd was started again", got)
	}
	f.proc(1).exit(reaper.Status{})
	waitDone(t, s)
}

func TestAStopOnceContainerdServesStartsNoEngine(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f := &fakeProcs{exitOn: map[string]map[syscall.Signal]reaper.Status{"containerd": {syscall.SIGTERM: {Signal: syscall.SIGTERM}}}}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("received SIGTERM")
	// The stop comes while containerd is started: it serves at once, and the
	// engine is not started after it.
	f.onStart = func() { cancel(stop) }
	r := result(t, superviseAsync(ctx, f, socket, time.Minute))
	if !errors.Is(r.err, stop) {
		t.Fatalf("error = %v, want the stop", r.err)
	}
	if got := f.startedArgs0(); !reflect.DeepEqual(got, []string{"containerd"}) {
		t.Errorf("started %q", got)
	}
	if got := f.signalled(); !reflect.DeepEqual(got, []string{"containerd SIGTERM"}) {
		t.Errorf("signals %q", got)
	}
}

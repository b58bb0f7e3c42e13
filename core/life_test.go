package core

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/test/harness"
)

// events is an ordered record shared by the fakes of one test.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) { e.mu.Lock(); e.list = append(e.list, s); e.mu.Unlock() }
func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.list, ",")
}

// fakeEngine records the signals it gets and exits with code on exitOn.
type fakeEngine struct {
	ev     *events
	exitOn syscall.Signal
	code   int
	once   sync.Once
	done   chan struct{}
}

func newFakeEngine(ev *events, exitOn syscall.Signal) *fakeEngine {
	return &fakeEngine{ev: ev, exitOn: exitOn, done: make(chan struct{})}
}

func (e *fakeEngine) exit(code int) {
	e.once.Do(func() { e.code = code; close(e.done) })
}
func (e *fakeEngine) Done() <-chan struct{} { return e.done }
func (e *fakeEngine) ExitCode() int         { <-e.done; return e.code }
func (e *fakeEngine) Reason() string {
	return fmt.Sprintf("engine exited with status %d", e.ExitCode())
}
func (e *fakeEngine) Stop() { e.ev.add("engine stop"); e.exit(0) }
func (e *fakeEngine) Signal(sig syscall.Signal) error {
	e.ev.add("engine got " + SignalName(sig))
	if sig == e.exitOn {
		e.exit(0)
	}
	return nil
}

// startsEngine is a stage that leaves eng running in the state.
type startsEngine struct{ eng Engine }

func (startsEngine) Name() string                             { return "engine" }
func (startsEngine) Phase() Phase                             { return Start }
func (st startsEngine) Run(_ context.Context, s *State) error { s.Engine = st.eng; return nil }

// hookStage records its run.
type hookStage struct {
	name string
	ev   *events
	run  func(ctx context.Context) error
}

func (h *hookStage) Name() string { return h.name }
func (h *hookStage) Run(ctx context.Context, s *State) error {
	h.ev.add("run " + h.name)
	if h.run != nil {
		return h.run(ctx)
	}
	return nil
}

// lifeRunner returns a runner catching the returned channel, logging to buf.
func lifeRunner(t *testing.T, buf *harness.Buffer) (*Runner, context.Context, chan os.Signal) {
	t.Helper()
	signals := make(chan os.Signal, 4)
	r := &Runner{Log: hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Debug, Output: buf}),
		StageWait: 100 * time.Millisecond}
	ctx := r.Catch(context.Background(), signals)
	t.Cleanup(r.Release)
	return r, ctx, signals
}

// runAsync runs r in the background and returns its result channel.
func runAsync(ctx context.Context, r *Runner, stages []Stage, s *State) <-chan Exit {
	out := make(chan Exit, 1)
	go func() { out <- r.Run(ctx, stages, s) }()
	return out
}

func wait(t *testing.T, ch <-chan Exit) Exit {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s")
		return Exit{}
	}
}

func TestAStopSignalBeforeTheEngineEndsTheStageAndExits128PlusN(t *testing.T) {
	var logs harness.Buffer
	r, ctx, signals := lifeRunner(t, &logs)
	ev := &events{}
	waiting := make(chan struct{})
	stages := []Stage{
		&hookStage{name: "lock", ev: ev, run: func(ctx context.Context) error {
			close(waiting)
			<-ctx.Done()
			return ctx.Err()
		}},
		&hookStage{name: "later", ev: ev},
	}
	done := runAsync(ctx, r, stages, &State{})
	<-waiting
	signals <- syscall.SIGTERM
	exit := wait(t, done)
	if exit.Code != 143 || exit.Err != nil || !strings.Contains(exit.Reason, "SIGTERM before the engine started") {
		t.Errorf("exit %+v, want 143 for SIGTERM, no error", exit)
	}
	if got := ev.String(); got != "run lock" {
		t.Errorf("events %q: the later stage ran", got)
	}
	// Said before Run could return: dinv exits right after it.
	if !strings.Contains(logs.String(), "stop signal received: signal=SIGTERM") {
		t.Errorf("the stop was not logged by the time Run returned:\n%s", logs.String())
	}
}

func TestAStopSignalDuringAStageThatIgnoresItRunsNoLaterStage(t *testing.T) {
	var logs harness.Buffer
	r, ctx, signals := lifeRunner(t, &logs)
	ev := &events{}
	entered, release := make(chan struct{}), make(chan struct{})
	stages := []Stage{
		// Busy with something that does not watch ctx (a read that blocks),
		// it returns without error once the stop has been routed.
		&hookStage{name: "busy", ev: ev, run: func(context.Context) error {
			close(entered)
			<-release
			return nil
		}},
		&hookStage{name: "later", ev: ev},
		startsEngine{eng: newFakeEngine(ev, syscall.SIGTERM)},
	}
	done := runAsync(ctx, r, stages, &State{})
	<-entered
	signals <- syscall.SIGTERM
	<-ctx.Done()
	close(release)
	exit := wait(t, done)
	if exit.Code != 143 || exit.Err != nil {
		t.Errorf("exit %+v, want 143 for SIGTERM, no error", exit)
	}
	if got := ev.String(); got != "run busy" {
		t.Errorf("events %q: a stage ran after the stop signal", got)
	}
}

func TestAStageThatIgnoresItsContextIsLeftBehindAfterTheWait(t *testing.T) {
	var logs harness.Buffer
	r, ctx, signals := lifeRunner(t, &logs)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	entered := make(chan struct{})
	stages := []Stage{&hookStage{name: "stuck", ev: &events{}, run: func(context.Context) error {
		close(entered)
		<-stuck
		return nil
	}}}
	done := runAsync(ctx, r, stages, &State{})
	<-entered
	signals <- syscall.SIGINT
	if exit := wait(t, done); exit.Code != 130 {
		t.Errorf("exit %+v, want 130 for SIGINT", exit)
	}
	if !strings.Contains(logs.String(), "stage still running after its context ended") {
		t.Errorf("no warning about the stage left behind:\n%s", logs.String())
	}
}

func TestSignalsBeforeTheEngineAreDroppedAndAfterItPassedOn(t *testing.T) {
	var logs harness.Buffer
	r, ctx, signals := lifeRunner(t, &logs)
	ev := &events{}
	eng := newFakeEngine(ev, syscall.SIGTERM)
	early := make(chan struct{})
	late := make(chan struct{})
	stages := []Stage{
		&hookStage{name: "first", ev: ev, run: func(context.Context) error {
			signals <- syscall.SIGHUP
			<-early
			return nil
		}},
		startsEngine{eng},
		&hookStage{name: "after", ev: ev, run: func(context.Context) error { close(late); return nil }},
	}
	done := runAsync(ctx, r, stages, &State{})
	waitLog(t, &logs, "signal before the engine started: dropped: signal=SIGHUP")
	close(early)
	<-late
	signals <- syscall.SIGUSR1
	waitEvent(t, ev, "engine got SIGUSR1")
	signals <- syscall.SIGTERM
	exit := wait(t, done)
	want := "run first,run after,engine got SIGUSR1,engine got SIGTERM"
	if got := ev.String(); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
	if exit.Code != 0 || exit.Err != nil {
		t.Errorf("exit %+v, want the engine's 0", exit)
	}
}

func TestTheEnginesEndEndsTheLaterStagesContextAndGivesItsStatus(t *testing.T) {
	var logs harness.Buffer
	r, ctx, _ := lifeRunner(t, &logs)
	ev := &events{}
	eng := newFakeEngine(ev, 0)
	stages := []Stage{
		startsEngine{eng},
		&hookStage{name: "join", ev: ev, run: func(ctx context.Context) error {
			eng.exit(3)
			<-ctx.Done() // ends because the engine did
			return ctx.Err()
		}},
	}
	exit := wait(t, runAsync(ctx, r, stages, &State{}))
	if exit.Code != 3 || exit.Reason != "engine exited with status 3" {
		t.Errorf("exit %+v, want the engine's 3", exit)
	}
	if got := ev.String(); got != "run join" {
		t.Errorf("events %q", got)
	}
}

func TestAStageFailingOnceTheEngineRunsStopsTheEngineAndFails(t *testing.T) {
	var logs harness.Buffer
	r, ctx, _ := lifeRunner(t, &logs)
	ev := &events{}
	eng := newFakeEngine(ev, 0)
	stages := []Stage{
		&hookStage{name: "prep", ev: ev},
		startsEngine{eng},
		&hookStage{name: "join", ev: ev, run: func(context.Context) error { return errors.New("wrong token") }},
	}
	exit := wait(t, runAsync(ctx, r, stages, &State{}))
	if exit.Code != 1 || exit.Err == nil || exit.Err.Error() != "stage join: wrong token" {
		t.Errorf("exit %+v, want 1 with the stage's error", exit)
	}
	if got := ev.String(); got != "run prep,run join,engine stop" {
		t.Errorf("events %q: the engine stopped after the failure", got)
	}
}

func TestExitCodeFindsTheCodeThroughAnyWrapping(t *testing.T) {
	stop := &StopError{Signal: syscall.SIGTERM}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"a usage error is 2", Usagef("-port: bad"), 2},
		{"a usage error wrapped by pkg/errors is 2", errors.Wrap(Usagef("x"), "stage pki"), 2},
		{"a stop is 128+N", stop, 143},
		{"a stop wrapped with %w is 128+N", fmt.Errorf("stage lock: %w", stop), 143},
		{"a stop wrapped twice is 128+N", errors.Wrap(fmt.Errorf("wait: %w", stop), "stage pki"), 143},
		{"anything else is 1", errors.New("boom"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.err); got != tc.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func waitLog(t *testing.T, buf *harness.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("log lacks %q:\n%s", want, buf.String())
}

func waitEvent(t *testing.T, ev *events, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(ev.String(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("events lack %q: %s", want, ev)
}

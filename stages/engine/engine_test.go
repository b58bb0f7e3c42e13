package engine

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

func TestEngineStageHonoursAStopCaughtBeforeTheEngineStarted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending []os.Signal
		stopped bool
		code    int
	}{
		{"no signal: the engine starts", nil, false, 0},
		{"SIGHUP alone: the engine starts", []os.Signal{syscall.SIGHUP}, false, 0},
		{"SIGTERM: nothing starts, exit 143", []os.Signal{syscall.SIGHUP, syscall.SIGTERM}, true, 143},
		{"SIGINT: nothing starts, exit 130", []os.Signal{syscall.SIGINT, syscall.SIGTERM}, true, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signals := make(chan os.Signal, len(tc.pending))
			for _, s := range tc.pending {
				signals <- s
			}
			fake := &fakeProcs{}
			st := &engineStage{signals: signals, procs: func() Procs { return fake }, stderr: os.Stderr}
			s := &core.State{Commands: []core.Command{{Args: []string{"dockerd"}}}}
			err := st.Run(context.Background(), s)
			var stop *StoppedError
			if got := errors.As(err, &stop); got != tc.stopped {
				t.Fatalf("error = %v, want stopped=%v", err, tc.stopped)
			}
			if tc.stopped {
				if len(fake.started) != 0 || s.Engine != nil {
					t.Errorf("started %d processes after a stop", len(fake.started))
				}
				if stop.ExitCode() != tc.code {
					t.Errorf("exit code %d, want %d", stop.ExitCode(), tc.code)
				}
				return
			}
			if err != nil || len(fake.started) != 1 || s.Engine == nil {
				t.Errorf("err %v, started %d, engine %v", err, len(fake.started), s.Engine)
			}
		})
	}
}

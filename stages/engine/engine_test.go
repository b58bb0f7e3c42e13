package engine

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/reaper"
)

func TestEngineStageStartsNothingOnceAStopHasEndedItsContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stopped bool
	}{
		{"no stop: the engine starts and stages after it can run programs", false},
		{"a stop before it: nothing starts, the stop is the error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tc.stopped {
				cancel(&core.StopError{Signal: syscall.SIGTERM})
			}
			fake := &fakeProcs{}
			st := &stage{procs: func() (reaper.Procs, error) { return fake, nil }, stderr: os.Stderr}
			s := &core.State{Commands: []core.Command{{Args: []string{"dockerd"}}}}
			err := st.Run(ctx, s)
			var stop *core.StopError
			if got := errors.As(err, &stop); got != tc.stopped {
				t.Fatalf("error = %v, want stopped=%v", err, tc.stopped)
			}
			if tc.stopped {
				if len(fake.started) != 0 || s.Engine != nil {
					t.Errorf("started %d processes after a stop", len(fake.started))
				}
				return
			}
			if err != nil || len(fake.started) != 1 || s.Engine == nil {
				t.Errorf("err %v, started %d, engine %v", err, len(fake.started), s.Engine)
			}
			fake.started[0].exit(reaper.Status{})
			<-s.Engine.Done()
		})
	}
}

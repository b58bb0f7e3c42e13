package core

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
)

// fakeStage records its runs in a caller's closure and can fail.
type fakeStage struct {
	name    string
	err     error
	needs   []string
	invalid error
	run     func(ctx context.Context, name string)
}

func (f *fakeStage) Name() string { return f.name }
func (f *fakeStage) Run(ctx context.Context, s *State) error {
	if f.run != nil {
		f.run(ctx, f.name)
	}
	return f.err
}

type skippedStage struct{ *fakeStage }

func (skippedStage) SkipsDryRun() {}

type requiringStage struct{ *fakeStage }

func (r requiringStage) Requires(*Config) []string { return r.needs }

type validatingStage struct{ *fakeStage }

func (v validatingStage) Validate(*Config, *Profile) error { return v.invalid }

func TestRunnerRunsInListOrderAndStopsAtFirstFailure(t *testing.T) {
	var ran []string
	record := func(_ context.Context, name string) { ran = append(ran, name) }
	boom := errors.New("boom")
	stages := []Stage{
		&fakeStage{name: "c", run: record},
		&fakeStage{name: "a", run: record},
		&fakeStage{name: "b", run: record, err: boom},
		&fakeStage{name: "d", run: record},
	}
	r := &Runner{Log: hclog.NewNullLogger()}
	err := r.Run(context.Background(), stages, &State{}).Err
	if got := strings.Join(ran, ","); got != "c,a,b" {
		t.Errorf("ran %q, want c,a,b", got)
	}
	if err == nil || err.Error() != "stage b: boom" {
		t.Errorf("error = %v, want %q", err, "stage b: boom")
	}
	if errors.Cause(err) != boom {
		t.Errorf("cause = %v, want the stage's own error", errors.Cause(err))
	}
}

func TestRunnerNamesEachStageLoggerAndLogsDurationsAtDebug(t *testing.T) {
	var buf bytes.Buffer
	root := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Debug, Output: &buf})
	var names []string
	record := func(ctx context.Context, _ string) {
		names = append(names, Log(ctx).Name())
		Log(ctx).Info("hello", "key", "value")
	}
	clock := time.Unix(0, 0)
	r := &Runner{Log: root, Now: func() time.Time { clock = clock.Add(250 * time.Millisecond); return clock }}
	stages := []Stage{&fakeStage{name: "pki", run: record}, &fakeStage{name: "args", run: record}}
	if err := r.Run(context.Background(), stages, &State{}).Err; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "dinv.pki,dinv.args" {
		t.Errorf("logger names %q, want dinv.pki,dinv.args", got)
	}
	out := buf.String()
	for _, want := range []string{
		"[DEBUG] dinv.pki: start",
		"[INFO]  dinv.pki: hello: key=value",
		"[DEBUG] dinv.pki: done: duration=250ms",
		"[DEBUG] dinv.args: done: duration=250ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestRunnerLogsNothingAtInfoLevelForAQuietStage(t *testing.T) {
	var buf bytes.Buffer
	root := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &buf})
	r := &Runner{Log: root}
	if err := r.Run(context.Background(), []Stage{&fakeStage{name: "quiet"}}, &State{}).Err; err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("info-level run logged %q", buf.String())
	}
}

func TestRunnerSkipsDryRunSkippersUnderDryRunOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dryRun bool
		want   string
	}{
		{"a real start runs every stage", false, "plain,skipped,last"},
		{"a dry run skips the DryRunSkipper", true, "plain,last"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			record := func(_ context.Context, name string) { ran = append(ran, name) }
			stages := []Stage{
				&fakeStage{name: "plain", run: record},
				skippedStage{&fakeStage{name: "skipped", run: record}},
				&fakeStage{name: "last", run: record},
			}
			r := &Runner{Log: hclog.NewNullLogger()}
			if err := r.Run(context.Background(), stages, &State{Config: Config{DryRun: tc.dryRun}}).Err; err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ran, ","); got != tc.want {
				t.Errorf("ran %q, want %q", got, tc.want)
			}
		})
	}
}

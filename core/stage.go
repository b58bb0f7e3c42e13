package core

import (
	"context"

	"github.com/hashicorp/go-hclog"
)

// Stage is one step of dinv's start-up pipeline.
//
// A stage reads what it needs from the State (the configuration and what the
// stages before it filled) and fills its own fields, which are documented on
// State with the stage's name. The runner calls Run once, in list order; the
// first stage that returns an error stops the pipeline.
//
// Name is API: it is how users list the stage in a YAML file, and it names the
// stage's logger (dinv.<name>) and its errors. Never rename a stage.
//
// Run gets a context whose logger (Log) is already named for the stage; a stage
// logs key/value pairs and wraps its errors with the operation that failed
// ("write CA key"), never with its own name: the runner adds that, once.
//
// A stage may also implement the optional interfaces below; the runner and the
// list validation find them by type assertion.
type Stage interface {
	Name() string
	Run(ctx context.Context, s *State) error
}

// Validator is implemented by stages that check the configuration before any
// stage runs (a storage driver name, an insecure registry). An error from
// Validate is a usage error: dinv exits 2 and nothing has been changed.
type Validator interface {
	Validate(cfg *Config, p *Profile) error
}

// Requirer is implemented by stages that need other stages earlier in the
// list, depending on the configuration (the argument builder needs the
// certificate stage only when TLS is on).
type Requirer interface {
	Requires(cfg *Config) []string
}

// DryRunSkipper is implemented by stages that -dry-run skips: those that start
// processes, change the container (mounts, cgroups, firewall, run files) or
// need a running engine. Every other stage runs under -dry-run too and must
// then write nothing (Config.DryRun): it reports what a real start would do.
type DryRunSkipper interface {
	SkipsDryRun()
}

// Log returns the logger the runner put in ctx for the running stage, or
// hclog's default logger outside the runner (in a stage's unit test, say).
func Log(ctx context.Context) hclog.Logger {
	return hclog.FromContext(ctx)
}

// WithLog returns ctx carrying logger l for Log.
func WithLog(ctx context.Context, l hclog.Logger) context.Context {
	return hclog.WithContext(ctx, l)
}

// Phase is where in the engine's life a stage runs. A stage list runs its
// phases in order: the container and the engine's configuration are
// prepared (Prepare), one stage starts the engine (Start), then the stages
// that need it running (Running), whose context ends with the engine.
// Catalogue.Resolve refuses a list that goes back.
type Phase int

const (
	Prepare Phase = iota // before the engine: State.Engine is nil
	Start                // starts the engine and leaves it in State.Engine
	Running              // the engine runs (and, after ready, answers)
)

func (p Phase) String() string {
	switch p {
	case Start:
		return "start"
	case Running:
		return "running"
	}
	return "prepare"
}

// Phased is implemented by the stages that do not prepare: the one that
// starts the engine and those that need it running.
type Phased interface {
	Phase() Phase
}

// PhaseOf is a stage's phase: Prepare unless it says otherwise.
func PhaseOf(s Stage) Phase {
	if p, ok := s.(Phased); ok {
		return p.Phase()
	}
	return Prepare
}

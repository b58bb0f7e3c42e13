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

// Stopper is implemented by stages that must act when the engine's life ends.
// The runner calls Stop on every stage that ran, once, in reverse list order:
// on a stop signal before it tells the engine to stop (the engine's API still
// answers then), after the engine ended on its own, when a stage failed (then
// before the engine is stopped), or when a stop came before the engine
// started. Never under -dry-run. ctx bounds all stop hooks together
// (Runner.StopTimeout); an error is logged and the rest goes on.
type Stopper interface {
	Stop(ctx context.Context, s *State) error
}

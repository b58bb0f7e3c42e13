package core

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
)

// Runner runs a resolved stage list in order. It alone owns what cuts across
// stages: each stage's logger (dinv.<name>), its start and finish with the
// duration at debug level, skipping DryRunSkippers under -dry-run, and the one wrap
// of a failure with the stage's name.
type Runner struct {
	Log hclog.Logger     // the root logger, named "dinv"
	Now func() time.Time // the clock; time.Now when nil
}

// Run runs stages in order on s and stops at the first failure, returning it
// wrapped as "stage <name>: ...".
func (r *Runner) Run(ctx context.Context, stages []Stage, s *State) error {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	for _, st := range stages {
		log := r.Log.Named(st.Name())
		if _, skip := st.(DryRunSkipper); skip && s.Config.DryRun {
			log.Debug("skipped", "reason", "dry-run")
			continue
		}
		start := now()
		log.Debug("start")
		err := st.Run(WithLog(ctx, log), s)
		if err != nil {
			log.Debug("failed", "duration", now().Sub(start))
			return errors.Wrapf(err, "stage %s", st.Name())
		}
		log.Debug("done", "duration", now().Sub(start))
	}
	return nil
}

package prepare

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubstale struct{}

func (stubstale) Name() string { return "stale" }

func (stubstale) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewStale() core.Stage { return stubstale{} }

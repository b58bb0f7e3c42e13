package engine

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubready struct{}

func (stubready) Name() string { return "ready" }

func (stubready) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewReady() core.Stage { return stubready{} }

package engine

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubargs struct{}

func (stubargs) Name() string { return "args" }

func (stubargs) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewArgs() core.Stage { return stubargs{} }

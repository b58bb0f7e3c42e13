package prepare

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubmounts struct{}

func (stubmounts) Name() string { return "mounts" }

func (stubmounts) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewMounts() core.Stage { return stubmounts{} }

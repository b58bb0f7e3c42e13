package prepare

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubcgroups struct{}

func (stubcgroups) Name() string { return "cgroups" }

func (stubcgroups) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewCgroups() core.Stage { return stubcgroups{} }

package network

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubnetwork struct{}

func (stubnetwork) Name() string { return "network" }

func (stubnetwork) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func New() core.Stage { return stubnetwork{} }

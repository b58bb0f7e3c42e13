package pki

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubpki struct{}

func (stubpki) Name() string { return "pki" }

func (stubpki) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func New() core.Stage { return stubpki{} }

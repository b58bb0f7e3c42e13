package storage

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubstorage struct{}

func (stubstorage) Name() string { return "storage" }

func (stubstorage) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func New() core.Stage { return stubstorage{} }

package prepare

import (
	"context"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubiptables struct{}

func (stubiptables) Name() string { return "iptables" }

func (stubiptables) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func NewIptables() core.Stage { return stubiptables{} }

package engine

import (
	"context"
	"os"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// TODO(stub): replaced by the real stage.
type stubengine struct{}

func (stubengine) Name() string { return "engine" }

func (stubengine) Run(ctx context.Context, s *core.State) error {
	return errors.New("not implemented")
}
func New(signals <-chan os.Signal) core.Stage { return stubengine{} }

var ForwardedSignals = []os.Signal{}

func Ping(ctx context.Context, socket string) error { return errors.New("not implemented") }

func DetectVersion(ctx context.Context) (string, error) { return "", errors.New("not implemented") }

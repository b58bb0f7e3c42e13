package storage

import (
	"context"
	"os"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Stage checks -storage against the profile, makes sure the data root exists
// and fills State.StorageDriver. It is not a DryRunSkipper: -dry-run must print the
// driver a real start uses, so its probe leaves nothing behind.
type Stage struct {
	Mounter Mounter
	HasFuse func() bool
}

// New returns the storage stage on the real kernel.
func New() core.Stage { return &Stage{Mounter: kernelMounter{}, HasFuse: fuseAvailable} }

// Name is "storage".
func (*Stage) Name() string { return "storage" }

// Validate rejects a driver name the profile's engine does not know.
func (*Stage) Validate(cfg *core.Config, p *core.Profile) error {
	return CheckName(cfg.Storage, p)
}

// Run makes the data root and chooses the driver.
func (st *Stage) Run(ctx context.Context, s *core.State) error {
	cfg := &s.Config
	if err := os.MkdirAll(cfg.DataRoot, 0o711); err != nil {
		return errors.Wrap(err, "make data root")
	}
	c, err := Choose(st.Mounter, st.HasFuse, cfg.DataRoot, cfg.Storage, cfg.StorageSet)
	if err != nil {
		return err
	}
	log := core.Log(ctx)
	if c.Reason != nil {
		log.Warn("storage driver cannot work on the data root, using a slower one; mount a volume at the data root to fix it",
			"driver", cfg.Storage, "using", c.Driver, "data_root", cfg.DataRoot,
			"fix", "docker run -v "+cfg.DataRoot+" ...", "reason", c.Reason.Error())
	}
	s.StorageDriver = c.Driver
	log.Debug("chosen", "driver", c.Driver, "data_root", cfg.DataRoot, "probed", c.Probed)
	return nil
}

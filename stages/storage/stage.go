// Package storage is the storage stage: it checks -storage against the
// profile, makes sure the data root exists, makes sure overlay mounts really
// work there (probeOverlay, unless known to work), falling back to a slower
// driver the user did not name, and fills State.StorageDriver. It is not a
// DryRunSkipper: -dry-run must print the driver a real start uses. It then
// writes nothing: no data root, and no overlay probe where overlay is not
// known to work (runDry).
//
// Under gVisor overlay is probed on the data root, which becomes a tmpfs of
// the sandbox where it fails (gvisorDataRoot); for the rootless engine the
// data root belongs to the engine's user and overlay is chosen without a
// probe (chooseRootless). On a profile whose engine keeps images in
// containerd's image store (Docker 29) it chooses a snapshotter or a graph
// driver instead (chooseImageStore, imagestore.go).
package storage

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct {
	sys     host.System
	hasFuse func() bool // fuse-overlayfs can run (fuseAvailable)
}

// New returns the storage stage on the real kernel.
func New() core.Stage {
	return &stage{sys: host.OS(), hasFuse: fuseAvailable}
}

// Name is "storage".
func (*stage) Name() string { return "storage" }

// hasSnapshotters reports whether the profile's engine keeps its images in
// containerd's image store by default (Docker 29 on).
func hasSnapshotters(p *core.Profile) bool {
	return p != nil && len(p.Args.Snapshotters) > 0
}

// Validate rejects a driver name the profile's engine does not know.
func (*stage) Validate(cfg *core.Config, p *core.Profile) error {
	d := &cfg.Engine.StorageDriver
	if d.Value == "" {
		return nil // dinv dockerd without one: the engine chooses
	}
	return checkName(d.Value, d.From, p)
}

// Run makes the data root and chooses the driver; under -dry-run, runDry.
func (st *stage) Run(ctx context.Context, s *core.State) error {
	cfg := &s.Config
	log := core.Log(ctx)
	if cfg.Engine.StorageDriver.Value == "" {
		log.Debug("no driver named: the engine chooses", "data_root", cfg.Engine.DataRoot.Value)
		return nil
	}
	if cfg.DryRun && !hasSnapshotters(s.Profile) {
		s.StorageDriver = st.runDry(log, cfg, s.GVisor)
		return nil
	}
	if cfg.DryRun { // Docker 29: the image store, nothing probed (imagestore.go)
		d, err := st.chooseImageStore(log, s)
		s.StorageDriver = d
		return err
	}
	if err := os.MkdirAll(cfg.Engine.DataRoot.Value, 0o711); err != nil {
		return errors.Wrap(err, "make data root")
	}
	var c choice
	var err error
	probed := false
	if d := cfg.Engine.StorageDriver; s.GVisor && !d.From.Explicit() && (d.Value == "overlay2" || d.Value == "overlay") {
		if probed, err = gvisorDataRoot(log, st.sys, cfg.Engine.DataRoot.Value); err != nil {
			return err
		}
	}
	if u := s.EngineUser; u != nil {
		if err := st.sys.Chown(cfg.Engine.DataRoot.Value, u.UID, u.GID); err != nil {
			return errors.Wrap(err, "give the data root to the rootless engine's user")
		}
	}
	if hasSnapshotters(s.Profile) { // Docker 29: containerd's image store (imagestore.go)
		d, err := st.chooseImageStore(log, s)
		s.StorageDriver = d
		return err
	}
	if s.EngineUser != nil {
		c, err = chooseRootless(st.sys, st.hasFuse, st.sys.KernelRelease(), cfg.Engine.DataRoot.Value, cfg.Engine.StorageDriver.Value, cfg.Engine.StorageDriver.From.Explicit())
	} else if probed {
		c = choice{Driver: cfg.Engine.StorageDriver.Value, Probed: true}
	} else {
		c, err = choose(st.sys, st.hasFuse, cfg.Engine.DataRoot.Value, cfg.Engine.StorageDriver.Value, cfg.Engine.StorageDriver.From.Explicit())
	}
	if err != nil {
		return err
	}
	if c.Reason != nil {
		log.Warn("storage driver cannot work on the data root, using a slower one; mount a volume at the data root to fix it",
			"driver", cfg.Engine.StorageDriver.Value, "using", c.Driver, "data_root", cfg.Engine.DataRoot.Value,
			"fix", "docker run -v "+cfg.Engine.DataRoot.Value+" ...", "reason", c.Reason.Error())
	}
	s.StorageDriver = c.Driver
	log.Debug("chosen", "driver", c.Driver, "data_root", cfg.Engine.DataRoot.Value, "probed", c.Probed)
	return nil
}

// runDry returns the driver asked for, writing nothing: the data root is not
// made, and overlay is not probed, since the probe mounts in a directory it
// makes there. Where overlay is not known to work (needsProbe), it says what
// a real start does instead: probe, then fall back, or fail when -storage
// named the driver.
func (st *stage) runDry(log hclog.Logger, cfg *core.Config, gvisor bool) string {
	if gvisor && !cfg.Engine.StorageDriver.From.Explicit() && !onTmpfs(st.sys, cfg.Engine.DataRoot.Value) {
		log.Info("gVisor: a real start probes overlay on the data root, and mounts a tmpfs there if it fails", "data_root", cfg.Engine.DataRoot.Value)
		return cfg.Engine.StorageDriver.Value
	}
	if !needsProbe(st.sys, cfg.Engine.DataRoot.Value, cfg.Engine.StorageDriver.Value) {
		log.Debug("chosen", "driver", cfg.Engine.StorageDriver.Value, "data_root", cfg.Engine.DataRoot.Value, "probed", false)
		return cfg.Engine.StorageDriver.Value
	}
	if cfg.Engine.StorageDriver.From.Explicit() {
		log.Info("overlay not probed under -dry-run: a real start probes it on the data root and fails if it cannot mount there",
			"driver", cfg.Engine.StorageDriver.Value, "data_root", cfg.Engine.DataRoot.Value, "fallback", "none (-storage names the driver)")
	} else {
		log.Info("overlay not probed under -dry-run: a real start probes it on the data root and may fall back",
			"driver", cfg.Engine.StorageDriver.Value, "data_root", cfg.Engine.DataRoot.Value, "fallback", fallbackDriver(st.hasFuse))
	}
	return cfg.Engine.StorageDriver.Value
}

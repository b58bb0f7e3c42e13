package storage

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// Stage checks -storage against the profile, makes sure the data root exists
// and fills State.StorageDriver. It is not a DryRunSkipper: -dry-run must print
// the driver a real start uses. It then writes nothing: no data root, and no
// overlay probe where overlay is not known to work (runDry).
//
// Under gVisor the data root is a tmpfs of the sandbox (gvisorDataRoot); for
// the rootless engine it belongs to the engine's user and overlay is chosen
// without a probe (ChooseRootless). On a profile whose engine keeps images
// in containerd's image store (Docker 29) it chooses a snapshotter or a
// graph driver instead (ChooseImageStore, imagestore.go).
type Stage struct {
	Mounter Mounter
	HasFuse func() bool
	// Chown gives the data root to the rootless engine's user.
	Chown func(path string, uid, gid int) error
	// KernelRelease is the kernel's release, as uname -r says it.
	KernelRelease func() string
}

// New returns the storage stage on the real kernel.
func New() core.Stage {
	return &Stage{Mounter: kernelMounter{}, HasFuse: fuseAvailable, Chown: os.Chown, KernelRelease: kernelRelease}
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Name is "storage".
func (*Stage) Name() string { return "storage" }

// hasSnapshotters reports whether the profile's engine keeps its images in
// containerd's image store by default (Docker 29 on).
func hasSnapshotters(p *core.Profile) bool {
	return p != nil && len(p.Args.Snapshotters) > 0
}

// Validate rejects a driver name the profile's engine does not know.
func (*Stage) Validate(cfg *core.Config, p *core.Profile) error {
	return CheckName(cfg.Storage, p)
}

// Run makes the data root and chooses the driver; under -dry-run, runDry.
func (st *Stage) Run(ctx context.Context, s *core.State) error {
	cfg := &s.Config
	log := core.Log(ctx)
	if cfg.DryRun && !hasSnapshotters(s.Profile) {
		s.StorageDriver = st.runDry(log, cfg, s.GVisor)
		return nil
	}
	if cfg.DryRun { // Docker 29: the image store, nothing probed (imagestore.go)
		d, err := st.chooseImageStore(log, s)
		s.StorageDriver = d
		return err
	}
	if err := os.MkdirAll(cfg.DataRoot, 0o711); err != nil {
		return errors.Wrap(err, "make data root")
	}
	if s.GVisor && !cfg.StorageSet {
		if err := gvisorDataRoot(log, st.Mounter, cfg.DataRoot); err != nil {
			return err
		}
	}
	if u := s.EngineUser; u != nil {
		if err := st.Chown(cfg.DataRoot, u.UID, u.GID); err != nil {
			return errors.Wrap(err, "give the data root to the rootless engine's user")
		}
	}
	if hasSnapshotters(s.Profile) { // Docker 29: containerd's image store (imagestore.go)
		d, err := st.chooseImageStore(log, s)
		s.StorageDriver = d
		return err
	}
	var c Choice
	var err error
	if s.EngineUser != nil {
		c, err = ChooseRootless(st.Mounter, st.HasFuse, st.KernelRelease(), cfg.DataRoot, cfg.Storage, cfg.StorageSet)
	} else {
		c, err = Choose(st.Mounter, st.HasFuse, cfg.DataRoot, cfg.Storage, cfg.StorageSet)
	}
	if err != nil {
		return err
	}
	if c.Reason != nil {
		log.Warn("storage driver cannot work on the data root, using a slower one; mount a volume at the data root to fix it",
			"driver", cfg.Storage, "using", c.Driver, "data_root", cfg.DataRoot,
			"fix", "docker run -v "+cfg.DataRoot+" ...", "reason", c.Reason.Error())
	}
	s.StorageDriver = c.Driver
	log.Debug("chosen", "driver", c.Driver, "data_root", cfg.DataRoot, "probed", c.Probed)
	return nil
}

// runDry returns the driver asked for, writing nothing: the data root is not
// made, and overlay is not probed, since the probe mounts in a directory it
// makes there. Where overlay is not known to work (needsProbe), it says what
// a real start does instead: probe, then fall back, or fail when -storage
// named the driver.
func (st *Stage) runDry(log hclog.Logger, cfg *core.Config, gvisor bool) string {
	if gvisor && !cfg.StorageSet && !onTmpfs(st.Mounter, cfg.DataRoot) {
		log.Info("gVisor: a real start mounts a tmpfs on the data root (overlay works only there)", "data_root", cfg.DataRoot)
		return cfg.Storage
	}
	if !needsProbe(st.Mounter, cfg.DataRoot, cfg.Storage) {
		log.Debug("chosen", "driver", cfg.Storage, "data_root", cfg.DataRoot, "probed", false)
		return cfg.Storage
	}
	if cfg.StorageSet {
		log.Info("overlay not probed under -dry-run: a real start probes it on the data root and fails if it cannot mount there",
			"driver", cfg.Storage, "data_root", cfg.DataRoot, "fallback", "none (-storage names the driver)")
	} else {
		log.Info("overlay not probed under -dry-run: a real start probes it on the data root and may fall back",
			"driver", cfg.Storage, "data_root", cfg.DataRoot, "fallback", fallbackDriver(st.HasFuse))
	}
	return cfg.Storage
}

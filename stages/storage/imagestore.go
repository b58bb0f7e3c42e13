package storage

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

// Docker 29 keeps images in containerd's image store by default: its
// storage driver is then a containerd snapshotter ("overlayfs", "native"),
// and a graph driver ("overlay2", "vfs") is used only when named, when the
// feature containerd-snapshotter is false, or when the data root already
// holds a graph driver's images (moby daemon/image_store_choice.go). Named
// wrong, the engine fails: a graph driver's name with the feature on ("configured
// driver "overlay2" not available"), and containerd's overlayfs snapshotter
// fails with EINVAL where overlay cannot mount (a data root on overlayfs,
// gVisor's gofer, rootless on kernels before 5.11). chooseImageStoreFor
// decides what works before the engine starts, and says why in one line.

// store is the storage a Docker 29 engine gets.
type store struct {
	choice           // Driver: the --storage-driver value; Reason: a failed overlay check
	Snapshotter bool // Driver is a snapshotter of containerd's image store
	Why         string
}

// storeInput is what chooseImageStoreFor decides from.
type storeInput struct {
	DataRoot string
	Driver   string // -storage (or the engine's storage-driver setting)
	Named    bool   // the user named Driver
	// Snapshotters are the profile's (core.ArgRules.Snapshotters).
	Snapshotters []string
	// Feature is the user's containerd-snapshotter setting: set, on, and
	// where (core.EngineConfig.Features).
	Feature featureSetting
	// Prior is the graph driver whose images the data root holds (""
	// none): priorGraphDriver.
	Prior string
	// Rootless: the engine runs in a user namespace of its own, on
	// KernelRelease (overlay there from Linux 5.11 on, chooseRootless).
	Rootless      bool
	KernelRelease string
	// Dry: under -dry-run nothing is probed; overlay is taken as working
	// where it is not known to.
	Dry bool
}

// featureSetting is the user's setting of an engine feature flag.
type featureSetting struct {
	On, Set bool
	Source  string
}

// graphDrivers are the graph drivers whose directory in a data root means
// an engine kept images there (moby's scanPriorDrivers, plus vfs: DinV's
// own fallback, whose images moby would leave behind unseen).
var graphDrivers = []string{"overlay2", "fuse-overlayfs", "vfs", "btrfs", "zfs", "overlay", "aufs", "devicemapper"}

// priorGraphDriver returns the graph driver whose non-empty directory is in
// dataRoot (an engine before 29, or one told to use it, kept its images
// there), or "".
func priorGraphDriver(dataRoot string) string {
	for _, d := range graphDrivers {
		entries, err := os.ReadDir(filepath.Join(dataRoot, d))
		if err == nil && len(entries) > 0 {
			return d
		}
	}
	return ""
}

// chooseImageStoreFor returns a Docker 29 engine's storage driver, and why:
//   - a named driver is the user's: a snapshotter (overlayfs is checked, as
//     overlay2 is) or a graph driver; named against the feature
//     containerd-snapshotter it is a usage error;
//   - containerd-snapshotter=false, or a data root holding a graph driver's
//     images: the graph driver, chosen as before 29 (Choose,
//     chooseRootless), the prior one kept;
//   - otherwise containerd's image store, Docker 29's default: overlayfs
//     where overlay mounts on the data root, else native (a full copy per
//     layer, as vfs: containerd has no fuse-overlayfs of its own).
func chooseImageStoreFor(m host.System, hasFuse func() bool, in storeInput) (store, error) {
	snap := slices.Contains(in.Snapshotters, in.Driver)
	if in.Named {
		switch {
		case in.Feature.Set && in.Feature.On && !snap:
			return store{}, core.Usagef("-storage %s is a graph driver, but containerd-snapshotter is on (%s): the engine then takes a snapshotter (%v)",
				in.Driver, in.Feature.Source, in.Snapshotters)
		case in.Feature.Set && !in.Feature.On && snap:
			return store{}, core.Usagef("-storage %s is a containerd snapshotter, but containerd-snapshotter is off (%s): the engine then takes a graph driver",
				in.Driver, in.Feature.Source)
		case snap:
			c, err := chooseOverlay(m, hasFuse, in, in.Driver, true)
			return store{choice: c, Snapshotter: true, Why: "-storage names a snapshotter of containerd's image store"}, err
		}
		c, err := chooseOverlay(m, hasFuse, in, in.Driver, true)
		return store{choice: c, Why: "-storage names a graph driver: the engine keeps its images there, not in containerd's image store"}, err
	}
	if in.Feature.Set && !in.Feature.On {
		c, err := chooseOverlay(m, hasFuse, in, in.Driver, false)
		return store{choice: c, Why: "containerd-snapshotter is off (" + in.Feature.Source + "): a graph driver, as before Docker 29"}, err
	}
	if in.Prior != "" {
		c, err := chooseOverlay(m, hasFuse, in, in.Prior, false)
		return store{choice: c, Why: "the data root holds the images of graph driver " + in.Prior +
			" (an earlier engine's): kept, as the engine itself does; a fresh data root gets containerd's image store"}, err
	}
	// overlay2 stands for overlay here: the same mount, the same checks.
	c, err := chooseOverlay(m, func() bool { return false }, in, "overlay2", false)
	if err != nil {
		return store{}, err
	}
	if c.Reason != nil {
		return store{choice: choice{Driver: "native", Reason: c.Reason, Probed: c.Probed}, Snapshotter: true,
			Why: "containerd's image store (Docker 29's default) with the native snapshotter: overlay cannot mount on the data root"}, nil
	}
	why := "containerd's image store (Docker 29's default), overlay mounts on the data root"
	if in.Dry && !in.Rootless && needsProbe(m, in.DataRoot, "overlay2") {
		why = "containerd's image store (Docker 29's default); overlay not probed under -dry-run: " +
			"a real start probes it and takes native where it cannot mount"
	}
	return store{choice: choice{Driver: "overlayfs", Probed: c.Probed}, Snapshotter: true, Why: why}, nil
}

// chooseOverlay checks driver on the data root as DinV does for every
// engine (overlay probed or known to work; for the rootless engine, the
// kernel and filesystem rule), an overlay snapshotter like an overlay graph
// driver. Under Dry nothing is probed.
func chooseOverlay(m host.System, hasFuse func() bool, in storeInput, driver string, named bool) (choice, error) {
	asGraph := driver
	if driver == "overlayfs" {
		asGraph = "overlay2"
	}
	var c choice
	var err error
	switch {
	case in.Rootless:
		c, err = chooseRootless(m, hasFuse, in.KernelRelease, in.DataRoot, asGraph, named)
	case in.Dry && needsProbe(m, in.DataRoot, asGraph):
		c = choice{Driver: asGraph}
	default:
		c, err = choose(m, hasFuse, in.DataRoot, asGraph, named)
	}
	if err != nil && driver != asGraph {
		return choice{}, errors.Wrapf(err, "snapshotter %s mounts overlay as %s does", driver, asGraph)
	}
	if err != nil {
		return choice{}, err
	}
	if c.Driver == asGraph {
		c.Driver = driver
	}
	return c, nil
}

// chooseImageStore is the stage's step for a profile with snapshotters
// (Docker 29): chooseImageStoreFor on the stage's system, from the resolved
// configuration (the user's containerd-snapshotter feature included),
// logged in one line.
func (st *stage) chooseImageStore(log hclog.Logger, s *core.State) (string, error) {
	cfg := &s.Config
	d := cfg.Engine.StorageDriver
	root := cfg.Engine.DataRoot.Value
	var feature featureSetting
	if f, ok := cfg.Engine.Features["containerd-snapshotter"]; ok {
		feature = featureSetting{On: f.Value, Set: true, Source: f.From.String()}
	}
	in := storeInput{
		DataRoot: root, Driver: d.Value, Named: d.From.Explicit(),
		Snapshotters: s.Profile.Args.Snapshotters,
		Feature:      feature,
		Prior:        priorGraphDriver(root),
		Rootless:     s.EngineUser != nil,
		Dry:          cfg.DryRun,
	}
	if in.Rootless {
		in.KernelRelease = st.sys.KernelRelease()
	}
	c, err := chooseImageStoreFor(st.sys, st.hasFuse, in)
	if err != nil {
		return "", err
	}
	kind := "graph driver"
	if c.Snapshotter {
		kind = "containerd"
	}
	kv := []interface{}{"image_store", kind, "driver", c.Driver, "data_root", root, "why", c.Why}
	if c.Reason != nil {
		log.Warn("storage: a slower driver; mount a volume at the data root to fix it",
			append(kv, "reason", c.Reason.Error(), "fix", "docker run -v "+root+" ...")...)
	} else {
		log.Info("storage", kv...)
	}
	return c.Driver, nil
}

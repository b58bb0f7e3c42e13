// Package storage checks the storage driver: that the engine knows its name,
// that the data root exists, and that overlay mounts really work there.
package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Mounter mounts and unmounts; unix.Mount and unix.Unmount in production.
type Mounter interface {
	Mount(source, target, fstype, data string) error
	Unmount(target string) error
}

// CheckName returns a usage error naming -storage when the profile's engine
// has no driver called name.
func CheckName(name string, p *core.Profile) error {
	if p.KnowsDriver(name) {
		return nil
	}
	return core.Usagef("-storage %q: engine %s has no such storage driver (known: %s)",
		name, p.Version, strings.Join(p.Args.StorageDrivers, ", "))
}

// ProbeOverlay mounts an overlay filesystem in a fresh directory under dir
// (lower, upper, work, merged), unmounts it and removes everything it made,
// whatever happens. A nil error means overlay works on dir's filesystem.
func ProbeOverlay(m Mounter, dir string) (err error) {
	tmp, err := os.MkdirTemp(dir, ".dinv-probe-")
	if err != nil {
		return errors.Wrap(err, "make probe directory")
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = errors.Wrap(rmErr, "remove probe directory")
		}
	}()
	var paths [4]string
	for i, name := range []string{"l", "u", "w", "m"} {
		paths[i] = filepath.Join(tmp, name)
		if err := os.Mkdir(paths[i], 0o700); err != nil {
			return errors.Wrap(err, "make probe directory")
		}
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", paths[0], paths[1], paths[2])
	if err := m.Mount("overlay", paths[3], "overlay", data); err != nil {
		return errors.Wrap(err, "mount overlay")
	}
	return errors.Wrap(m.Unmount(paths[3]), "unmount overlay probe")
}

// Choice is the driver Choose settled on, and why it is not the one asked for.
type Choice struct {
	Driver string
	Reason error // the failed probe when Driver is a fallback; nil otherwise
}

// Choose returns the driver to use on dataRoot. Overlay drivers are probed
// first: when the probe fails and the user named the driver (named), that is
// an error explaining the fix; otherwise dinv falls back to fuse-overlayfs
// when fuse is there (hasFuse), else vfs, and says why in Reason.
func Choose(m Mounter, hasFuse func() bool, dataRoot, driver string, named bool) (Choice, error) {
	if driver != "overlay2" && driver != "overlay" {
		return Choice{Driver: driver}, nil
	}
	probeErr := ProbeOverlay(m, dataRoot)
	if probeErr == nil {
		return Choice{Driver: driver}, nil
	}
	if named {
		return Choice{}, errors.Wrapf(probeErr, "storage driver %s cannot work on %s (is it on overlayfs itself? "+
			"mount a volume there, e.g. docker run -v %s ..., or choose another -storage)", driver, dataRoot, dataRoot)
	}
	if hasFuse() {
		return Choice{Driver: "fuse-overlayfs", Reason: probeErr}, nil
	}
	return Choice{Driver: "vfs", Reason: probeErr}, nil
}

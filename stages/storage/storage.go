package storage

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

// checkName returns a usage error naming -storage when the profile's engine
// has no driver called name.
func checkName(name string, from core.Source, p *core.Profile) error {
	if p.KnowsDriver(name) {
		return nil
	}
	src := "-storage"
	if from.Explicit() && from.Kind != core.FromFlag {
		src = from.String() + ":"
	}
	return core.Usagef("%s %q: engine %s has no such storage driver (known: %s)",
		src, name, p.Version, strings.Join(p.Args.StorageDrivers, ", "))
}

// probeOverlay mounts an overlay filesystem in a fresh directory under dir
// (lower, upper, work, merged), unmounts it and removes everything it made,
// whatever happens. A nil error means overlay works on dir's filesystem.
func probeOverlay(sys host.System, dir string) (err error) {
	tmp, err := os.MkdirTemp(dir, ".dinv-probe-")
	if err != nil {
		return errors.Wrap(err, "make probe directory")
	}
	defer func() {
		rmErr := os.RemoveAll(tmp)
		switch {
		case rmErr == nil:
		case err == nil:
			err = errors.Wrap(rmErr, "remove probe directory")
		default: // the probe's failure is the reason; the leftover is said too
			err = errors.Wrapf(err, "probe directory %s left behind (%v)", tmp, rmErr)
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
	if err := sys.Mount("overlay", paths[3], "overlay", 0, data); err != nil {
		return errors.Wrap(err, "mount overlay")
	}
	return errors.Wrap(sys.Unmount(paths[3]), "unmount overlay probe")
}

// choice is the driver choose settled on, and why it is not the one asked for.
type choice struct {
	Driver string
	Reason error // the failed probe when Driver is a fallback; nil otherwise
	Probed bool  // an overlay mount was tried (not known to work without)
}

// choose returns the driver to use on dataRoot. Overlay drivers are probed
// first, unless known to work there: when the probe fails and the user named
// the driver (named), that is an error explaining the fix; otherwise dinv
// falls back (fallbackDriver) and says why in Reason.
func choose(sys host.System, hasFuse func() bool, dataRoot, driver string, named bool) (choice, error) {
	if !needsProbe(sys, dataRoot, driver) {
		return choice{Driver: driver}, nil
	}
	probeErr := probeOverlay(sys, dataRoot)
	if probeErr == nil {
		return choice{Driver: driver, Probed: true}, nil
	}
	if named {
		return choice{}, errors.Wrapf(probeErr, "storage driver %s cannot work on %s (is it on overlayfs itself? "+
			"mount a volume there, e.g. docker run -v %s ..., or choose another -storage)", driver, dataRoot, dataRoot)
	}
	return choice{Driver: fallbackDriver(hasFuse), Reason: probeErr, Probed: true}, nil
}

// needsProbe reports whether choose would probe overlay on dataRoot for
// driver: an overlay driver not known to work there. It writes nothing.
func needsProbe(sys host.System, dataRoot, driver string) bool {
	return (driver == "overlay2" || driver == "overlay") && !overlayKnownToWork(sys, dataRoot)
}

// fallbackDriver is the driver an overlay driver that cannot work falls back to:
// fuse-overlayfs when fuse is there (hasFuse), else vfs.
func fallbackDriver(hasFuse func() bool) string {
	if hasFuse() {
		return "fuse-overlayfs"
	}
	return "vfs"
}

// upperFilesystems are the filesystems an overlay upper (and work) directory
// is known to work on, by statfs f_type. ext4 (0xEF53, also ext2/3) and tmpfs
// have the trusted.* xattrs, d_type, rename-whiteout and O_TMPFILE overlay
// needs of an upper layer, on every kernel that has overlay at all. Not
// here, so probed as before: overlayfs itself (the classic failure: no
// volume on /var/lib/docker, and overlay refuses an overlay upper), xfs
// (formatted with ftype=0 it has no d_type, which statfs cannot tell),
// btrfs, network and FUSE filesystems, and anything unknown.
var upperFilesystems = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4",
	unix.TMPFS_MAGIC:      "tmpfs",
}

// overlayKnownToWork reports whether the overlay probe can be skipped (it
// costs ~3 ms of every start: four directories, a mount, an unmount). It is
// safe because it asks for everything the probe's mount depends on: a
// filesystem under the data root from upperFilesystems, overlay in the
// kernel, and the right to mount it (mayMountOverlay). Where any of that is
// unknown the probe runs.
func overlayKnownToWork(sys host.System, dataRoot string) bool {
	t, err := nearestFSType(sys, dataRoot)
	if err != nil {
		return false
	}
	_, ok := upperFilesystems[t]
	return ok && mayMountOverlay(sys)
}

// nearestFSType returns the filesystem type of path or, while it does not
// exist (a data root not made yet, under -dry-run), of its nearest existing
// parent: the filesystem it will be made on.
func nearestFSType(sys host.System, p string) (int64, error) {
	for {
		t, err := sys.FSType(p)
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(p) == p {
			return t, err
		}
		p = filepath.Dir(p)
	}
}

// onTmpfs reports whether dataRoot (or its nearest existing parent) is on a tmpfs.
func onTmpfs(sys host.System, dataRoot string) bool {
	t, err := nearestFSType(sys, dataRoot)
	return err == nil && t == unix.TMPFS_MAGIC
}

// gvisorDataRoot makes the data root one overlay works on under gVisor, and
// reports whether it probed overlay there (it works: no second probe).
// gVisor's releases from its Go module (2026) mount overlay on a volume
// (gVisor's gofer, 9p with directfs), and what the engine keeps there
// survives the container: the probe finds that. The 2024 release (20240729)
// mounts overlay only with an upper layer on its own tmpfs ("mount overlay:
// invalid argument"), and vfs fails there on the first image, whose symbolic
// links' xattrs it cannot read ("lgetxattr security.capability ...: bad file
// descriptor"): where the probe fails, a tmpfs of the sandbox is mounted on
// the data root, with one warning: what it holds is kept in the sandbox's
// memory and is gone when the container stops.
func gvisorDataRoot(log hclog.Logger, sys host.System, dataRoot string) (probed bool, err error) {
	if onTmpfs(sys, dataRoot) {
		return false, nil
	}
	probeErr := probeOverlay(sys, dataRoot)
	if probeErr == nil {
		log.Debug("gVisor: overlay works on the data root's filesystem", "data_root", dataRoot)
		return true, nil
	}
	if err := sys.Mount("tmpfs", dataRoot, "tmpfs", 0, "mode=0711"); err != nil {
		return false, errors.Wrapf(err, "mount a tmpfs on the data root %s", dataRoot)
	}
	log.Warn("gVisor: overlay does not work on the data root's filesystem (gVisor's gofer; this gVisor is older than its 2026 releases): "+
		"mounted a tmpfs of the sandbox there; images and containers live in its memory and are gone when the container stops",
		"data_root", dataRoot, "reason", probeErr.Error(), "fix", "docker run --tmpfs "+dataRoot+":exec ... says so yourself")
	return false, nil
}

// rootlessOverlayKernel is the first Linux release that mounts overlay in a
// user namespace (5.11): what a rootless engine's overlay2 needs.
var rootlessOverlayKernel = [2]int{5, 11}

// chooseRootless returns the driver for a rootless engine on dataRoot. The
// engine mounts overlay in its own user namespace, which the container's
// root cannot probe (it holds no CAP_SYS_ADMIN): overlay is taken as working
// on Linux 5.11 and later with a data root on a filesystem known to carry an
// upper layer (upperFilesystems); otherwise an overlay driver the user named
// is an error, and one not named falls back (fallbackDriver) with the reason.
func chooseRootless(sys host.System, hasFuse func() bool, release, dataRoot, driver string, named bool) (choice, error) {
	if driver != "overlay2" && driver != "overlay" {
		return choice{Driver: driver}, nil
	}
	var why error
	t, err := nearestFSType(sys, dataRoot)
	_, known := upperFilesystems[t]
	switch {
	case !kernelAtLeast(release, rootlessOverlayKernel):
		why = errors.Errorf("Linux %s mounts no overlay in a user namespace (5.11 does)", release)
	case err != nil:
		why = errors.Wrap(err, "read the data root's filesystem")
	case !known:
		why = errors.Errorf("a rootless overlay needs the data root on ext4 or tmpfs (filesystem 0x%x): mount a volume there", t)
	default:
		return choice{Driver: driver}, nil
	}
	if named {
		return choice{}, errors.Wrapf(why, "storage driver %s cannot work for the rootless engine on %s", driver, dataRoot)
	}
	return choice{Driver: fallbackDriver(hasFuse), Reason: why}, nil
}

// kernelAtLeast reports whether a kernel release ("6.18.44-fc") is at least
// want (major, minor); an unreadable release is not.
func kernelAtLeast(release string, want [2]int) bool {
	var major, minor int
	if n, _ := fmt.Sscanf(release, "%d.%d", &major, &minor); n != 2 {
		return false
	}
	return major > want[0] || major == want[0] && minor >= want[1]
}

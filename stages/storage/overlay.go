package storage

import (
	"bytes"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
)

// mayMountOverlay reports, without mounting, that nothing stands between
// this process and an overlay mount: the kernel has overlay registered, and
// the process holds CAP_SYS_ADMIN in the initial user namespace under no
// security module confinement.
func mayMountOverlay(sys host.System) bool {
	// Whatever cannot be read is not known: false, and the probe runs.
	if eff, _, err := host.EffectiveCaps(sys); err != nil || eff&(1<<unix.CAP_SYS_ADMIN) == 0 {
		return false
	}
	filesystems, err := sys.ReadFile("/proc/filesystems")
	if err != nil || !overlayRegistered(filesystems) {
		return false
	}
	uidMap, err := sys.ReadFile("/proc/self/uid_map")
	if err != nil || !initialUserNS(uidMap) {
		return false
	}
	label, err := sys.ReadFile("/proc/self/attr/current")
	return err != nil || unconfined(label) // no security module: nothing to read
}

// overlayRegistered reports whether /proc/filesystems lists overlay. When
// overlay is a module not loaded yet it is not listed, and the probe's mount
// loads it.
func overlayRegistered(filesystems []byte) bool {
	for _, line := range bytes.Split(filesystems, []byte("\n")) {
		if f := bytes.Fields(line); len(f) > 0 && string(f[len(f)-1]) == "overlay" {
			return true
		}
	}
	return false
}

// initialUserNS reports whether /proc/self/uid_map is the initial user
// namespace's identity map. In another user namespace whether overlay may be
// mounted depends on the kernel version and the filesystem: probed.
func initialUserNS(uidMap []byte) bool {
	f := bytes.Fields(uidMap)
	return len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295"
}

// unconfined reports whether a security module label (/proc/self/attr/current)
// confines nothing: AppArmor's "unconfined", or empty. A profile such as
// docker-default denies mounts, and SELinux labels are not read here: probed.
func unconfined(label []byte) bool {
	l := string(bytes.TrimSpace(bytes.TrimRight(label, "\x00")))
	return l == "" || l == "unconfined"
}

// fuseAvailable reports whether fuse-overlayfs can run: its binary on PATH
// and /dev/fuse present.
func fuseAvailable() bool {
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		return false
	}
	_, err := os.Stat("/dev/fuse")
	return err == nil
}

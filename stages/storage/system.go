package storage

import (
	"bytes"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// kernelMounter is the real Mounter.
type kernelMounter struct{}

func (kernelMounter) Mount(source, target, fstype, data string) error {
	return unix.Mount(source, target, fstype, 0, data)
}

// Unmount detaches lazily when a plain unmount fails, so that the probe never
// leaves a mount behind.
func (kernelMounter) Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return unix.Unmount(target, unix.MNT_DETACH)
	}
	return nil
}

func (kernelMounter) FSType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

func (kernelMounter) MayMountOverlay() bool {
	// Whatever cannot be read is not known: false, and the probe runs.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil || caps[0].Effective&(1<<unix.CAP_SYS_ADMIN) == 0 {
		return false
	}
	filesystems, err := os.ReadFile("/proc/filesystems")
	if err != nil || !overlayRegistered(filesystems) {
		return false
	}
	uidMap, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || !initialUserNS(uidMap) {
		return false
	}
	label, err := os.ReadFile("/proc/self/attr/current")
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

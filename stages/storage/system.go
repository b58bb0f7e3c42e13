package storage

import (
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

// fuseAvailable reports whether fuse-overlayfs can run: its binary on PATH
// and /dev/fuse present.
func fuseAvailable() bool {
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		return false
	}
	_, err := os.Stat("/dev/fuse")
	return err == nil
}

package mounts

import (
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
)

const securityfsPath = "/sys/kernel/security"

// fixMounts mounts securityfs on /sys/kernel/security when it is absent (the
// engine detects AppArmor there; failing that is a warning, as in
// docker:dind), and makes / recursively shared, so that the engine's mounts
// propagate (mount --make-rshared /).
func fixMounts(log hclog.Logger, sys host.System) error {
	mounts, err := host.ReadMounts(sys)
	if err != nil {
		return errors.Wrap(err, "read mounts")
	}
	hasSecurityfs := false
	var root *host.Mount
	for i, m := range mounts {
		if m.Point == securityfsPath {
			hasSecurityfs = true
		}
		if m.Point == "/" {
			root = &mounts[i] // the last one is on top
		}
	}
	if !hasSecurityfs && sys.IsDir(securityfsPath) {
		if err := sys.Mount("securityfs", securityfsPath, "securityfs", 0, ""); err != nil {
			log.Warn("cannot mount securityfs: AppArmor detection may fail", "path", securityfsPath, "error", err)
		} else {
			log.Debug("mounted securityfs", "path", securityfsPath)
		}
	}
	if root != nil && isShared(root.Optional) {
		return nil
	}
	if err := sys.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return errors.Wrap(err, "make / a shared mount")
	}
	log.Debug("made / a shared mount")
	return nil
}

func isShared(optional []string) bool {
	for _, o := range optional {
		if strings.HasPrefix(o, "shared:") {
			return true
		}
	}
	return false
}

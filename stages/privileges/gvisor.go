package privileges

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/internal/host"
)

// procRootInode is the inode number of a Linux procfs root (PROC_ROOT_INO).
const procRootInode = 1

// warnGVisorRunc says, once, when the engine's runc cannot start a single
// container here: gVisor's /proc root is not inode 1 (release 20240729: 86;
// its Go module's 2026 releases: 1), and runc from 1.2.8
// on refuses such a procfs. The engine still starts and answers; every
// container and build step fails with runc's own "unsafe procfs detected".
func warnGVisorRunc(log hclog.Logger, sys host.System) {
	ino, err := sys.Inode("/proc")
	if err != nil || ino == procRootInode {
		return
	}
	out, err := sys.Output("runc", "--version")
	if err != nil {
		log.Debug("runc version unknown", "error", err)
		return
	}
	v, ok := host.RuncVersion(out)
	if !ok {
		return
	}
	if host.RuncChecksProcfs(v[0], v[1], v[2]) {
		log.Warn("this runc refuses gVisor's /proc (its root is not inode 1: \"unsafe procfs detected\"): "+
			"the engine starts, but no container or build step can run in it; use gVisor built from its Go module "+
			"(make engine: its /proc root is inode 1), or an image whose runc is older than 1.2.8 (dinv:26.1, dinv:20.10)",
			"runc", fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]), "proc_root_inode", ino)
	}
}

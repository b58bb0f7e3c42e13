package cgroups

import (
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
)

// cgroupRoot is where the hierarchies are mounted.
const cgroupRoot = host.CgroupRoot

// rootlessCgroups changes nothing (the container's root holds no
// CAP_SYS_ADMIN to remount a hierarchy) and says once what that costs: a
// rootless engine limits its containers only through a cgroup v2 subtree
// delegated to its user (by systemd, normally); on cgroup v1 never. Its
// containers run without resource limits: docker run --memory, --cpus,
// --pids-limit are refused or ignored.
func rootlessCgroups(log hclog.Logger, sys host.System) error {
	mounts, err := host.ReadMounts(sys)
	if err != nil {
		return errors.Wrap(err, "read mounts")
	}
	version := "v1"
	for _, m := range mounts {
		if m.Point == cgroupRoot && m.FSType == "cgroup2" {
			version = "v2"
		}
	}
	log.Warn("rootless engine: its containers run without resource limits (docker run --memory, --cpus, "+
		"--pids-limit do not apply): it would need a cgroup v2 subtree delegated to its user",
		"cgroup", version)
	return nil
}

// cgroupStaging is where a read-only v1 hierarchy is mounted again before
// the container's own subtree of it is bound over the original mount.
const cgroupStaging = "/run/dinv/cgroup"

// fixCgroups makes cgroup v1 hierarchies mounted read-only under
// /sys/fs/cgroup writable (fixCgroupV1), and on a pure cgroup v2 host moves
// dinv's cgroup's processes into a child cgroup ("init") and enables every
// controller for the children, retrying while a concurrent process (a docker
// exec) joins the root cgroup and makes the write EBUSY.
func fixCgroups(log hclog.Logger, sys host.System, sleep func(time.Duration)) error {
	mounts, err := host.ReadMounts(sys)
	if err != nil {
		return errors.Wrap(err, "read mounts")
	}
	for _, m := range mounts {
		if m.Point == cgroupRoot && m.FSType == "cgroup2" {
			return fixCgroupV2(log, sys, sleep)
		}
	}
	for i, m := range mounts {
		if m.FSType != "cgroup" || !slices.Contains(m.Opts, "ro") || !strings.HasPrefix(m.Point, cgroupRoot+"/") || hidden(mounts, i) {
			continue
		}
		if err := fixCgroupV1(log, sys, m); err != nil {
			return err
		}
	}
	return nil
}

// hidden reports whether another mount on the same point comes after
// mounts[i]: stacked on it, it hides it (a writable cgroup mount an earlier
// fixCgroupV1 left over a read-only one).
func hidden(mounts []host.Mount, i int) bool {
	for _, later := range mounts[i+1:] {
		if later.Point == mounts[i].Point {
			return true
		}
	}
	return false
}

// fixCgroupV1 makes the read-only mount m of a v1 hierarchy writable, on the
// same subtree. First a bind remount: it clears this mount's read-only flag
// alone, in one system call. Where it is refused (a mount locked read-only),
// a writable mount of the hierarchy is stacked over m (stackCgroupV1).
func fixCgroupV1(log hclog.Logger, sys host.System, m host.Mount) error {
	err := sys.Mount("", m.Point, "", unix.MS_REMOUNT|unix.MS_BIND|mountFlags(m.Opts), "")
	if err == nil {
		log.Debug("remounted cgroup read-write", "path", m.Point)
		return nil
	}
	log.Debug("bind remount refused, mounting the cgroup again", "path", m.Point, "error", err)
	return stackCgroupV1(log, sys, m)
}

// stackCgroupV1 mounts m's hierarchy again, writable, and binds its subtree
// m.Root over m.Point.
//
// The subtree, not the whole hierarchy: a new cgroup mount shows the
// hierarchy from the cgroup namespace's root, and with the host's namespace
// (cgroupns=host, Root /docker/<id>) the engine would then create its
// cgroups beside the host engine's containers, outside this container's
// limits. A Root of "/" (a private cgroup namespace) is the whole of it.
//
// The order keeps m.Point mounted whatever fails. The new mount cannot go
// straight onto m.Point: the kernel refuses a filesystem mounted again on its
// own mount point ("already mounted", EBUSY), and a v1 hierarchy is one
// filesystem however often it is mounted. A bind of it can. So the hierarchy
// is mounted on a staging directory, its subtree bound over m.Point, and the
// staging mount detached. The bind stacks on the read-only mount, which is
// never unmounted: it stays below, hidden, and every path under m.Point
// reaches the writable mount on top (an unmount of m.Point now would detach
// the top one). Until the bind succeeds m.Point is untouched, so a failure
// leaves it as it was.
func stackCgroupV1(log hclog.Logger, sys host.System, m host.Mount) error {
	data := cgroupV1Data(m.Super)
	staging := path.Join(cgroupStaging, strings.TrimPrefix(m.Point, cgroupRoot+"/"))
	source := path.Join(staging, m.Root)
	if !strings.HasPrefix(staging, cgroupStaging+"/") || source != staging && !strings.HasPrefix(source, staging+"/") {
		return errors.Errorf("cgroup %s: unexpected subtree %q", m.Point, m.Root)
	}
	if err := sys.MkdirAll(staging); err != nil {
		return errors.Wrapf(err, "create %s", staging)
	}
	if err := sys.Mount("cgroup", staging, "cgroup", 0, data); err != nil {
		return errors.Wrapf(err, "mount cgroup %s on %s", data, staging)
	}
	if err := sys.Mount(source, m.Point, "", unix.MS_BIND, ""); err != nil {
		err = errors.Wrapf(err, "bind cgroup %s on %s", source, m.Point)
		if uerr := sys.Unmount(staging); uerr != nil {
			return errors.Wrapf(err, "staging mount %s left behind (unmount: %v)", staging, uerr)
		}
		return err
	}
	if err := sys.Unmount(staging); err != nil {
		return errors.Wrapf(err, "unmount %s", staging)
	}
	_ = sys.Remove(staging) // an empty directory left behind is harmless
	log.Debug("mounted cgroup read-write", "path", m.Point, "root", m.Root, "options", data)
	return nil
}

// mountFlags are the flags of per-mount options other than ro, which a bind
// remount must pass again to keep them.
func mountFlags(opts []string) uintptr {
	flags := map[string]uintptr{"nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
		"relatime": unix.MS_RELATIME, "noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME}
	var f uintptr
	for _, o := range opts {
		f |= flags[o]
	}
	return f
}

// cgroupV1Data is the mount data for a v1 hierarchy from its superblock
// options: its subsystems, and "none,name=X" for a named one (systemd).
func cgroupV1Data(super []string) string {
	var subsys []string
	name := ""
	for _, o := range super {
		switch {
		case strings.HasPrefix(o, "name="):
			name = o
		case strings.Contains(o, "="), o == "rw", o == "ro", o == "xattr", o == "noprefix",
			o == "clone_children", o == "cpuset_v2_mode", o == "favordynmods":
		default:
			subsys = append(subsys, o)
		}
	}
	if name != "" {
		if len(subsys) == 0 {
			return "none," + name
		}
		subsys = append(subsys, name)
	}
	return strings.Join(subsys, ",")
}

func fixCgroupV2(log hclog.Logger, sys host.System, sleep func(time.Duration)) error {
	self, err := sys.ReadFile("/proc/self/cgroup")
	if err != nil {
		return errors.Wrap(err, "read /proc/self/cgroup")
	}
	if strings.TrimSpace(string(self)) != "0::/" {
		// Not at the root of a cgroup namespace (the host's, or cgroupns=host):
		// the processes there are not ours to move.
		log.Debug("cgroup v2, not at the namespace root: nothing to do", "cgroup", strings.TrimSpace(string(self)))
		return nil
	}
	// The real root cgroup of a host (one without systemd, say) shows 0::/
	// as well, and its processes are the host's: only a non-root cgroup has
	// a cgroup.type file.
	if _, err := sys.ReadFile(cgroupRoot + "/cgroup.type"); errors.Is(err, fs.ErrNotExist) {
		log.Debug("cgroup v2, in the host's root cgroup: nothing to do")
		return nil
	} else if err != nil {
		return errors.Wrap(err, "read cgroup type")
	}
	ctrl, err := sys.ReadFile(cgroupRoot + "/cgroup.controllers")
	if err != nil {
		return errors.Wrap(err, "read cgroup controllers")
	}
	enabled, err := sys.ReadFile(cgroupRoot + "/cgroup.subtree_control")
	if err != nil {
		return errors.Wrap(err, "read enabled cgroup controllers")
	}
	var want []string
	for _, c := range strings.Fields(string(ctrl)) {
		if !slices.Contains(strings.Fields(string(enabled)), c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		log.Debug("cgroup v2 controllers already enabled")
		return nil
	}
	if err := sys.MkdirAll(cgroupRoot + "/init"); err != nil {
		return errors.Wrap(err, "create cgroup /init")
	}
	const tries = 100
	for i := 1; ; i++ {
		if err := moveToInit(sys); err != nil {
			return err
		}
		err = sys.WriteFile(cgroupRoot+"/cgroup.subtree_control", []byte(strings.Join(want, " ")))
		if err == nil {
			log.Debug("cgroup v2 controllers enabled", "controllers", want, "tries", i)
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return errors.Wrapf(err, "enable cgroup controllers %s", strings.Join(want, " "))
		}
		if i == tries {
			return stillBusy(sys, err, want, tries)
		}
		sleep(10 * time.Millisecond)
	}
}

// moveToInit moves the processes of the root cgroup into /init. One that
// exited since cgroup.procs was read (ESRCH) is skipped; any other failure is
// returned naming the process.
func moveToInit(sys host.System) error {
	procs, err := sys.ReadFile(cgroupRoot + "/cgroup.procs")
	if err != nil {
		return errors.Wrap(err, "read root cgroup processes")
	}
	for _, pid := range strings.Fields(string(procs)) {
		if _, err := strconv.Atoi(pid); err != nil {
			continue // not a pid: nothing to move
		}
		err := sys.WriteFile(cgroupRoot+"/init/cgroup.procs", []byte(pid))
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			return errors.Wrapf(err, "move process %s to cgroup /init", pid)
		}
	}
	return nil
}

// stillBusy is the error of enabling controllers that stayed busy (err)
// through every try: it names the processes still in the root cgroup, which
// is what makes the write busy, read once more.
func stillBusy(sys host.System, err error, want []string, tries int) error {
	ctrl := strings.Join(want, " ")
	procs, rerr := sys.ReadFile(cgroupRoot + "/cgroup.procs")
	if rerr != nil {
		return errors.Wrapf(err, "enable cgroup controllers %s: still busy after %d tries (root cgroup processes unreadable: %v)",
			ctrl, tries, rerr)
	}
	left := strings.Join(strings.Fields(string(procs)), " ")
	if left == "" {
		left = "none"
	}
	return errors.Wrapf(err, "enable cgroup controllers %s: still busy after %d tries, processes left in the root cgroup: %s",
		ctrl, tries, left)
}

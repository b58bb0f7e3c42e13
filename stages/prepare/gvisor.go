package prepare

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"
)

// gVisor (runsc) runs the container on its own kernel, the sentry, which
// implements Linux's system calls in user space: dinv's stages then meet
// what that kernel lacks. Each lack is detected here and said once, with its
// consequence, by the stage it concerns.

// gvisorBuild is the build string of the kernel gVisor's sentry reports in
// /proc/version and uname ("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54
// PST 2016"), the same in every release since 2018: no Linux kernel has it.
const gvisorBuild = "#1 SMP Sun Jan 10 15:06:54 PST 2016"

// InGVisor reports whether dinv runs on gVisor's kernel.
func InGVisor(sys System) bool {
	v, err := sys.ReadFile("/proc/version")
	return err == nil && strings.Contains(string(v), gvisorBuild)
}

// engineControllers are the cgroup v1 controllers the engine uses for its
// containers' limits.
var engineControllers = []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer",
	"hugetlb", "memory", "net_cls", "net_prio", "perf_event", "pids"}

// MissingControllers lists the engine's cgroup controllers that the kernel
// does not have (/proc/cgroups), in engineControllers' order.
func MissingControllers(sys System) ([]string, error) {
	data, err := sys.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, errors.Wrap(err, "read cgroup controllers")
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && !strings.HasPrefix(f[0], "#") && f[3] == "1" {
			have[f[0]] = true
		}
	}
	var missing []string
	for _, c := range engineControllers {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// warnGVisorCgroups says once which controllers gVisor's emulated cgroup v1
// lacks, and what that costs the engine's containers.
func warnGVisorCgroups(log hclog.Logger, sys System) error {
	missing, err := MissingControllers(sys)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	log.Warn("gVisor emulates cgroups without some controllers: limits that need them are ignored "+
		"for the engine's containers (docker pause needs freezer, --device-read-bps blkio)",
		"missing", strings.Join(missing, ","))
	return nil
}

// SandboxNetFlags are what the engine needs where the container has neither
// iptables nor the right to make network interfaces (gVisor with
// --network=host): no firewall, no bridge, no forwarding of its own
// (GVisorEngineSettings in gvisor_net.go).
var SandboxNetFlags = []string{"--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false"}

// procRootInode is the inode number of a Linux procfs root (PROC_ROOT_INO).
const procRootInode = 1

var runcVersionRE = regexp.MustCompile(`runc version (\d+)\.(\d+)\.(\d+)`)

// runcChecksProcfs reports whether a runc version refuses a /proc whose root
// is not inode 1 ("unsafe procfs detected: incorrect procfs root inode
// number"): the checks of runc 1.2.8, 1.3.3 and 1.4.0 (the fixes of
// CVE-2025-31133, CVE-2025-52565 and CVE-2025-52881) and every later one.
func runcChecksProcfs(major, minor, patch int) bool {
	switch {
	case major != 1:
		return major > 1
	case minor >= 4:
		return true
	case minor == 3:
		return patch >= 3
	case minor == 2:
		return patch >= 8
	}
	return false
}

// warnGVisorRunc says, once, when the engine's runc cannot start a single
// container here: gVisor's /proc root is not inode 1 (release 20240729: 86;
// its Go module's 2026 releases: 1), and runc from 1.2.8 on refuses such a
// procfs. The engine still starts and answers; every
// container and build step fails with runc's own "unsafe procfs detected".
func warnGVisorRunc(log hclog.Logger, sys System) {
	ino, err := sys.Inode("/proc")
	if err != nil || ino == procRootInode {
		return
	}
	out, err := sys.Output("runc", "--version")
	if err != nil {
		log.Debug("runc version unknown", "error", err)
		return
	}
	m := runcVersionRE.FindStringSubmatch(out)
	if m == nil {
		return
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	if runcChecksProcfs(v[0], v[1], v[2]) {
		log.Warn("this runc refuses gVisor's /proc (its root is not inode 1: \"unsafe procfs detected\"): "+
			"the engine starts, but no container or build step can run in it; use gVisor built from its Go module "+
			"(make engine: its /proc root is inode 1), or an image whose runc is older than 1.2.8 (dinv:26.1, dinv:20.10)",
			"runc", strings.Join(m[1:], "."), "proc_root_inode", ino)
	}
}

package host

import (
	"regexp"
	"strconv"
	"strings"
)

// gVisor (runsc) runs the container on its own kernel, the sentry, which
// implements Linux's system calls in user space: dinv's stages then meet
// what that kernel lacks. The privileges stage finds the sentry (InGVisor,
// State.GVisor); each lack is then detected and said once, with its
// consequence, by the stage it concerns: the runc the engine runs
// (privileges, by RuncChecksProcfs), cgroup controllers (cgroups), iptables
// and bridges (iptables), the data root's filesystem (storage).

// gvisorBuild is the build string of the kernel gVisor's sentry reports in
// /proc/version and uname ("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54
// PST 2016"), the same in every release since 2018: no Linux kernel has it.
const gvisorBuild = "#1 SMP Sun Jan 10 15:06:54 PST 2016"

// InGVisor reports whether dinv runs on gVisor's kernel.
func InGVisor(sys System) bool {
	v, err := sys.ReadFile("/proc/version")
	return err == nil && strings.Contains(string(v), gvisorBuild)
}

var runcVersionRE = regexp.MustCompile(`runc version (\d+)\.(\d+)\.(\d+)`)

// RuncVersion reads the version `runc --version` prints ("runc version
// 1.3.6+ds1": 1.3.6); false when out names none.
func RuncVersion(out string) (v [3]int, ok bool) {
	m := runcVersionRE.FindStringSubmatch(out)
	if m == nil {
		return v, false
	}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v, true
}

// RuncChecksProcfs reports whether a runc version refuses a /proc whose root
// is not inode 1 ("unsafe procfs detected: incorrect procfs root inode
// number"): the checks of runc 1.2.8, 1.3.3 and 1.4.0 (the fixes of
// CVE-2025-31133, CVE-2025-52565 and CVE-2025-52881) and every later one.
func RuncChecksProcfs(major, minor, patch int) bool {
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

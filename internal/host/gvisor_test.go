package host_test

import (
	"testing"

	"github.com/dinv/dinv/internal/host"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// /proc/version on a Linux kernel.
const linuxVersion = "Linux version 6.18.44 (root@vm) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC\n"

func TestInGVisorReadsTheSentrysKernelBuild(t *testing.T) {
	for _, c := range []struct {
		name, version string
		want          bool
	}{
		{"gVisor's sentry", hosttest.GVisorVersion, true},
		{"gVisor's sentry built from its Go module (2026)", "Linux version 4.19.0-gvisor #1 SMP Sun Jan 10 15:06:54 PST 2016\n", true},
		{"a Linux kernel", linuxVersion, false},
		{"a Linux kernel that also calls itself 4.4.0", "Linux version 4.4.0-210-generic (buildd@lgw01) #242-Ubuntu SMP\n", false},
		{"no /proc/version", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			if c.version != "" {
				f.Files["/proc/version"] = c.version
			}
			if got := host.InGVisor(f); got != c.want {
				t.Errorf("InGVisor = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRuncChecksProcfsFromTheNovember2025Releases(t *testing.T) {
	for _, c := range []struct {
		v    [3]int
		want bool
	}{
		{[3]int{1, 1, 15}, false}, {[3]int{1, 2, 7}, false}, {[3]int{1, 2, 8}, true},
		{[3]int{1, 3, 2}, false}, {[3]int{1, 3, 3}, true}, {[3]int{1, 3, 6}, true},
		{[3]int{1, 4, 0}, true}, {[3]int{2, 0, 0}, true}, {[3]int{0, 9, 9}, false},
	} {
		if got := host.RuncChecksProcfs(c.v[0], c.v[1], c.v[2]); got != c.want {
			t.Errorf("runc %v: %v, want %v", c.v, got, c.want)
		}
	}
}

func TestRuncVersionIsReadFromRuncsFirstLine(t *testing.T) {
	for _, c := range []struct {
		out  string
		want [3]int
		ok   bool
	}{
		{"runc version 1.3.6+ds1\ncommit: 1.3.6+ds1-1\nspec: 1.2.1\n", [3]int{1, 3, 6}, true},
		{"runc version 1.1.15\ncommit: v1.1.15-0-gbc20cb44\n", [3]int{1, 1, 15}, true},
		{"runc version 1.4.0-rc.2\n", [3]int{1, 4, 0}, true},
		{"runc: command not found\n", [3]int{}, false},
	} {
		if got, ok := host.RuncVersion(c.out); got != c.want || ok != c.ok {
			t.Errorf("RuncVersion(%q) = %v, %v; want %v, %v", c.out, got, ok, c.want, c.ok)
		}
	}
}

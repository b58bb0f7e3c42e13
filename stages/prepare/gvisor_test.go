package prepare

import (
	"context"
	"errors"
	"net"

	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// What gVisor's sentry shows (runsc 20240729, measured).
const (
	gvisorVersion  = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n"
	linuxVersion   = "Linux version 6.18.44 (root@vm) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC\n"
	gvisorCgroups  = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t2\t1\ncpuacct\t2\t2\t1\ncpuset\t3\t2\t1\ndevices\t4\t2\t1\njob\t5\t2\t1\nmemory\t6\t2\t1\npids\t7\t2\t1\n"
	iptablesNoNat  = "iptables v1.8.11 (legacy): can't initialize iptables table `nat': Table does not exist"
	runcWithChecks = "runc version 1.3.6+ds1\ncommit: 1.3.6+ds1-1\nspec: 1.2.1\n"
	runcOld        = "runc version 1.1.15+ds1\ncommit: 1.1.15+ds1-2+b4\nspec: 1.0.2-dev\n"
)

// logs collects what a stage logged, one line per entry.
type logs struct{ strings.Builder }

func (l *logs) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: l, Level: hclog.Debug, DisableTime: true})
}

func (l *logs) warnings() []string {
	var w []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "[WARN]") {
			w = append(w, line)
		}
	}
	return w
}

func TestInGVisorReadsTheSentrysKernelBuild(t *testing.T) {
	for _, c := range []struct {
		name, version string
		want          bool
	}{
		{"gVisor's sentry", gvisorVersion, true},
		{"gVisor's sentry built from its Go module (2026)", "Linux version 4.19.0-gvisor #1 SMP Sun Jan 10 15:06:54 PST 2016\n", true},
		{"a Linux kernel", linuxVersion, false},
		{"a Linux kernel that also calls itself 4.4.0", "Linux version 4.4.0-210-generic (buildd@lgw01) #242-Ubuntu SMP\n", false},
		{"no /proc/version", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			if c.version != "" {
				f.files["/proc/version"] = c.version
			}
			if got := InGVisor(f); got != c.want {
				t.Errorf("InGVisor = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMissingControllersOfGVisorsCgroups(t *testing.T) {
	f := newFake()
	f.files["/proc/cgroups"] = gvisorCgroups
	got, err := MissingControllers(f)
	if err != nil || strings.Join(got, ",") != "blkio,freezer,hugetlb,net_cls,net_prio,perf_event" {
		t.Errorf("missing %v, %v", got, err)
	}
}

func TestCgroupsStageUnderGVisorWarnsOnceAndChangesNothing(t *testing.T) {
	f := newFake()
	f.files["/proc/version"] = gvisorVersion
	f.files["/proc/cgroups"] = gvisorCgroups
	// gVisor's mountinfo: its emulated v1 hierarchies are writable.
	f.files["/proc/self/mountinfo"] = "18 17 0:19 / / rw - overlay none rw\n" +
		"30 18 0:30 / /sys/fs/cgroup/memory rw - cgroup none rw,memory\n"
	var l logs
	st := &cgroupsStage{sys: f, sleep: func(time.Duration) {}}
	if err := st.Run(core.WithLog(context.Background(), l.logger()), &core.State{GVisor: true}); err != nil {
		t.Fatal(err)
	}
	w := l.warnings()
	if len(w) != 1 || !strings.Contains(w[0], `missing="blkio,freezer,hugetlb,net_cls,net_prio,perf_event"`) {
		t.Errorf("warnings %q", w)
	}
	if len(f.calls) != 0 {
		t.Errorf("changed %v", f.calls)
	}
}

func TestIptablesStageChecksTheSandboxOnlyUnderGVisor(t *testing.T) {
	for _, gvisor := range []bool{false, true} {
		f := newFake()
		f.programs = map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-legacy": "/usr/sbin/iptables-legacy"}
		f.outputErr["iptables-legacy"] = errors.New(iptablesNoNat)
		if gvisor {
			f.files["/proc/version"] = gvisorVersion
		}
		st := &iptablesStage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables",
			sendPacket: func() error { return nil }, ifaceWith: func(net.IP) string { return "eth0" }}
		state := &core.State{EngineEnv: []string{"PATH=/usr/bin"}, GVisor: gvisor}
		if err := st.Run(core.WithLog(context.Background(), nolog), state); err != nil {
			t.Fatal(err)
		}
		if got := len(state.EngineFlags) > 0; got != gvisor {
			t.Errorf("gVisor %v: engine flags %q", gvisor, state.EngineFlags)
		}
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
		if got := runcChecksProcfs(c.v[0], c.v[1], c.v[2]); got != c.want {
			t.Errorf("runc %v: %v, want %v", c.v, got, c.want)
		}
	}
}

func TestPrivilegesStageUnderGVisorWarnsWhenRuncCannotRunAContainer(t *testing.T) {
	for _, c := range []struct {
		name  string
		runc  string
		inode uint64
		warn  bool
	}{
		{"runc 1.3.6 on gVisor's /proc (inode 86)", runcWithChecks, 86, true},
		{"runc 1.1.15 on gVisor's /proc", runcOld, 86, false},
		{"runc 1.3.6 on a /proc of inode 1", runcWithChecks, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.files["/proc/version"] = gvisorVersion
			f.files["/proc/self/status"] = "CapEff:\t00000000a82435fb\n"
			f.inodes["/proc"] = c.inode
			f.outputs["runc"] = c.runc
			var l logs
			st := &privilegesStage{sys: f}
			s := &core.State{}
			if err := st.Run(core.WithLog(context.Background(), l.logger()), s); err != nil {
				t.Fatal(err)
			}
			if !s.GVisor {
				t.Error("State.GVisor not set under gVisor's kernel")
			}
			w := l.warnings()
			if (len(w) == 1) != c.warn || len(w) > 1 {
				t.Errorf("warnings %q", w)
			}
			if c.warn && !strings.Contains(w[0], "runc=1.3.6 proc_root_inode=86") {
				t.Errorf("warning %q", w[0])
			}
		})
	}
}

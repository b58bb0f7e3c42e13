package cgroups

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// gVisor's /proc/cgroups (runsc 20240729, measured).
const gvisorCgroups = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t2\t1\ncpuacct\t2\t2\t1\ncpuset\t3\t2\t1\ndevices\t4\t2\t1\njob\t5\t2\t1\nmemory\t6\t2\t1\npids\t7\t2\t1\n"

func TestMissingControllersOfGVisorsCgroups(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/cgroups"] = gvisorCgroups
	got, err := missingControllers(f)
	if err != nil || strings.Join(got, ",") != "blkio,freezer,hugetlb,net_cls,net_prio,perf_event" {
		t.Errorf("missing %v, %v", got, err)
	}
}

func TestCgroupsStageUnderGVisorWarnsOnceAndChangesNothing(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/version"] = hosttest.GVisorVersion
	f.Files["/proc/cgroups"] = gvisorCgroups
	// gVisor's mountinfo: its emulated v1 hierarchies are writable.
	f.Files["/proc/self/mountinfo"] = "18 17 0:19 / / rw - overlay none rw\n" +
		"30 18 0:30 / /sys/fs/cgroup/memory rw - cgroup none rw,memory\n"
	var l hosttest.Logs
	st := &stage{sys: f, sleep: func(time.Duration) {}}
	if err := st.Run(core.WithLog(context.Background(), l.Logger()), &core.State{GVisor: true}); err != nil {
		t.Fatal(err)
	}
	w := l.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], `missing="blkio,freezer,hugetlb,net_cls,net_prio,perf_event"`) {
		t.Errorf("warnings %q", w)
	}
	if len(f.Calls) != 0 {
		t.Errorf("changed %v", f.Calls)
	}
}

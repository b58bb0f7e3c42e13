package privileges

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

func TestMissingPrivileges(t *testing.T) {
	const all = "000001ffffffffff"
	for _, tc := range []struct {
		name     string
		capEff   string
		writable bool
		want     string
	}{
		{"every capability: nothing missing", all, false, ""},
		{"docker run's default set lacks SYS_ADMIN and NET_ADMIN, and the cgroups are read-only",
			"00000000a80425fb", false, "CAP_SYS_ADMIN, CAP_NET_ADMIN, a writable /sys/fs/cgroup/memory"},
		{"no SYS_ADMIN but writable cgroups: only the capability is missing",
			"00000000a80435fb", true, "CAP_SYS_ADMIN"},
		{"MKNOD dropped", "000001fff7ffffff", false, "CAP_MKNOD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files["/proc/self/status"] = "Name:\tdinv\nCapInh:\t0000000000000000\nCapEff:\t" + tc.capEff + "\nCapBnd:\t" + all + "\n"
			f.Dirs["/sys/fs/cgroup/memory"] = true // cgroup v1
			f.WritablePaths = map[string]bool{"/sys/fs/cgroup": true, "/sys/fs/cgroup/memory": tc.writable}
			got, err := MissingPrivileges(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ", ") != tc.want {
				t.Errorf("missing %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOnCgroupV2TheTreeItselfMustBeWritable(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.WritablePaths = map[string]bool{"/sys/fs/cgroup": false}
	got, err := MissingPrivileges(f)
	if err != nil || strings.Join(got, ", ") != "CAP_SYS_ADMIN, CAP_NET_ADMIN, a writable /sys/fs/cgroup" {
		t.Errorf("missing %q, %v", got, err)
	}
}

func TestThePrivilegesStageSaysWhatIsMissingAndHowToFixIt(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.Dirs["/sys/fs/cgroup/memory"] = true
	err := (&privilegesStage{sys: f}).Run(core.WithLog(context.Background(), hclog.NewNullLogger()), &core.State{})
	if err == nil || !strings.Contains(err.Error(), "lacks what a Docker host needs (CAP_SYS_ADMIN, CAP_NET_ADMIN, a writable /sys/fs/cgroup/memory): run it with --privileged") {
		t.Errorf("error %v", err)
	}
	if len(f.Calls) != 0 {
		t.Errorf("the check changed something: %v", f.Calls)
	}
}

// TestUnderDryRunThePrivilegesStageFindsGVisorAndSaysWhatARealStartWouldDo:
// -dry-run detects what a real start detects (the sandbox, which changes the
// engine's flags), and says, without failing, what a real start would stop on.
func TestUnderDryRunThePrivilegesStageFindsGVisorAndSaysWhatARealStartWouldDo(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/version"] = gvisorVersion
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.Dirs["/sys/fs/cgroup/memory"] = true
	var l logs
	s := &core.State{Config: core.Config{DryRun: true}}
	if err := (&privilegesStage{sys: f}).Run(core.WithLog(context.Background(), l.logger()), s); err != nil {
		t.Fatalf("error %v under -dry-run", err)
	}
	if !s.GVisor {
		t.Error("gVisor not found under -dry-run")
	}
	if w := strings.Join(l.warnings(), "\n"); !strings.Contains(w, "a real start would stop here") || !strings.Contains(w, "CAP_SYS_ADMIN") {
		t.Errorf("warnings %q", w)
	}
	if len(f.Calls) != 0 {
		t.Errorf("the check changed something: %v", f.Calls)
	}
}

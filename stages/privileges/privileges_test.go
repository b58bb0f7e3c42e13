package privileges

import (
	"context"
	"errors"
	"os"
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
			got, err := missingPrivileges(f)
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
	got, err := missingPrivileges(f)
	if err != nil || strings.Join(got, ", ") != "CAP_SYS_ADMIN, CAP_NET_ADMIN, a writable /sys/fs/cgroup" {
		t.Errorf("missing %q, %v", got, err)
	}
}

func TestThePrivilegesStageSaysWhatIsMissingAndHowToFixIt(t *testing.T) {
	f := hosttest.New()
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.Dirs["/sys/fs/cgroup/memory"] = true
	err := (&stage{sys: f}).Run(core.WithLog(context.Background(), hclog.NewNullLogger()), &core.State{})
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
	f.Files["/proc/version"] = hosttest.GVisorVersion
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.Dirs["/sys/fs/cgroup/memory"] = true
	var l hosttest.Logs
	s := &core.State{Config: core.Config{DryRun: true}}
	if err := (&stage{sys: f}).Run(core.WithLog(context.Background(), l.Logger()), s); err != nil {
		t.Fatalf("error %v under -dry-run", err)
	}
	if !s.GVisor {
		t.Error("gVisor not found under -dry-run")
	}
	if w := strings.Join(l.Warnings(), "\n"); !strings.Contains(w, "a real start would stop here") || !strings.Contains(w, "CAP_SYS_ADMIN") {
		t.Errorf("warnings %q", w)
	}
	if len(f.Calls) != 0 {
		t.Errorf("the check changed something: %v", f.Calls)
	}
}

func TestMissingForRootless(t *testing.T) {
	const defaultCaps = "00000000a80425fb" // docker run's default set
	masked := "200 100 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw\n201 100 0:60 / /proc/acpi ro - tmpfs tmpfs ro\n"
	for _, c := range []struct {
		name      string
		caps      string
		tun       bool
		unshare   error
		mountinfo string
		want      string
	}{
		{name: "the measured option set: nothing missing", caps: defaultCaps, tun: true},
		{name: "docker run's defaults: no tun, no user namespaces, a masked /proc",
			caps: defaultCaps, unshare: errors.New("run unshare: exit status 1: unshare: unshare failed: Operation not permitted"),
			mountinfo: masked,
			want: "/dev/net/tun (--device /dev/net/tun); user namespaces (--security-opt seccomp=unconfined: " +
				"run unshare: exit status 1: unshare: unshare failed: Operation not permitted); " +
				"a /proc without masked paths (--security-opt systempaths=unconfined; masked: /proc/kcore /proc/acpi)"},
		{name: "SETFCAP dropped", caps: "000000002804 25fb", tun: true, want: "CAP_SETFCAP (docker's default set has it)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files["/proc/self/status"] = "CapEff:\t" + strings.ReplaceAll(c.caps, " ", "") + "\n"
			f.Files["/proc/self/mountinfo"] = rootPrivate + c.mountinfo
			if c.tun {
				f.Modes[tunDevice] = os.ModeDevice | 0o600
			}
			f.Outputs["unshare"] = ""
			f.Programs = map[string]string{"rootlesskit": "/usr/bin/rootlesskit", "slirp4netns": "/usr/bin/slirp4netns", "setpriv": "/usr/bin/setpriv"}
			if c.unshare != nil {
				f.OutputErr["unshare"] = c.unshare
			}
			got, err := missingForRootless(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "; ") != c.want {
				t.Errorf("missing\n%s\nwant\n%s", strings.Join(got, "; "), c.want)
			}
		})
	}
}

// rootPrivate is a container's root in mountinfo, without shared propagation.
const rootPrivate = "100 90 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l\n"

func TestForTheRootlessEngineAMissingOptionFailsTheStartNamingIt(t *testing.T) {
	ctx := core.WithLog(context.Background(), hclog.NewNullLogger())
	rootless := core.Config{Rootless: true}
	f := hosttest.New()
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n"
	f.Files["/proc/self/mountinfo"] = rootPrivate
	f.Outputs["unshare"] = ""
	f.Programs = map[string]string{"rootlesskit": "/usr/bin/rootlesskit", "slirp4netns": "/usr/bin/slirp4netns", "setpriv": "/usr/bin/setpriv"}
	err := (&stage{sys: f}).Run(ctx, &core.State{Config: rootless})
	if err == nil || !strings.HasSuffix(err.Error(), "lacks what a rootless Docker host needs: /dev/net/tun (--device /dev/net/tun)") {
		t.Errorf("error %v", err)
	}
}

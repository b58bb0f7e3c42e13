package cgroups

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

var nolog = hclog.NewNullLogger()

// mountinfo lines as a Docker container sees them.
const (
	rootShared  = "100 90 0:50 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/l\n"
	rootPrivate = "100 90 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l\n"
	cgTmpfs     = "110 100 0:60 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755\n"
	cgCPURo     = "111 110 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid master:10 - cgroup cgroup rw,cpu,cpuacct\n"
	cgSystemdRo = "112 110 0:37 /docker/abc /sys/fs/cgroup/systemd ro,nosuid - cgroup cgroup rw,xattr,release_agent=/lib/systemd/x,name=systemd\n"
	// The same with a private cgroup namespace: the mount is the namespace's root.
	cgCPURoot     = "111 110 0:29 / /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
	cgSystemdRoot = "112 110 0:37 / /sys/fs/cgroup/systemd ro,nosuid - cgroup cgroup rw,xattr,name=systemd\n"
	// A writable mount of cgCPURo's subtree stacked on it.
	cgCPUStacked  = "115 111 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	cgElsewhereRo = "114 100 0:29 /docker/abc /mnt/cpu ro,nosuid - cgroup cgroup rw,cpu\n"
	cgMemRw       = "113 110 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
	cgV2          = "110 100 0:60 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup rw,nsdelegate\n"
	secfs         = "120 100 0:7 / /sys/kernel/security rw - securityfs securityfs rw\n"
)

func TestFixCgroups(t *testing.T) {
	cases := []struct {
		name      string
		files     map[string]string
		busy      int  // subtree_control writes that fail with EBUSY
		noRemount bool // the bind remount is refused
		want      []string
		wantErr   bool
	}{
		{name: "read-only v1 hierarchies are bind-remounted read-write, keeping their other flags",
			files: map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgCPURo + cgSystemdRo + cgMemRw},
			want:  []string{"mount /sys/fs/cgroup/cpu,cpuacct 0x1022", "mount /sys/fs/cgroup/systemd 0x1022"}},
		{name: "where the bind remount is refused, read-only v1 hierarchies are mounted again read-write, systemd as a named one",
			noRemount: true,
			files:     map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgCPURoot + cgSystemdRoot + cgMemRw},
			want: []string{
				"mkdir /run/dinv/cgroup/cpu,cpuacct", "mount cgroup cgroup /run/dinv/cgroup/cpu,cpuacct 0x0 cpu,cpuacct",
				"mount /run/dinv/cgroup/cpu,cpuacct /sys/fs/cgroup/cpu,cpuacct 0x1000",
				"umount /run/dinv/cgroup/cpu,cpuacct", "remove /run/dinv/cgroup/cpu,cpuacct",
				"mkdir /run/dinv/cgroup/systemd", "mount cgroup cgroup /run/dinv/cgroup/systemd 0x0 none,name=systemd",
				"mount /run/dinv/cgroup/systemd /sys/fs/cgroup/systemd 0x1000",
				"umount /run/dinv/cgroup/systemd", "remove /run/dinv/cgroup/systemd"}},
		{name: "where the bind remount is refused, read-only v1 hierarchies of the host's cgroup namespace show only the container's subtree again, writable",
			noRemount: true,
			files:     map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgCPURo + cgSystemdRo + cgMemRw},
			want: []string{
				"mkdir /run/dinv/cgroup/cpu,cpuacct", "mount cgroup cgroup /run/dinv/cgroup/cpu,cpuacct 0x0 cpu,cpuacct",
				"mount /run/dinv/cgroup/cpu,cpuacct/docker/abc /sys/fs/cgroup/cpu,cpuacct 0x1000",
				"umount /run/dinv/cgroup/cpu,cpuacct", "remove /run/dinv/cgroup/cpu,cpuacct",
				"mkdir /run/dinv/cgroup/systemd", "mount cgroup cgroup /run/dinv/cgroup/systemd 0x0 none,name=systemd",
				"mount /run/dinv/cgroup/systemd/docker/abc /sys/fs/cgroup/systemd 0x1000",
				"umount /run/dinv/cgroup/systemd", "remove /run/dinv/cgroup/systemd"}},
		{name: "a read-only v1 hierarchy under a writable one stacked on it (an earlier start's) is left alone",
			noRemount: true,
			files:     map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgCPURo + cgCPUStacked}},
		{name: "writable v1 hierarchies are left alone",
			files: map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgMemRw}},
		{name: "read-only v1 hierarchies outside /sys/fs/cgroup are left alone",
			files: map[string]string{"/proc/self/mountinfo": rootShared + cgTmpfs + cgElsewhereRo}},
		{name: "v2 at the namespace root moves the processes to init and enables the missing controllers",
			files: map[string]string{"/proc/self/mountinfo": rootShared + cgV2, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cgroup.type": "domain\n",
				"/sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n", "/sys/fs/cgroup/cgroup.subtree_control": "io\n",
				"/sys/fs/cgroup/cgroup.procs": "1\n23\n"},
			want: []string{"mkdir /sys/fs/cgroup/init", "write /sys/fs/cgroup/init/cgroup.procs 1", "write /sys/fs/cgroup/init/cgroup.procs 23",
				"write /sys/fs/cgroup/cgroup.subtree_control +cpu +memory +pids"}},
		{name: "v2 retries while a concurrent process makes the write busy",
			busy: 2,
			files: map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cgroup.type": "domain\n",
				"/sys/fs/cgroup/cgroup.controllers": "memory\n", "/sys/fs/cgroup/cgroup.subtree_control": "", "/sys/fs/cgroup/cgroup.procs": "1\n"},
			want: []string{"mkdir /sys/fs/cgroup/init", "write /sys/fs/cgroup/init/cgroup.procs 1", "write /sys/fs/cgroup/init/cgroup.procs 1",
				"write /sys/fs/cgroup/init/cgroup.procs 1", "write /sys/fs/cgroup/cgroup.subtree_control +memory"}},
		{name: "v2 with every controller enabled is left alone",
			files: map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cgroup.type": "domain\n",
				"/sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "/sys/fs/cgroup/cgroup.subtree_control": "memory cpu\n"}},
		{name: "v2 in the host's real root cgroup (no cgroup.type: a host without systemd) is left alone",
			files: map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/\n",
				"/sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "/sys/fs/cgroup/cgroup.procs": "1\n23\n"}},
		{name: "v2 outside the namespace root (the host's cgroups) is left alone",
			files: map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/system.slice/docker-1.scope\n",
				"/sys/fs/cgroup/cgroup.controllers": "cpu memory\n", "/sys/fs/cgroup/cgroup.procs": "1\n"}},
		{name: "v2 that stays busy fails after its retries",
			busy: 1000,
			files: map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cgroup.type": "domain\n",
				"/sys/fs/cgroup/cgroup.controllers": "memory\n", "/sys/fs/cgroup/cgroup.subtree_control": "", "/sys/fs/cgroup/cgroup.procs": ""},
			want:    []string{"mkdir /sys/fs/cgroup/init"},
			wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files = c.files
			if c.noRemount {
				f.RemountErr = syscall.EPERM
			}
			busy := c.busy
			f.WriteErr = func(p, _ string) error {
				if strings.HasSuffix(p, "subtree_control") && busy > 0 {
					busy--
					return syscall.EBUSY
				}
				return nil
			}
			err := FixCgroups(nolog, f, func(time.Duration) {})
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(f.Calls, c.want) {
				t.Errorf("calls\n%q\nwant\n%q", f.Calls, c.want)
			}
		})
	}
}

func TestFixCgroupV2KeepsItsErrors(t *testing.T) {
	v2 := func(procs string) map[string]string {
		return map[string]string{"/proc/self/mountinfo": cgV2, "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cgroup.type": "domain\n",
			"/sys/fs/cgroup/cgroup.controllers": "memory pids\n", "/sys/fs/cgroup/cgroup.subtree_control": "", "/sys/fs/cgroup/cgroup.procs": procs}
	}
	cases := []struct {
		name     string
		files    map[string]string
		pidErr   map[string]error // writing this pid to init/cgroup.procs fails
		busy     bool             // subtree_control stays busy
		noEnable bool             // subtree_control is unreadable
		wantErr  []string         // parts of the error; nil: none
	}{
		{name: "a process that exited before it could be moved is skipped",
			files: v2("1\n23\n"), pidErr: map[string]error{"23": syscall.ESRCH}},
		{name: "a process that cannot be moved fails naming its pid",
			files: v2("1\n23\n"), pidErr: map[string]error{"23": syscall.EACCES},
			wantErr: []string{"move process 23 to cgroup /init", "permission denied"}},
		{name: "controllers still busy after the retries name the processes left in the root cgroup and the tries",
			files: v2("1\n23\n"), busy: true,
			wantErr: []string{"enable cgroup controllers +memory +pids", "after 100 tries", "processes left in the root cgroup: 1 23", "device or resource busy"}},
		{name: "controllers still busy with no process left say so",
			files: v2(""), busy: true,
			wantErr: []string{"after 100 tries", "processes left in the root cgroup: none"}},
		{name: "unreadable enabled controllers fail instead of enabling every controller blind",
			files: v2("1\n"), noEnable: true,
			wantErr: []string{"read enabled cgroup controllers"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files = c.files
			if c.noEnable {
				delete(f.Files, "/sys/fs/cgroup/cgroup.subtree_control")
			}
			f.WriteErr = func(p, data string) error {
				if p == "/sys/fs/cgroup/init/cgroup.procs" {
					return c.pidErr[data]
				}
				if c.busy {
					return syscall.EBUSY
				}
				return nil
			}
			err := FixCgroups(nolog, f, func(time.Duration) {})
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; calls %q", f.Calls)
			}
			for _, part := range c.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestFixCgroupV1NeverLeavesAHierarchyUnmounted(t *testing.T) {
	const point, staging = "/sys/fs/cgroup/cpu,cpuacct", "/run/dinv/cgroup/cpu,cpuacct"
	cases := []struct {
		name       string
		line       string
		failMount  string // the mount target that fails
		failUmount bool   // unmounting the staging mount fails too
		wantErr    []string
		want       []string
	}{
		{name: "a whole hierarchy whose staging mount fails is left mounted read-only",
			line: cgCPURoot, failMount: staging,
			wantErr: []string{"mount cgroup cpu,cpuacct on " + staging},
			want:    []string{"mkdir " + staging}},
		{name: "a whole hierarchy whose bind fails is left mounted read-only and the staging mount goes",
			line: cgCPURoot, failMount: point,
			wantErr: []string{"bind cgroup " + staging + " on " + point},
			want:    []string{"mkdir " + staging, "mount cgroup cgroup " + staging + " 0x0 cpu,cpuacct", "umount " + staging}},
		{name: "a subtree whose staging mount fails is left mounted read-only",
			line: cgCPURo, failMount: staging,
			wantErr: []string{"mount cgroup cpu,cpuacct on " + staging},
			want:    []string{"mkdir " + staging}},
		{name: "a subtree whose bind fails is left mounted read-only and the staging mount goes",
			line: cgCPURo, failMount: point,
			wantErr: []string{"bind cgroup " + staging + "/docker/abc on " + point},
			want:    []string{"mkdir " + staging, "mount cgroup cgroup " + staging + " 0x0 cpu,cpuacct", "umount " + staging}},
		{name: "a bind that fails with a staging mount that cannot go says both",
			line: cgCPURo, failMount: point, failUmount: true,
			wantErr: []string{"staging mount " + staging + " left behind (unmount: device or resource busy)", "bind cgroup", "operation not permitted"},
			want:    []string{"mkdir " + staging, "mount cgroup cgroup " + staging + " 0x0 cpu,cpuacct"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files["/proc/self/mountinfo"] = rootShared + cgTmpfs + c.line
			f.RemountErr = syscall.EPERM
			f.MountErrOn = map[string]error{c.failMount: syscall.EPERM}
			if c.failUmount {
				f.UnmountErrOn = map[string]error{staging: syscall.EBUSY}
			}
			err := FixCgroups(nolog, f, func(time.Duration) {})
			if err == nil {
				t.Fatalf("no error; calls %q", f.Calls)
			}
			for _, part := range c.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if !reflect.DeepEqual(f.Calls, c.want) {
				t.Errorf("calls\n%q\nwant\n%q", f.Calls, c.want)
			}
			for _, call := range f.Calls {
				if call == "umount "+point {
					t.Errorf("%s was unmounted", point)
				}
			}
		})
	}
}

func TestFixMounts(t *testing.T) {
	cases := []struct {
		name     string
		info     string
		secDir   bool
		mountErr error
		want     []string
		wantErr  bool
	}{
		{name: "a shared root with securityfs mounted is left alone",
			info: rootShared + secfs, secDir: true},
		{name: "missing securityfs is mounted and a private root made shared",
			info: rootPrivate, secDir: true,
			want: []string{"mount securityfs securityfs /sys/kernel/security 0x0", "mount / 0x104000"}},
		{name: "no /sys/kernel/security directory means no securityfs mount",
			info: rootShared},
		{name: "a root that cannot be made shared fails",
			info: rootPrivate, mountErr: syscall.EPERM, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files["/proc/self/mountinfo"] = c.info
			f.Dirs[securityfsPath] = c.secDir
			f.MountErr = c.mountErr
			err := FixMounts(nolog, f)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(f.Calls, c.want) {
				t.Errorf("calls %q, want %q", f.Calls, c.want)
			}
		})
	}
}

func TestChooseIptables(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	rules := "*filter\n:INPUT ACCEPT [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j ACCEPT\nCOMMIT\n"
	cases := []struct {
		name     string
		programs map[string]string
		legacy   *string // iptables-legacy-save's output; nil: it fails
		nftRules int
		noNft    bool
		forced   string
		want     string
	}{
		{"DINV_IPTABLES forces a variant", both, nil, 2, false, "legacy", "legacy"},
		{"the variant holding rules wins: legacy", both, &rules, 1, false, "", "legacy"},
		{"the variant holding rules wins: nft", both, ptr(""), 2, false, "", "nft"},
		{"legacy rules win when nf_tables is unavailable", both, &rules, 0, true, "", "legacy"},
		{"a tie in rules goes to nft when the kernel has it", both, &rules, 2, false, "", "nft"},
		{"without rules nft is chosen when the kernel has it", both, ptr(""), 0, false, "", "nft"},
		{"without rules and without nf_tables legacy is chosen", both, ptr(""), 0, true, "", "legacy"},
		{"a single installed variant is used: legacy", map[string]string{"iptables-legacy-save": "/x"}, nil, 5, false, "", "legacy"},
		{"a single installed variant is used: nft", map[string]string{"iptables-nft-save": "/x"}, &rules, 0, true, "", "nft"},
		{"no variants installed means no choice", nil, nil, 0, false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs, f.NftRuleCount, f.NoNft = c.programs, c.nftRules, c.noNft
			f.Files[ipTablesNames] = "filter\n"
			if c.legacy != nil {
				f.Outputs["iptables-legacy-save"] = *c.legacy
			}
			got, why, err := ChooseIptables(f, c.forced)
			if err != nil || got != c.want || (got != "" && why == "") {
				t.Errorf("got %q (%q), %v; want %q", got, why, err, c.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestChooseIptablesSkipsLegacySaveWhenNoLegacyTableExists(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	rules := "-A FORWARD -j ACCEPT\n"
	cases := []struct {
		name   string
		tables string
		want   string
	}{
		{"no legacy table: legacy holds no rules, its save output is not read", "", "nft"},
		{"a legacy table exists: its rules are counted", "filter\nnat\n", "legacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs = both
			// Were it read, legacy's output would win.
			f.Outputs = map[string]string{"iptables-legacy-save": rules + rules}
			f.NftRuleCount = 1
			f.Files[ipTablesNames] = c.tables
			if got, _, err := ChooseIptables(f, ""); err != nil || got != c.want {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestChooseIptablesFailsWhenLegacyRulesCannotBeCounted(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	cases := []struct {
		name   string
		tables *string // ip_tables_names; nil: unreadable
	}{
		{"a failing legacy save where legacy tables exist is an error naming the program", ptr("filter\n")},
		{"a failing legacy save where the legacy tables cannot be listed is an error naming the program", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs, f.NftRuleCount = both, 1 // iptables-legacy-save has no output: it fails
			if c.tables != nil {
				f.Files[ipTablesNames] = *c.tables
			}
			got, _, err := ChooseIptables(f, "")
			if err == nil || got != "" {
				t.Fatalf("got %q, %v; want an error and no variant", got, err)
			}
			for _, part := range []string{"count legacy iptables rules", "iptables-legacy-save: failed", "DINV_IPTABLES"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestIptablesStageFailsWhenLegacyRulesCannotBeCountedUnlessAVariantIsForced(t *testing.T) {
	cases := []struct {
		name    string
		forced  string
		wantErr bool
	}{
		{"without DINV_IPTABLES the stage fails and changes nothing", "", true},
		{"DINV_IPTABLES=nft chooses without counting", "nft", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-legacy", "iptables-legacy-save"} {
				f.Programs[p] = "/usr/sbin/" + p
			}
			f.Files[ipTablesNames] = "filter\n" // and iptables-legacy-save fails
			st := &iptablesStage{sys: f, getenv: func(string) string { return c.forced }, dir: "/run/dinv/iptables"}
			s := &core.State{EngineEnv: []string{"PATH=/usr/bin"}}
			err := st.Run(core.WithLog(context.Background(), nolog), s)
			if !c.wantErr {
				if err != nil || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/run/dinv/iptables:/usr/bin"}) {
					t.Errorf("error %v, env %q", err, s.EngineEnv)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "iptables-legacy-save") {
				t.Errorf("error %v, want one naming iptables-legacy-save", err)
			}
			if len(f.Calls) != 0 || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/usr/bin"}) {
				t.Errorf("calls %q, env %q: want nothing changed", f.Calls, s.EngineEnv)
			}
		})
	}
}

func TestIptablesStagePutsTheVariantFirstInTheEnginesPATH(t *testing.T) {
	f := hosttest.New()
	for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-nft-restore", "ip6tables-nft", "iptables-legacy-save"} {
		f.Programs[p] = "/usr/sbin/" + p
	}
	f.NftRuleCount = 1
	f.Outputs["iptables-legacy-save"] = ""
	st := &iptablesStage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables"}
	s := &core.State{EngineEnv: []string{"A=1", "PATH=/usr/bin:/bin"}}
	if err := st.Run(core.WithLog(context.Background(), nolog), s); err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "PATH=/run/dinv/iptables:/usr/bin:/bin"}; !reflect.DeepEqual(s.EngineEnv, want) {
		t.Errorf("env %q, want %q", s.EngineEnv, want)
	}
	want := []string{"mkdir /run/dinv/iptables",
		"link /run/dinv/iptables/iptables -> /usr/sbin/iptables-nft",
		"link /run/dinv/iptables/iptables-save -> /usr/sbin/iptables-nft-save",
		"link /run/dinv/iptables/iptables-restore -> /usr/sbin/iptables-nft-restore",
		"link /run/dinv/iptables/ip6tables -> /usr/sbin/ip6tables-nft"}
	if !reflect.DeepEqual(f.Calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.Calls, want)
	}
}

func TestIptablesStageReplacesEveryLinkOfAnEarlierStart(t *testing.T) {
	f := hosttest.New()
	for _, tool := range iptablesTools {
		f.Files["/run/dinv/iptables/"+tool] = "" // legacy links of the last start
	}
	for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-nft-restore"} {
		f.Programs[p] = "/usr/sbin/" + p
	}
	st := &iptablesStage{sys: f, getenv: func(string) string { return "nft" }, dir: "/run/dinv/iptables"}
	if err := st.Run(core.WithLog(context.Background(), nolog), &core.State{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"mkdir /run/dinv/iptables",
		"remove /run/dinv/iptables/iptables", "remove /run/dinv/iptables/iptables-save", "remove /run/dinv/iptables/iptables-restore",
		"remove /run/dinv/iptables/ip6tables", "remove /run/dinv/iptables/ip6tables-save", "remove /run/dinv/iptables/ip6tables-restore",
		"link /run/dinv/iptables/iptables -> /usr/sbin/iptables-nft",
		"link /run/dinv/iptables/iptables-save -> /usr/sbin/iptables-nft-save",
		"link /run/dinv/iptables/iptables-restore -> /usr/sbin/iptables-nft-restore"}
	if !reflect.DeepEqual(f.Calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.Calls, want)
	}
}

func TestIptablesStageFailsWhenTheForcedVariantIsNotInstalled(t *testing.T) {
	cases := []struct {
		name     string
		forced   string
		programs []string
		missing  string
	}{
		{"legacy forced where only nft is installed", "legacy", []string{"iptables-nft", "iptables-nft-save", "iptables-legacy-save"}, "iptables-legacy"},
		{"nft forced where only legacy is installed", "nft", []string{"iptables-legacy", "iptables-legacy-save"}, "iptables-nft"},
		{"legacy forced where no iptables is installed", "legacy", nil, "iptables-legacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			for _, p := range c.programs {
				f.Programs[p] = "/usr/sbin/" + p
			}
			st := &iptablesStage{sys: f, getenv: func(string) string { return c.forced }, dir: "/run/dinv/iptables"}
			s := &core.State{EngineEnv: []string{"PATH=/usr/bin"}}
			err := st.Run(core.WithLog(context.Background(), nolog), s)
			if err == nil || !strings.Contains(err.Error(), c.missing+" is not installed") {
				t.Errorf("error %v, want one naming %s", err, c.missing)
			}
			if len(f.Calls) != 0 || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/usr/bin"}) {
				t.Errorf("calls %q, env %q: want nothing changed", f.Calls, s.EngineEnv)
			}
		})
	}
}

func TestIptablesStageRejectsAnUnknownDINV_IPTABLES(t *testing.T) {
	for _, v := range []string{"legacy", "nft", ""} {
		st := &iptablesStage{getenv: func(string) string { return v }}
		if err := st.Validate(nil, nil); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	st := &iptablesStage{getenv: func(string) string { return "nftables" }}
	if err := st.Validate(nil, nil); err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), "nftables") {
		t.Errorf("error %v", err)
	}
}

func TestRemoveStale(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		alive []int
		left  []string
	}{
		{name: "a dead engine's pid files and containerd's socket are removed",
			files: map[string]string{"/run/docker.pid": "41\n", "/run/docker/containerd/containerd.pid": "42",
				"/run/docker/containerd/containerd.sock": "", "/run/other.pid": "43"},
			left: []string{"/run/other.pid"}},
		{name: "a live engine's files are kept",
			files: map[string]string{"/run/docker.pid": "41", "/run/docker/containerd/containerd.pid": "42",
				"/run/docker/containerd/containerd.sock": ""},
			alive: []int{41, 42},
			left:  []string{"/run/docker.pid", "/run/docker/containerd/containerd.pid", "/run/docker/containerd/containerd.sock"}},
		{name: "a pid file that names no number is stale",
			files: map[string]string{"/run/docker.pid": "", "/run/docker/dockerd-x.pid": "1"},
			alive: []int{1},
			left:  []string{"/run/docker/dockerd-x.pid"}},
		{name: "a containerd socket without a pid file is kept",
			files: map[string]string{"/run/docker/containerd/containerd.sock": ""},
			left:  []string{"/run/docker/containerd/containerd.sock"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files = c.files
			for _, p := range c.alive {
				f.Live[p] = true
			}
			if err := RemoveStale(nolog, f, "/run/docker.pid", "/run/docker"); err != nil {
				t.Fatal(err)
			}
			left := []string{}
			for p := range f.Files {
				left = append(left, p)
			}
			if want := append([]string{}, c.left...); !sameSet(left, want) {
				t.Errorf("left %q, want %q", left, want)
			}
		})
	}
}

func TestRemoveStaleKeepsItsErrors(t *testing.T) {
	dead := map[string]string{"/run/docker.pid": "41", "/run/docker/containerd/containerd.pid": "42",
		"/run/docker/containerd/containerd.sock": ""}
	cases := []struct {
		name     string
		setup    func(f *hosttest.Fake)
		wantErr  []string
		keptFile string // a file that must be left
	}{
		{name: "a pid file that cannot be read fails naming it",
			setup:   func(f *hosttest.Fake) { f.ReadErrOn = map[string]error{"/run/docker.pid": syscall.EACCES} },
			wantErr: []string{"read pid file /run/docker.pid", "permission denied"}, keptFile: "/run/docker.pid"},
		{name: "a stale socket that cannot be removed fails naming it",
			setup: func(f *hosttest.Fake) {
				f.RemoveErrOn = map[string]error{"/run/docker/containerd/containerd.sock": syscall.EACCES}
			},
			wantErr: []string{"remove stale socket /run/docker/containerd/containerd.sock", "permission denied"}},
		{name: "pid files that cannot be listed fail naming their directory",
			setup:   func(f *hosttest.Fake) { f.GlobErr = filepath.ErrBadPattern },
			wantErr: []string{"list pid files in /run", "syntax error in pattern"}, keptFile: "/run/docker.pid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			for p, data := range dead {
				f.Files[p] = data
			}
			c.setup(f)
			err := RemoveStale(nolog, f, "/run/docker.pid", "/run/docker")
			if err == nil {
				t.Fatalf("no error; calls %q", f.Calls)
			}
			for _, part := range c.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if _, ok := f.Files[c.keptFile]; c.keptFile != "" && !ok {
				t.Errorf("%s was removed", c.keptFile)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

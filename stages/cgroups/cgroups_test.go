package cgroups

import (
	"context"
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
			err := fixCgroups(nolog, f, func(time.Duration) {})
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
			err := fixCgroups(nolog, f, func(time.Duration) {})
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
			err := fixCgroups(nolog, f, func(time.Duration) {})
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

func TestForTheRootlessEngineTheCgroupsStageWarnsOnceAndRemountsNothing(t *testing.T) {
	rootless := core.Config{Rootless: true}
	f := hosttest.New()
	f.Files["/proc/self/mountinfo"] = rootShared + cgTmpfs + cgCPURo
	var l hosttest.Logs
	st := &stage{sys: f, sleep: func(time.Duration) {}}
	if err := st.Run(core.WithLog(context.Background(), l.Logger()), &core.State{Config: rootless}); err != nil {
		t.Fatal(err)
	}
	if w := l.Warnings(); len(w) != 1 || !strings.Contains(w[0], "without resource limits") || !strings.Contains(w[0], "cgroup=v1") {
		t.Errorf("warnings %q", w)
	}
	if len(f.Calls) != 0 {
		t.Errorf("changed %v", f.Calls)
	}
}

package storage

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config/configtest"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// fake is hosttest's fake and the mounts and unmounts tried on it, failed
// ones too, as these tests name them: "mount overlay" (the probe), "mount
// tmpfs ROOT mode=0711", "unmount".
type fake struct {
	*hosttest.Fake
	calls []string
	// overlayErr fails overlay mounts until a tmpfs is mounted (gVisor's
	// 2024 release: overlay works on its own tmpfs only).
	overlayErr error
}

func (f *fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	if fstype == "overlay" && f.overlayErr != nil {
		if f.OnMount != nil {
			f.OnMount(source, target, fstype, flags, data)
		}
		return f.overlayErr
	}
	err := f.Fake.Mount(source, target, fstype, flags, data)
	if fstype == "tmpfs" && err == nil && f.overlayErr != nil {
		f.FSTypes[target], f.overlayErr = unix.TMPFS_MAGIC, nil
	}
	return err
}

// newFake returns a fake that also checks, as an overlay is mounted, that
// its directories exist (the probe makes them on the real data root).
func newFake(t *testing.T) *fake {
	f := &fake{Fake: hosttest.New()}
	f.OnMount = func(source, target, fstype string, flags uintptr, data string) {
		if fstype != "overlay" {
			f.calls = append(f.calls, "mount "+fstype+" "+target+" "+data)
			return
		}
		f.calls = append(f.calls, "mount overlay")
		for _, opt := range strings.Split(data, ",") {
			dir := opt[strings.Index(opt, "=")+1:]
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("mount option %s: %v", opt, err)
			}
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("mount target: %v", err)
		}
	}
	f.OnUnmount = func(string) { f.calls = append(f.calls, "unmount") }
	return f
}

// allowOverlay gives f what mayMountOverlay looks for: CAP_SYS_ADMIN,
// overlay registered, the initial user namespace and no security module.
func allowOverlay(f *fake) {
	f.Files["/proc/self/status"] = "CapEff:\t000001ffffffffff\n"
	f.Files["/proc/filesystems"] = "nodev\toverlay\n"
	f.Files["/proc/self/uid_map"] = "         0          0 4294967295\n"
}

func fuse(present bool) func() bool { return func() bool { return present } }

var errInval = errors.New("invalid argument")

func TestChoose(t *testing.T) {
	tests := []struct {
		name       string
		driver     string
		named      bool
		fuse       bool
		mountErr   error
		unmountErr error
		want       string
		wantReason bool
		wantErr    []string // parts of the error, nil for none
		wantCalls  string
	}{
		{name: "overlay2 that mounts is kept", driver: "overlay2",
			want: "overlay2", wantCalls: "mount overlay,unmount"},
		{name: "overlay2 that fails falls back to fuse-overlayfs when fuse is there", driver: "overlay2", fuse: true, mountErr: errInval,
			want: "fuse-overlayfs", wantReason: true, wantCalls: "mount overlay"},
		{name: "overlay2 that fails falls back to vfs without fuse", driver: "overlay2", mountErr: errInval,
			want: "vfs", wantReason: true, wantCalls: "mount overlay"},
		{name: "overlay2 named by the user that fails is an error explaining the fix", driver: "overlay2", named: true, fuse: true, mountErr: errInval,
			wantErr: []string{"storage driver overlay2 cannot work on", "mount a volume there", "-storage", "mount overlay: invalid argument"}, wantCalls: "mount overlay"},
		{name: "an unmount that fails is a failed probe", driver: "overlay2", unmountErr: errInval,
			want: "vfs", wantReason: true, wantCalls: "mount overlay,unmount"},
		{name: "the old overlay driver is probed too", driver: "overlay", named: true,
			want: "overlay", wantCalls: "mount overlay,unmount"},
		{name: "vfs is not probed", driver: "vfs", named: true, mountErr: errInval,
			want: "vfs", wantCalls: ""},
		{name: "btrfs is not probed", driver: "btrfs", mountErr: errInval,
			want: "btrfs", wantCalls: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFake(t)
			f.MountErr, f.UnmountErr = tt.mountErr, tt.unmountErr
			got, err := choose(f, fuse(tt.fuse), root, tt.driver, tt.named)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("choose() = %+v, want an error", got)
				}
				for _, part := range tt.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not say %q", err, part)
					}
				}
			} else if err != nil {
				t.Fatalf("choose() error = %v", err)
			}
			if got.Driver != tt.want || (got.Reason != nil) != tt.wantReason {
				t.Errorf("choose() = %+v, want driver %q (reason given: %v)", got, tt.want, tt.wantReason)
			}
			if calls := strings.Join(f.calls, ","); calls != tt.wantCalls {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
			left, err := os.ReadDir(root)
			if err != nil || len(left) != 0 {
				t.Errorf("the probe left %d entries in the data root: %v (%v)", len(left), left, err)
			}
		})
	}
}

func TestChooseSkipsTheProbeOnlyWhereOverlayIsKnownToWork(t *testing.T) {
	const btrfs, nfs = 0x9123683e, 0x6969
	tests := []struct {
		name      string
		fsType    int64
		fsErr     error
		mayMount  bool
		mountErr  error
		want      string
		wantCalls string
	}{
		{name: "ext4 is not probed", fsType: unix.EXT4_SUPER_MAGIC, mayMount: true, mountErr: errInval,
			want: "overlay2", wantCalls: ""},
		{name: "tmpfs is not probed", fsType: unix.TMPFS_MAGIC, mayMount: true, mountErr: errInval,
			want: "overlay2", wantCalls: ""},
		{name: "overlayfs (no volume on the data root) is probed and falls back", fsType: unix.OVERLAYFS_SUPER_MAGIC, mayMount: true, mountErr: errInval,
			want: "vfs", wantCalls: "mount overlay"},
		{name: "xfs is probed: ftype=0 (no d_type) cannot be told by statfs", fsType: unix.XFS_SUPER_MAGIC, mayMount: true,
			want: "overlay2", wantCalls: "mount overlay,unmount"},
		{name: "btrfs is probed", fsType: btrfs, mayMount: true,
			want: "overlay2", wantCalls: "mount overlay,unmount"},
		{name: "nfs is probed and falls back", fsType: nfs, mayMount: true, mountErr: errInval,
			want: "vfs", wantCalls: "mount overlay"},
		{name: "an unknown filesystem is probed", fsType: 0x12345678, mayMount: true,
			want: "overlay2", wantCalls: "mount overlay,unmount"},
		{name: "a failing statfs is probed", fsType: unix.EXT4_SUPER_MAGIC, fsErr: errInval, mayMount: true, mountErr: errInval,
			want: "vfs", wantCalls: "mount overlay"},
		{name: "ext4 without the right to mount overlay is probed and falls back", fsType: unix.EXT4_SUPER_MAGIC, mountErr: errInval,
			want: "vfs", wantCalls: "mount overlay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFake(t)
			f.FSTypes[root], f.FSTypeErr, f.MountErr = tt.fsType, tt.fsErr, tt.mountErr
			if tt.mayMount {
				allowOverlay(f)
			}
			got, err := choose(f, fuse(false), root, "overlay2", false)
			if err != nil || got.Driver != tt.want || got.Probed != (tt.wantCalls != "") {
				t.Errorf("choose() = %+v, %v; want driver %q, probed %v", got, err, tt.want, tt.wantCalls != "")
			}
			if calls := strings.Join(f.calls, ","); calls != tt.wantCalls {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}

func TestWhatStandsBetweenDinvAndAnOverlayMount(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"overlay listed as a nodev filesystem", overlayRegistered([]byte("nodev\tsysfs\n\text4\nnodev\toverlay\n")), true},
		{"overlay not listed (a module not loaded yet)", overlayRegistered([]byte("nodev\tsysfs\n\text4\n")), false},
		{"a name containing overlay is not overlay", overlayRegistered([]byte("fuse.overlayfs\nnodev\toverlayx\n")), false},
		{"the initial user namespace maps every id to itself", initialUserNS([]byte("         0          0 4294967295\n")), true},
		{"a user namespace maps a range", initialUserNS([]byte("         0     100000      65536\n")), false},
		{"an empty map (unmapped user namespace)", initialUserNS(nil), false},
		{"AppArmor unconfined", unconfined([]byte("unconfined\n")), true},
		{"no label", unconfined([]byte("\x00")), true},
		{"AppArmor docker-default", unconfined([]byte("docker-default (enforce)\n")), false},
		{"an SELinux label", unconfined([]byte("system_u:system_r:spc_t:s0\x00")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestProbeFailsWhenTheDataRootIsMissing(t *testing.T) {
	err := probeOverlay(newFake(t), filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "make probe directory") {
		t.Errorf("probeOverlay() = %v, want a make probe directory error", err)
	}
}

func TestValidate(t *testing.T) {
	p := func(v string) *core.Profile { return configtest.Profile(t, v) }
	tests := []struct {
		name    string
		driver  string
		profile string
		wantErr string
	}{
		{"overlay2 is known to 26.1", "overlay2", "26.1", ""},
		{"vfs is known to 28.5", "vfs", "28.5", ""},
		{"fuse-overlayfs is known to 20.10", "fuse-overlayfs", "20.10", ""},
		{"aufs is known to 1.13", "aufs", "1.13", ""},
		{"devicemapper is known to 1.12", "devicemapper", "1.12", ""},
		{"aufs is unknown to 26.1 and the error lists the known ones", "aufs", "26.1",
			`-storage "aufs": engine 26.1 has no such storage driver (known: overlay2, fuse-overlayfs, btrfs, zfs, vfs)`},
		{"a made-up name is a usage error naming -storage", "ovrlay2", "28.5",
			`-storage "ovrlay2": engine 28.5 has no such storage driver`},
		{"no name (dinv dockerd without one) is the engine's choice", "", "26.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&stage{}).Validate(storageConfig("", tt.driver, true), p(tt.profile))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !core.IsUsage(err)):
				t.Errorf("Validate() = %v, want a usage error starting %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunMakesTheDataRootAndWarnsOnFallback(t *testing.T) {
	root := filepath.Join(t.TempDir(), "var", "lib", "docker")
	var logs bytes.Buffer
	ctx := core.WithLog(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
	f := newFake(t)
	f.MountErr = errInval
	st := &stage{sys: f, hasFuse: fuse(false)}
	s := &core.State{Config: *storageConfig(root, "overlay2", false)}
	if err := st.Run(ctx, s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("data root = %v, %v; want a 0711 directory", fi, err)
	}
	if s.StorageDriver != "vfs" {
		t.Errorf("StorageDriver = %q, want vfs", s.StorageDriver)
	}
	for _, part := range []string{"[WARN]", "cannot work on the data root", "driver=overlay2 using=vfs", `fix="docker run -v ` + root + ` ..."`, "invalid argument"} {
		if !strings.Contains(logs.String(), part) {
			t.Errorf("logs do not say %q:\n%s", part, logs.String())
		}
	}
}

func TestRunFailsWhenTheNamedDriverCannotWork(t *testing.T) {
	f := newFake(t)
	f.MountErr = errInval
	st := &stage{sys: f, hasFuse: fuse(true)}
	s := &core.State{Config: *storageConfig(t.TempDir(), "overlay2", true)}
	if err := st.Run(context.Background(), s); err == nil || s.StorageDriver != "" {
		t.Errorf("Run() = %v with driver %q, want an error and no driver", err, s.StorageDriver)
	}
}

func TestRunUnderDryRunWritesNothing(t *testing.T) {
	tests := []struct {
		name      string
		driver    string
		named     bool
		fuse      bool
		fsType    int64
		rootExist bool
		want      string
		wantLog   []string // parts of the INFO line; nil: none
	}{
		{name: "overlay2 known to work on the missing data root's nearest parent is used without a probe",
			driver: "overlay2", fsType: unix.EXT4_SUPER_MAGIC, want: "overlay2"},
		{name: "overlay2 not known to work is kept unprobed, saying a real start probes it and may fall back to vfs",
			driver: "overlay2", fsType: unix.OVERLAYFS_SUPER_MAGIC, want: "overlay2",
			wantLog: []string{"[INFO]", "a real start probes it on the data root and may fall back", "driver=overlay2", "fallback=vfs"}},
		{name: "overlay2 not known to work names fuse-overlayfs as the fallback where fuse is there",
			driver: "overlay2", fuse: true, fsType: unix.OVERLAYFS_SUPER_MAGIC, want: "overlay2",
			wantLog: []string{"[INFO]", "may fall back", "fallback=fuse-overlayfs"}},
		{name: "overlay2 named by the user and not known to work is kept, saying a real start fails if it cannot mount",
			driver: "overlay2", named: true, fsType: unix.OVERLAYFS_SUPER_MAGIC, want: "overlay2",
			wantLog: []string{"[INFO]", "fails if it cannot mount there", `fallback="none (-storage names the driver)"`}},
		{name: "an existing data root on overlayfs is not probed either",
			driver: "overlay2", fsType: unix.OVERLAYFS_SUPER_MAGIC, rootExist: true, want: "overlay2",
			wantLog: []string{"[INFO]", "may fall back"}},
		{name: "vfs is used as asked", driver: "vfs", want: "vfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "var", "lib", "docker")
			if tt.rootExist {
				if err := os.MkdirAll(root, 0o711); err != nil {
					t.Fatal(err)
				}
			}
			before := tree(t, dir)
			var logs bytes.Buffer
			ctx := core.WithLog(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info}))
			f := newFake(t)
			f.FSTypes[dir] = tt.fsType
			if tt.rootExist {
				f.FSTypes[root] = tt.fsType
			}
			allowOverlay(f)
			st := &stage{sys: f, hasFuse: fuse(tt.fuse)}
			cfg := storageConfig(root, tt.driver, tt.named)
			cfg.DryRun = true
			s := &core.State{Config: *cfg}
			if err := st.Run(ctx, s); err != nil {
				t.Fatal(err)
			}
			if s.StorageDriver != tt.want {
				t.Errorf("StorageDriver = %q, want %q", s.StorageDriver, tt.want)
			}
			if after := tree(t, dir); after != before {
				t.Errorf("the dry run changed the files: before %q, after %q", before, after)
			}
			if len(f.calls) != 0 {
				t.Errorf("mounter calls %q, want none", f.calls)
			}
			if tt.wantLog == nil {
				if logs.Len() > 0 {
					t.Errorf("logs: %s", logs.String())
				}
				return
			}
			for _, part := range append([]string{"data_root=" + root}, tt.wantLog...) {
				if !strings.Contains(logs.String(), part) {
					t.Errorf("logs do not say %q:\n%s", part, logs.String())
				}
			}
		})
	}
}

func TestOverlayIsKnownToWorkByTheNearestExistingParentOfAMissingDataRoot(t *testing.T) {
	dir := t.TempDir()
	f := newFake(t)
	f.FSTypes[dir] = unix.EXT4_SUPER_MAGIC
	allowOverlay(f)
	if !overlayKnownToWork(f, filepath.Join(dir, "var", "lib", "docker")) {
		t.Error("overlay on ext4 not known to work")
	}
	if want := []string{filepath.Join(dir, "var", "lib", "docker"), filepath.Join(dir, "var", "lib"), filepath.Join(dir, "var"), dir}; !reflect.DeepEqual(f.Statfs, want) {
		t.Errorf("statfs of %q, want %q", f.Statfs, want)
	}
}

// tree lists every path under dir with its mode, one a line.
func tree(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// storageConfig is a configuration with data root root and storage driver
// driver, named by the user (-storage) or dinv's default.
func storageConfig(root, driver string, named bool) *core.Config {
	from := core.Source{Kind: core.FromDefault}
	if named {
		from = core.Source{Kind: core.FromFlag, Name: "-storage " + driver}
	}
	return &core.Config{Engine: core.EngineConfig{
		DataRoot:      core.Setting[string]{Value: root},
		StorageDriver: core.Setting[string]{Value: driver, From: from},
	}}
}

func TestMayMountOverlayReadsWhatTheProcessHolds(t *testing.T) {
	f := newFake(t)
	allowOverlay(f)
	if !mayMountOverlay(f) {
		t.Error("every capability, overlay, the initial user namespace: not allowed")
	}
	f.Files["/proc/self/attr/current"] = "docker-default (enforce)\n"
	if mayMountOverlay(f) {
		t.Error("allowed under AppArmor's docker-default")
	}
	delete(f.Files, "/proc/self/attr/current")
	f.Files["/proc/self/status"] = "CapEff:\t00000000a80425fb\n" // docker run's default set: no CAP_SYS_ADMIN
	if mayMountOverlay(f) {
		t.Error("allowed without CAP_SYS_ADMIN")
	}
}

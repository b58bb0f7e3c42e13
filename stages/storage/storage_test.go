package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// fakeMounter records calls; it checks that the overlay's directories exist
// when it is asked to mount them.
type fakeMounter struct {
	mountErr, unmountErr error
	calls                []string
	t                    *testing.T
}

func (f *fakeMounter) Mount(source, target, fstype, data string) error {
	f.calls = append(f.calls, "mount "+fstype)
	for _, opt := range strings.Split(data, ",") {
		dir := opt[strings.Index(opt, "=")+1:]
		if _, err := os.Stat(dir); err != nil {
			f.t.Errorf("mount option %s: %v", opt, err)
		}
	}
	if _, err := os.Stat(target); err != nil {
		f.t.Errorf("mount target: %v", err)
	}
	return f.mountErr
}

func (f *fakeMounter) Unmount(target string) error {
	f.calls = append(f.calls, "unmount")
	return f.unmountErr
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
			m := &fakeMounter{mountErr: tt.mountErr, unmountErr: tt.unmountErr, t: t}
			got, err := Choose(m, fuse(tt.fuse), root, tt.driver, tt.named)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Choose() = %+v, want an error", got)
				}
				for _, part := range tt.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not say %q", err, part)
					}
				}
			} else if err != nil {
				t.Fatalf("Choose() error = %v", err)
			}
			if got.Driver != tt.want || (got.Reason != nil) != tt.wantReason {
				t.Errorf("Choose() = %+v, want driver %q (reason given: %v)", got, tt.want, tt.wantReason)
			}
			if calls := strings.Join(m.calls, ","); calls != tt.wantCalls {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
			left, _ := os.ReadDir(root)
			if len(left) != 0 {
				t.Errorf("the probe left %d entries in the data root: %v", len(left), left)
			}
		})
	}
}

func TestProbeFailsWhenTheDataRootIsMissing(t *testing.T) {
	err := ProbeOverlay(&fakeMounter{t: t}, filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "make probe directory") {
		t.Errorf("ProbeOverlay() = %v, want a make probe directory error", err)
	}
}

func TestValidate(t *testing.T) {
	p := func(v string) *core.Profile {
		p, err := core.FindProfile(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
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
		{"an empty name is a usage error", "", "26.1", `-storage "": engine 26.1 has no such storage driver`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Stage{}).Validate(&core.Config{Storage: tt.driver}, p(tt.profile))
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
	st := &Stage{Mounter: &fakeMounter{mountErr: errInval, t: t}, HasFuse: fuse(false)}
	s := &core.State{Config: core.Config{DataRoot: root, Storage: "overlay2"}}
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
	for _, part := range []string{"[WARN]", "cannot work on the data root, using vfs", "docker run -v " + root, "invalid argument"} {
		if !strings.Contains(logs.String(), part) {
			t.Errorf("logs do not say %q:\n%s", part, logs.String())
		}
	}
}

func TestRunFailsWhenTheNamedDriverCannotWork(t *testing.T) {
	st := &Stage{Mounter: &fakeMounter{mountErr: errInval, t: t}, HasFuse: fuse(true)}
	s := &core.State{Config: core.Config{DataRoot: t.TempDir(), Storage: "overlay2", StorageSet: true}}
	if err := st.Run(context.Background(), s); err == nil || s.StorageDriver != "" {
		t.Errorf("Run() = %v with driver %q, want an error and no driver", err, s.StorageDriver)
	}
}

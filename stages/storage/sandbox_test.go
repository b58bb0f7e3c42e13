package storage

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

const v9fsMagic = 0x01021997 // gVisor's gofer, as statfs shows it inside the sandbox

func TestUnderGVisorOverlayIsProbedAndATmpfsMountedWhereItFails(t *testing.T) {
	for _, c := range []struct {
		name       string
		fsType     int64
		overlayErr error
		named      bool
		wantCalls  string
		wantWarn   bool
	}{
		{name: "a volume where overlay works (gVisor's 2026 releases): overlay2 there, probed once, nothing said",
			fsType: v9fsMagic, wantCalls: "mount overlay|unmount"},
		{name: "a volume where overlay fails (the 2024 release): a tmpfs is mounted, with one warning and the reason",
			fsType: v9fsMagic, overlayErr: errInval, wantCalls: "mount overlay|mount tmpfs ROOT mode=0711|mount overlay|unmount", wantWarn: true},
		{name: "already a tmpfs (docker run --tmpfs): no tmpfs mounted, overlay probed as on any tmpfs",
			fsType: unix.TMPFS_MAGIC, wantCalls: "mount overlay|unmount"},
		{name: "-storage named by the user: the user's choice, probed as anywhere, no tmpfs",
			fsType: v9fsMagic, named: true, wantCalls: "mount overlay|unmount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFake(t)
			f.FSTypes[root], f.overlayErr = c.fsType, c.overlayErr
			var logs bytes.Buffer
			ctx := core.WithLog(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
			st := &stage{sys: f, hasFuse: fuse(false)}
			s := &core.State{Config: *storageConfig(root, "overlay2", c.named), GVisor: true}
			if err := st.Run(ctx, s); err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(strings.Join(f.calls, "|"), root, "ROOT"); got != c.wantCalls {
				t.Errorf("calls %q, want %q", got, c.wantCalls)
			}
			if s.StorageDriver != "overlay2" {
				t.Errorf("driver %q", s.StorageDriver)
			}
			warned := strings.Contains(logs.String(), "[WARN]  gVisor: overlay does not work on the data root's filesystem")
			if warned != c.wantWarn || strings.Count(logs.String(), "[WARN]") > map[bool]int{true: 1}[c.wantWarn] ||
				c.wantWarn && !strings.Contains(logs.String(), "reason=\"mount overlay: invalid argument\"") {
				t.Errorf("logs:\n%s", logs.String())
			}
		})
	}
}

func TestUnderGVisorAFailedTmpfsMountFailsTheStage(t *testing.T) {
	root := t.TempDir()
	f := newFake(t)
	f.FSTypes[root], f.overlayErr, f.MountErr = v9fsMagic, errInval, unix.EPERM
	st := &stage{sys: f, hasFuse: fuse(false)}
	err := st.Run(context.Background(), &core.State{Config: *storageConfig(root, "overlay2", false), GVisor: true})
	if err == nil || !strings.Contains(err.Error(), "mount a tmpfs on the data root") {
		t.Errorf("error %v", err)
	}
}

func TestChooseRootless(t *testing.T) {
	for _, c := range []struct {
		name    string
		release string
		fsType  int64
		driver  string
		named   bool
		want    string
		wantWhy string
		wantErr string
	}{
		{name: "Linux 6.18 on ext4: overlay2, no probe", release: "6.18.44-fc-v669", fsType: unix.EXT4_SUPER_MAGIC, driver: "overlay2", want: "overlay2"},
		{name: "Linux 5.11 on tmpfs: overlay2", release: "5.11.0", fsType: unix.TMPFS_MAGIC, driver: "overlay2", want: "overlay2"},
		{name: "Linux 5.10: vfs, saying why", release: "5.10.0-28-amd64", fsType: unix.EXT4_SUPER_MAGIC, driver: "overlay2",
			want: "vfs", wantWhy: "Linux 5.10.0-28-amd64 mounts no overlay in a user namespace"},
		{name: "the container's overlayfs as data root: vfs, saying to mount a volume", release: "6.1.0", fsType: unix.OVERLAYFS_SUPER_MAGIC,
			driver: "overlay2", want: "vfs", wantWhy: "mount a volume there"},
		{name: "named overlay2 that cannot work: an error", release: "5.4.0", fsType: unix.EXT4_SUPER_MAGIC, driver: "overlay2", named: true,
			wantErr: "storage driver overlay2 cannot work for the rootless engine"},
		{name: "another driver is kept", release: "4.19.0", driver: "vfs", want: "vfs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFake(t)
			f.FSTypes[root] = c.fsType
			got, err := chooseRootless(f, fuse(false), c.release, root, c.driver, c.named)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got.Driver != c.want || (c.wantWhy == "") != (got.Reason == nil) ||
				c.wantWhy != "" && !strings.Contains(got.Reason.Error(), c.wantWhy) {
				t.Errorf("got %+v, %v", got, err)
			}
			if len(f.calls) != 0 {
				t.Errorf("mounted: %v", f.calls)
			}
		})
	}
}

func TestRootlessRunGivesTheDataRootToTheEnginesUser(t *testing.T) {
	root := t.TempDir()
	f := newFake(t)
	f.FSTypes[root], f.Release = unix.EXT4_SUPER_MAGIC, "6.18.44"
	st := &stage{sys: f, hasFuse: fuse(false)}
	s := &core.State{Config: *storageConfig(root, "overlay2", false), EngineUser: &core.EngineUser{Name: "rootless", UID: 1000, GID: 1000}}
	if err := st.Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	var chowned []string
	for _, c := range f.Calls {
		if p, ok := strings.CutPrefix(c, "chown "); ok {
			chowned = append(chowned, p)
		}
	}
	if strings.Join(chowned, ",") != root+" 1000:1000" || s.StorageDriver != "overlay2" {
		t.Errorf("chowned %v, driver %q", chowned, s.StorageDriver)
	}
	f.ChownErr = errors.New("operation not permitted")
	if err := st.Run(context.Background(), s); err == nil || !strings.Contains(err.Error(), "give the data root to the rootless engine's user") {
		t.Errorf("error %v", err)
	}
}

package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config/configtest"
)

// TestChooseImageStore: what a Docker 29 engine gets on each data root, and
// why; every case in one table.
func TestChooseImageStore(t *testing.T) {
	snapshotters := []string{"overlayfs", "native"}
	on := func(src string) featureSetting { return featureSetting{On: true, Set: true, Source: src} }
	off := func(src string) featureSetting { return featureSetting{Set: true, Source: src} }
	tests := []struct {
		name     string
		in       storeInput
		mountErr error
		fuse     bool
		fsType   int64
		mayMount bool
		want     string
		snap     bool
		reason   bool
		why      string // part of Why
		err      string // part of the error; "": none
		calls    string
	}{
		{name: "a fresh data root where overlay mounts gets containerd's overlayfs snapshotter",
			in: storeInput{Driver: "overlay2"}, want: "overlayfs", snap: true, why: "Docker 29's default", calls: "mount overlay,unmount"},
		{name: "on ext4 or tmpfs with the right to mount, overlayfs without a probe",
			in: storeInput{Driver: "overlay2"}, fsType: unix.TMPFS_MAGIC, mayMount: true, want: "overlayfs", snap: true, calls: ""},
		{name: "overlay on overlay (no volume) gets the native snapshotter, not fuse-overlayfs, with the reason",
			in: storeInput{Driver: "overlay2"}, mountErr: errInval, fuse: true, want: "native", snap: true, reason: true,
			why: "overlay cannot mount on the data root", calls: "mount overlay"},
		{name: "containerd-snapshotter=false keeps the graph driver overlay2",
			in: storeInput{Driver: "overlay2", Feature: off("/etc/docker/daemon.json")}, want: "overlay2",
			why: "containerd-snapshotter is off (/etc/docker/daemon.json)", calls: "mount overlay,unmount"},
		{name: "containerd-snapshotter=false on overlay falls back to vfs as before 29",
			in: storeInput{Driver: "overlay2", Feature: off("arguments")}, mountErr: errInval, want: "vfs", reason: true, calls: "mount overlay"},
		{name: "a data root with overlay2's images keeps overlay2",
			in: storeInput{Driver: "overlay2", Prior: "overlay2"}, want: "overlay2", why: "holds the images of graph driver overlay2", calls: "mount overlay,unmount"},
		{name: "a data root with DinV's vfs fallback keeps vfs",
			in: storeInput{Driver: "overlay2", Prior: "vfs"}, want: "vfs", why: "graph driver vfs", calls: ""},
		{name: "containerd-snapshotter=true changes nothing on a fresh data root",
			in: storeInput{Driver: "overlay2", Feature: on("arguments")}, want: "overlayfs", snap: true, calls: "mount overlay,unmount"},
		{name: "-storage overlayfs is checked like overlay2",
			in: storeInput{Driver: "overlayfs", Named: true}, want: "overlayfs", snap: true, why: "names a snapshotter", calls: "mount overlay,unmount"},
		{name: "-storage overlayfs where overlay cannot mount is an error",
			in: storeInput{Driver: "overlayfs", Named: true}, mountErr: errInval, err: "snapshotter overlayfs mounts overlay as overlay2 does", calls: "mount overlay"},
		{name: "-storage native is taken as named",
			in: storeInput{Driver: "native", Named: true}, mountErr: errInval, want: "native", snap: true, calls: ""},
		{name: "-storage overlay2 is the graph driver",
			in: storeInput{Driver: "overlay2", Named: true}, want: "overlay2", why: "names a graph driver", calls: "mount overlay,unmount"},
		{name: "-storage vfs is the graph driver",
			in: storeInput{Driver: "vfs", Named: true}, want: "vfs", calls: ""},
		{name: "-storage overlay2 with containerd-snapshotter on is a usage error",
			in:  storeInput{Driver: "overlay2", Named: true, Feature: on("/etc/docker/daemon.json")},
			err: "-storage overlay2 is a graph driver, but containerd-snapshotter is on (/etc/docker/daemon.json)"},
		{name: "-storage overlayfs with containerd-snapshotter off is a usage error",
			in: storeInput{Driver: "overlayfs", Named: true, Feature: off("arguments")}, err: "is a containerd snapshotter, but containerd-snapshotter is off"},
		{name: "rootless on 5.11 with the data root on ext4: overlayfs, not probed",
			in: storeInput{Driver: "overlay2", Rootless: true, KernelRelease: "6.1.0"}, fsType: unix.EXT4_SUPER_MAGIC, want: "overlayfs", snap: true, calls: ""},
		{name: "rootless on 5.10: native, with the reason",
			in: storeInput{Driver: "overlay2", Rootless: true, KernelRelease: "5.10.0"}, fsType: unix.EXT4_SUPER_MAGIC, want: "native", snap: true, reason: true, calls: ""},
		{name: "rootless with the data root on overlayfs: native",
			in: storeInput{Driver: "overlay2", Rootless: true, KernelRelease: "6.1.0"}, fsType: unix.OVERLAYFS_SUPER_MAGIC, want: "native", snap: true, reason: true, calls: ""},
		{name: "under -dry-run nothing is probed: overlayfs as a real start tries it",
			in: storeInput{Driver: "overlay2", Dry: true}, mountErr: errInval, want: "overlayfs", snap: true,
			why: "not probed under -dry-run", calls: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFake(t)
			in := tt.in
			in.DataRoot, in.Snapshotters = t.TempDir(), snapshotters
			m.MountErr = tt.mountErr
			if tt.fsType != 0 {
				m.FSTypes[in.DataRoot] = tt.fsType
			}
			if tt.mayMount {
				allowOverlay(m)
			}
			got, err := chooseImageStoreFor(m, fuse(tt.fuse), in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("chooseImageStoreFor() = %+v, %v; want an error with %q", got, err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("chooseImageStoreFor() error = %v", err)
			}
			if tt.err == "" && (got.Driver != tt.want || got.Snapshotter != tt.snap || (got.Reason != nil) != tt.reason ||
				!strings.Contains(got.Why, tt.why)) {
				t.Errorf("chooseImageStoreFor() = %+v (reason %v)\nwant driver %q snapshotter %v reason %v why %q", got, got.Reason, tt.want, tt.snap, tt.reason, tt.why)
			}
			if calls := strings.Join(m.calls, ","); calls != tt.calls {
				t.Errorf("calls = %q, want %q", calls, tt.calls)
			}
		})
	}
}

func TestPriorGraphDriverNeedsImagesInTheDriversDirectory(t *testing.T) {
	root := t.TempDir()
	if d := priorGraphDriver(root); d != "" {
		t.Errorf("empty data root: %q", d)
	}
	// An empty directory is no prior driver (moby's isEmptyDir), nor is
	// containerd's own.
	for _, dir := range []string{"overlay2", "containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if d := priorGraphDriver(root); d != "" {
		t.Errorf("empty overlay2 directory: %q", d)
	}
	if err := os.Mkdir(filepath.Join(root, "overlay2", "l"), 0o700); err != nil {
		t.Fatal(err)
	}
	if d := priorGraphDriver(root); d != "overlay2" {
		t.Errorf("overlay2 with a layer: %q, want overlay2", d)
	}
}

// TestRunOnProfile29LogsTheChoiceInOneLine: the stage on the 29 profile
// chooses containerd's image store and says so, and why, in one line; a
// fallback is a warning with the fix.
func TestRunOnProfile29LogsTheChoiceInOneLine(t *testing.T) {
	p := configtest.Profile(t, "29")
	for _, tc := range []struct {
		name     string
		mountErr error
		want     string
		line     []string
	}{
		{"overlay mounts", nil, "overlayfs", []string{"[INFO]", "storage:", "image_store=containerd", "driver=overlayfs", "why="}},
		{"overlay cannot mount", errInval, "native", []string{"[WARN]", "image_store=containerd", "driver=native", "reason=", "fix="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx := core.WithLog(context.Background(), hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info}))
			f := newFake(t)
			f.MountErr = tc.mountErr
			st := &stage{sys: f, hasFuse: fuse(true)}
			s := &core.State{Profile: p, Config: *storageConfig(filepath.Join(t.TempDir(), "docker"), "overlay2", false)}
			if err := st.Run(ctx, s); err != nil {
				t.Fatal(err)
			}
			if s.StorageDriver != tc.want {
				t.Errorf("StorageDriver = %q, want %q", s.StorageDriver, tc.want)
			}
			out := logs.String()
			if n := strings.Count(out, "\n"); n != 1 {
				t.Errorf("%d lines logged, want one:\n%s", n, out)
			}
			for _, part := range tc.line {
				if !strings.Contains(out, part) {
					t.Errorf("log does not say %q:\n%s", part, out)
				}
			}
		})
	}
}

// TestValidateOnProfile29KnowsTheSnapshotters: -storage overlayfs and native
// are driver names on 29 only.
func TestValidateOnProfile29KnowsTheSnapshotters(t *testing.T) {
	for _, v := range []string{"28.5", "29"} {
		p := configtest.Profile(t, v)
		err := (&stage{}).Validate(storageConfig("", "overlayfs", true), p)
		if (err == nil) != (v == "29") {
			t.Errorf("%s: -storage overlayfs: %v", v, err)
		}
	}
}

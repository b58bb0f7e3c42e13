package mounts

import (
	"context"
	"reflect"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
	"github.com/dinv/dinv/internal/host/hosttest"
)

var nolog = hclog.NewNullLogger()

// mountinfo lines as a Docker container sees them.
const (
	rootShared  = "100 90 0:50 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/l\n"
	rootPrivate = "100 90 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l\n"
	secfs       = "120 100 0:7 / /sys/kernel/security rw - securityfs securityfs rw\n"
)

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
			err := fixMounts(nolog, f)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(f.Calls, c.want) {
				t.Errorf("calls %q, want %q", f.Calls, c.want)
			}
		})
	}
}

func TestForTheRootlessEngineTheMountsStageMountsNothing(t *testing.T) {
	ctx := core.WithLog(context.Background(), nolog)
	f := hosttest.New()
	cfg := configtest.Resolve(t, func(f *config.Flags) { f.TLSVerify = true }, map[string]string{"DINV_ROOTLESS": "1"})
	s := &core.State{Config: cfg}
	if err := (&stage{sys: f}).Run(ctx, s); err != nil {
		t.Fatal(err)
	}
	if len(f.Calls) != 0 {
		t.Errorf("changed %v", f.Calls)
	}
}

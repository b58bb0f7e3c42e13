package privileges

import (
	"context"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

// What runc --version says, with and without the procfs checks.
const (
	runcWithChecks = "runc version 1.3.6+ds1\ncommit: 1.3.6+ds1-1\nspec: 1.2.1\n"
	runcOld        = "runc version 1.1.15+ds1\ncommit: 1.1.15+ds1-2+b4\nspec: 1.0.2-dev\n"
)

func TestPrivilegesStageUnderGVisorWarnsWhenRuncCannotRunAContainer(t *testing.T) {
	for _, c := range []struct {
		name  string
		runc  string
		inode uint64
		warn  bool
	}{
		{"runc 1.3.6 on gVisor's /proc (inode 86)", runcWithChecks, 86, true},
		{"runc 1.1.15 on gVisor's /proc", runcOld, 86, false},
		{"runc 1.3.6 on a /proc of inode 1", runcWithChecks, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Files["/proc/version"] = hosttest.GVisorVersion
			f.Files["/proc/self/status"] = "CapEff:\t00000000a82435fb\n"
			f.Inodes["/proc"] = c.inode
			f.Outputs["runc"] = c.runc
			var l hosttest.Logs
			st := &stage{sys: f}
			s := &core.State{}
			if err := st.Run(core.WithLog(context.Background(), l.Logger()), s); err != nil {
				t.Fatal(err)
			}
			if !s.GVisor {
				t.Error("State.GVisor not set under gVisor's kernel")
			}
			w := l.Warnings()
			if (len(w) == 1) != c.warn || len(w) > 1 {
				t.Errorf("warnings %q", w)
			}
			if c.warn && !strings.Contains(w[0], "runc=1.3.6 proc_root_inode=86") {
				t.Errorf("warning %q", w[0])
			}
		})
	}
}

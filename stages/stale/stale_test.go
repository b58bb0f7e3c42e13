package stale

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

var nolog = hclog.NewNullLogger()

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
			if err := removeStale(nolog, f, "/run/docker.pid", "/run/docker"); err != nil {
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
			err := removeStale(nolog, f, "/run/docker.pid", "/run/docker")
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

// TestTheEnginesSocketDirectoriesAreMade: a unix socket named in a
// directory that is not there yet gets its directory (the engine makes
// none, and would fail to bind); TCP listeners and existing directories are
// left alone.
func TestTheEnginesSocketDirectoriesAreMade(t *testing.T) {
	f := hosttest.New()
	f.Dirs["/var/run"] = true
	listeners := []core.Listener{
		{Proto: "unix", Addr: "/var/run/docker.sock"},
		{Proto: "unix", Addr: "/run/user/docker.sock"},
		{Proto: "tcp", Addr: "0.0.0.0:2375"},
	}
	if err := socketDirs(hclog.NewNullLogger(), f, listeners); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Calls, "|"); got != "mkdir /run/user" {
		t.Errorf("calls %q, want the missing directory made alone", got)
	}
}

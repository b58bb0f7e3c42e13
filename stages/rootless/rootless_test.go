package rootless

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
	"github.com/dinv/dinv/internal/host/hosttest"
)

var nolog = hclog.NewNullLogger()

func rootlessFake() *hosttest.Fake {
	f := hosttest.New()
	f.Dirs[rootlessWrapperDir] = true
	f.Files["/etc/passwd"] = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	f.Files["/etc/group"] = "root:x:0:\n"
	// Debian installs the ID-mapping helpers setuid root.
	f.Modes["/usr/bin/newuidmap"] = os.ModeSetuid | 0o755
	f.Modes["/usr/bin/newgidmap"] = os.ModeSetuid | 0o755
	f.Modes[tunDevice] = os.ModeDevice | os.ModeCharDevice | 0o600
	return f
}

func rootlessConfig(t *testing.T) *core.Config {
	cfg := configtest.Resolve(t, func(f *config.Flags) { f.TLSVerify = true }, map[string]string{"DINV_ROOTLESS": "1"})
	return &cfg
}

func TestPrepareRootless(t *testing.T) {
	f := rootlessFake()
	env, err := prepareRootless(nolog, f, rootlessConfig(t), []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"write /etc/passwd root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" +
			"rootless:x:1000:1000:DinV rootless engine:/home/rootless:/usr/sbin/nologin\n",
		"write /etc/group root:x:0:\nrootless:x:1000:\n",
		"write /etc/subuid rootless:100000:65536\n",
		"write /etc/subgid rootless:100000:65536\n",
		"remove-all /run/user/1000",
		"mkdir /run/user/1000", "chown /run/user/1000 1000:1000", "chmod /run/user/1000 700",
		"mkdir /home/rootless", "chown /home/rootless 1000:1000", "chmod /home/rootless 700",
		"chmod /usr/bin/newuidmap 755", "setxattr /usr/bin/newuidmap security.capability 0100000280000000000000000000000000000000",
		"chmod /usr/bin/newgidmap 755", "setxattr /usr/bin/newgidmap security.capability 0100000240000000000000000000000000000000",
		"chmod /dev/net/tun 666",
		"link /var/run/docker.sock -> /run/user/1000/docker.sock",
		"link /var/run/docker.pid -> /run/user/1000/docker.pid",
	}
	if strings.Join(f.Calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls\n%s\nwant\n%s", strings.Join(f.Calls, "\n"), strings.Join(want, "\n"))
	}
	wantEnv := "TERM=xterm HOME=/home/rootless XDG_RUNTIME_DIR=/run/user/1000 USER=rootless DINV_ROOTLESS_UID=1000 " +
		"DINV_ROOTLESS_GID=1000 DINV_ROOTLESS_PORT=2376 PATH=/usr/local/lib/dinv/rootless:/usr/bin"
	if strings.Join(env, " ") != wantEnv {
		t.Errorf("env\n%s\nwant\n%s", strings.Join(env, " "), wantEnv)
	}

	t.Run("a second start adds no user and leaves the helpers as they are", func(t *testing.T) {
		f.Calls = nil
		for _, p := range []string{"/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"} {
			f.Files[p] = strings.TrimPrefix(want[map[string]int{"/etc/passwd": 0, "/etc/group": 1, "/etc/subuid": 2, "/etc/subgid": 3}[p]], "write "+p+" ")
		}
		if _, err := prepareRootless(nolog, f, rootlessConfig(t), nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Calls {
			if strings.HasPrefix(c, "write ") || strings.Contains(c, "newuidmap") || strings.Contains(c, "newgidmap") {
				t.Errorf("changed again: %s", c)
			}
		}
	})
}

func TestPrepareRootlessWithoutTCPGivesTheWrapperNoPort(t *testing.T) {
	c := configtest.Resolve(t, func(f *config.Flags) { f.Local = true }, map[string]string{"DINV_ROOTLESS": "1"})
	cfg := &c
	env, err := prepareRootless(nolog, rootlessFake(), cfg, []string{"PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(env, " "), "DINV_ROOTLESS_PORT") {
		t.Errorf("env %q", env)
	}
}

func TestPrepareRootlessRefuses(t *testing.T) {
	for _, c := range []struct {
		name    string
		change  func(f *hosttest.Fake)
		wantErr string
	}{
		{"an image without the wrapper", func(f *hosttest.Fake) { delete(f.Dirs, rootlessWrapperDir) },
			"needs a dinv:<version>-rootless image"},
		{"uid 1000 taken by another user", func(f *hosttest.Fake) { f.Files["/etc/passwd"] += "debian:x:1000:1000::/home/debian:/bin/sh\n" },
			`/etc/passwd: the rootless engine's ID 1000 belongs to "debian"`},
		{"the user with another uid", func(f *hosttest.Fake) { f.Files["/etc/passwd"] += "rootless:x:1001:1001::/home/r:/bin/sh\n" },
			`/etc/passwd: "rootless:x:1001:1001::/home/r:/bin/sh" has another ID`},
		{"no newuidmap", func(f *hosttest.Fake) { delete(f.Modes, "/usr/bin/newuidmap") },
			"needs /usr/bin/newuidmap (Debian's uidmap)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := rootlessFake()
			c.change(f)
			_, err := prepareRootless(nolog, f, rootlessConfig(t), nil)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestRootlessStagePreparesTheUserOnlyForTheRootlessEngine(t *testing.T) {
	ctx := core.WithLog(context.Background(), nolog)
	t.Run("rootless: the user prepared, the engine's environment and user set", func(t *testing.T) {
		f := rootlessFake()
		s := &core.State{Config: *rootlessConfig(t), EngineEnv: []string{"PATH=/bin"}}
		if err := (&stage{sys: f}).Run(ctx, s); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(s.EngineEnv, " "), "XDG_RUNTIME_DIR=/run/user/1000") {
			t.Errorf("engine env %q", s.EngineEnv)
		}
		if s.EngineUser == nil || s.EngineUser.UID != 1000 {
			t.Errorf("engine user %+v", s.EngineUser)
		}
	})
	t.Run("rootless: nothing without Config.Rootless", func(t *testing.T) {
		f := rootlessFake()
		s := &core.State{}
		if err := (&stage{sys: f}).Run(ctx, s); err != nil || len(f.Calls) != 0 || s.EngineUser != nil {
			t.Errorf("err %v, changed %v, user %+v", err, f.Calls, s.EngineUser)
		}
	})
}

func TestCapXattrIsWhatSetcapWrites(t *testing.T) {
	// getfattr -n security.capability -e hex after `setcap cap_setuid=ep`:
	// 0x0100000280000000000000000000000000000000
	if got := string(capXattr(7)); got != "\x01\x00\x00\x02\x80\x00\x00\x00"+strings.Repeat("\x00", 12) {
		t.Errorf("%x", got)
	}
}

package args

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
)

// withFile resolves a bare /dinv with the engine arguments args and
// daemon.json holding file.
func withFile(t *testing.T, file string, args ...string) core.Config {
	t.Helper()
	f := config.DefaultFlags()
	f.Given = map[string]bool{}
	cfg, _, err := config.Resolve(context.Background(), config.Inputs{
		Flags: f, Env: func(string) string { return "" }, Engine: args,
		ReadFile: func(context.Context, string) ([]byte, error) { return []byte(file), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

func TestOwnContainerdIsConfiguredAsTheEngineConfiguresItsOwn(t *testing.T) {
	cfg := configtest.Resolve(t, func(f *config.Flags) {
		f.DataRoot, f.ExecRoot = "/data/docker", "/run/x"
	}, map[string]string{"DEBUG": "true"})
	c, ok := ownContainerd(&cfg, profile(t, "26.1"))
	if !ok {
		t.Fatal("26.1: no containerd of dinv's")
	}
	if got, want := strings.Join(c.Args, " "), "containerd --config=/run/x/containerd/containerd.toml --log-level=debug"; got != want {
		t.Errorf("command line\n got %q\nwant %q", got, want)
	}
	if c.Serves != "/run/x/containerd/containerd.sock" {
		t.Errorf("Serves = %q", c.Serves)
	}
	if len(c.Files) != 1 || c.Files[0].Path != "/run/x/containerd/containerd.toml" {
		t.Fatalf("Files = %+v", c.Files)
	}
	want := `# Written by dinv for the engine's containerd, as the engine writes it for its own.
version = 2
root = "/data/docker/containerd/daemon"
state = "/run/x/containerd/daemon"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "/run/x/containerd/containerd.sock"
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[debug]
  address = "/run/x/containerd/containerd-debug.sock"
`
	if got := string(c.Files[0].Data); got != want {
		t.Errorf("containerd.toml\n got %s\nwant %s", got, want)
	}
}

func TestOwnContainerdQuotesPathsAsTOMLStrings(t *testing.T) {
	cfg := configtest.Resolve(t, func(f *config.Flags) { f.DataRoot = `/d"q\b` }, nil)
	c, ok := ownContainerd(&cfg, profile(t, "26.1"))
	if !ok {
		t.Fatal("no containerd")
	}
	if !strings.Contains(string(c.Files[0].Data), `root = "/d\"q\\b/containerd/daemon"`) {
		t.Errorf("root not quoted:\n%s", c.Files[0].Data)
	}
}

// TestOwnContainerdOnlyWhereItHelps: only profiles that ask for it, and
// never when the engine's own containerd is what the user configured or
// the only one that can work.
func TestOwnContainerdOnlyWhereItHelps(t *testing.T) {
	plain := func(t *testing.T) core.Config { return configtest.Resolve(t, nil, nil) }
	args := func(a ...string) func(t *testing.T) core.Config {
		return func(t *testing.T) core.Config { return configtest.Resolve(t, nil, nil, a...) }
	}
	tests := []struct {
		name    string
		profile string
		cfg     func(t *testing.T) core.Config
		want    bool
	}{
		{"26.1", "26.1", plain, true},
		{"20.10: its engine does not wait for the containerd it starts", "20.10", plain, false},
		{"28.5: nor does this one", "28.5", plain, false},
		{"1.12 starts its own docker-containerd", "1.12", plain, false},
		{"the user's --containerd", "26.1", args("--containerd=/run/other.sock"), false},
		{"--cri-containerd: the engine turns CRI on in its containerd", "26.1", args("--cri-containerd"), false},
		{"--log-level: the engine passes it on to its containerd", "26.1", args("-l", "warn"), false},
		{"--log-format: the same", "26.1", args("--log-format=json"), false},
		{"daemon.json's containerd", "26.1", func(t *testing.T) core.Config {
			return withFile(t, `{"containerd": "/run/other.sock"}`)
		}, false},
		{"daemon.json's log-level", "26.1", func(t *testing.T) core.Config {
			return withFile(t, `{"log-level": "error"}`)
		}, false},
		{"another daemon.json key does not matter", "26.1", func(t *testing.T) core.Config {
			return withFile(t, `{"registry-mirrors": ["http://m:5000"]}`)
		}, true},
		{"dinv dockerd ARGS: exactly ARGS", "26.1", func(t *testing.T) core.Config {
			c, err := configtest.TryExact(nil, "-H", "unix:///x.sock")
			if err != nil {
				t.Fatal(err)
			}
			return *c
		}, false},
		{"rootless: the wrapper starts it, in rootlesskit's namespaces", "26.1", func(t *testing.T) core.Config {
			return configtest.Resolve(t, nil, map[string]string{"DINV_ROOTLESS": "1"})
		}, true},
		{"rootless on 28.5: none", "28.5", func(t *testing.T) core.Config {
			return configtest.Resolve(t, nil, map[string]string{"DINV_ROOTLESS": "1"})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg(t)
			_, ok := ownContainerd(&cfg, profile(t, tt.profile))
			if ok != tt.want {
				t.Fatalf("OwnContainerd = %v, want %v", ok, tt.want)
			}
			_, s := build(t, nil, nil, nil, core.State{})
			cmds := buildCommands(&cfg, profile(t, tt.profile), &s)
			engine := strings.Join(cmds[len(cmds)-1].Args, " ")
			n := strings.Count(engine, "--containerd=")
			wrapper := slices.Contains(cmds[len(cmds)-1].Env, rootlessContainerd+"=info")
			switch {
			case cfg.Rootless && (wrapper != tt.want || len(cmds) != 1 || n != 0):
				t.Errorf("rootless: the wrapper told to start containerd: %v, want %v; commands %q", wrapper, tt.want, lines(cmds))
			case cfg.Rootless:
			case wrapper:
				t.Errorf("%s set for an engine that is not rootless", rootlessContainerd)
			case tt.want && (len(cmds) != 2 || cmds[0].Serves == "" || n != 1 ||
				!strings.Contains(engine, "--containerd="+cmds[0].Serves)):
				t.Errorf("dinv's containerd is not the engine's: %q", lines(cmds))
			case !tt.want && tt.profile != "1.12" && (len(cmds) != 1 || strings.Contains(engine, "--containerd=/var/run/docker")):
				t.Errorf("a containerd of dinv's: %q", lines(cmds))
			}
		})
	}
}

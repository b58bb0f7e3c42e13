package args

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
)

func TestSplitEngineArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []EngineFlag
		err  string
	}{
		{"name=value is one word", []string{"--mtu=1400"}, []EngineFlag{{"mtu", "1400", []string{"--mtu=1400"}}}, ""},
		{"a value may be the next word", []string{"--registry-mirror", "http://m"},
			[]EngineFlag{{"registry-mirror", "http://m", []string{"--registry-mirror", "http://m"}}}, ""},
		{"a short flag takes its value too", []string{"-H", "unix:///x.sock"}, []EngineFlag{{"H", "unix:///x.sock", []string{"-H", "unix:///x.sock"}}}, ""},
		{"a boolean never takes the next word", []string{"--debug", "--live-restore"},
			[]EngineFlag{{"debug", "", []string{"--debug"}}, {"live-restore", "", []string{"--live-restore"}}}, ""},
		{"a word that is no flag nor value is refused", []string{"--debug", "sh"}, nil, `unexpected argument "sh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitEngineArgs(tc.args)
			if tc.err != "" {
				if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want a usage error with %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestReadDaemonConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if keys, err := ReadDaemonConfig(filepath.Join(dir, "none.json")); err != nil || keys != nil {
		t.Errorf("a missing file: %v, %v; want nothing", keys, err)
	}
	keys, err := ReadDaemonConfig(write("ok.json", `{"data-root": "/x", "mtu": 1400}`))
	if err != nil || len(keys) != 2 {
		t.Errorf("a valid file: %v, %v", keys, err)
	}
	bad := write("bad.json", "{\n  \"data-root\": \"/x\",\n  \"mtu\": 1400,,\n}\n")
	_, err = ReadDaemonConfig(bad)
	if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), bad+": not valid JSON: line 3:") {
		t.Errorf("a broken file: %v; want a usage error naming the file and line 3", err)
	}
}

func TestApplyEngineSettings(t *testing.T) {
	base := core.Config{DataRoot: "/var/lib/docker", ExecRoot: "/var/run/docker", Pidfile: "/var/run/docker.pid",
		Socket: "/var/run/docker.sock", Storage: "overlay2", SocketActivation: true, Port: 2375}
	for _, tc := range []struct {
		name     string
		extra    []string
		file     string // daemon.json, "" for none
		explicit []string
		mutate   func(c *core.Config)
		want     func(c *core.Config) // on top of base with EngineSet set below
		set      map[string]string
		err      string
	}{
		{name: "nothing given changes nothing", want: func(c *core.Config) {}, set: map[string]string{}},
		{name: "--data-root and --storage-driver become dinv's own, passed once",
			extra: []string{"--data-root=/x", "-s", "vfs", "--mtu=1400"},
			want: func(c *core.Config) {
				c.DataRoot, c.Storage, c.StorageSet = "/x", "vfs", true
				c.ExtraArgs = []string{"--mtu=1400"}
			},
			set: map[string]string{"mtu": "arguments"}},
		{name: "--insecure-registry joins dinv's list",
			extra: []string{"--insecure-registry", "r:5000"},
			want:  func(c *core.Config) { c.InsecureRegistries = []string{"r:5000"}; c.ExtraArgs = []string{} },
			set:   map[string]string{}},
		{name: "--host is the user's: no socket of dinv's, readiness on the user's unix socket",
			extra: []string{"-H", "unix:///run/u.sock", "--host=tcp://0.0.0.0:2375"},
			want: func(c *core.Config) {
				c.SocketActivation, c.Socket = false, "/run/u.sock"
				c.ExtraArgs = []string{"-H", "unix:///run/u.sock", "--host=tcp://0.0.0.0:2375"}
			},
			set: map[string]string{"host": "arguments"}},
		{name: "daemon.json's data-root and storage-driver decide; dinv passes neither",
			file: `{"data-root": "/y", "storage-driver": "vfs", "log-level": "warn"}`,
			want: func(c *core.Config) { c.DataRoot, c.Storage, c.StorageSet = "/y", "vfs", true },
			set:  map[string]string{"data-root": "{file}", "storage-driver": "{file}"}},
		{name: "daemon.json agreeing with an explicit -storage is fine",
			file: `{"storage-driver": "overlay2"}`, explicit: []string{"storage"},
			want: func(c *core.Config) { c.StorageSet = true },
			set:  map[string]string{"storage-driver": "{file}"}},
		{name: "daemon.json contradicting an explicit -storage is refused",
			file: `{"storage-driver": "vfs"}`, explicit: []string{"storage"},
			err: `"storage-driver": contradicts -storage overlay2 on the command line`},
		{name: "hosts in daemon.json with -local is refused",
			file: `{"hosts": ["tcp://0.0.0.0:2375"]}`, mutate: func(c *core.Config) { c.Local = true },
			err: `"hosts": the engine would listen on tcp://0.0.0.0:2375, but -local asks for the unix socket only`},
		{name: "a setting both in the arguments and in daemon.json is refused",
			extra: []string{"--mtu=1400"}, file: `{"mtu": 1450}`,
			err: `"mtu" is also given in the engine's arguments`},
		{name: "an own setting both in the arguments and in daemon.json is refused",
			extra: []string{"--data-root=/x"}, file: `{"data-root": "/y"}`,
			err: `"data-root" is also given in the engine's arguments`},
		{name: "--config-file names the file read",
			extra: []string{"--config-file", "{dir}/other.json"}, file: `{"mtu": 1400}`,
			want: func(c *core.Config) {
				c.DaemonConfig = "{dir}/other.json"
				c.ExtraArgs = []string{"--config-file", "{dir}/other.json"}
			},
			set: map[string]string{"mtu": "{dir}/other.json"}},
		{name: "a wrong type in daemon.json is refused naming the key",
			file: `{"data-root": 3}`, err: `"data-root": want a non-empty string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fill := func(s string) string { return strings.ReplaceAll(s, "{dir}", dir) }
			path := filepath.Join(dir, "daemon.json")
			for i, a := range tc.extra {
				tc.extra[i] = fill(a)
			}
			if tc.file != "" {
				target := path
				for i, a := range tc.extra {
					if a == "--config-file" {
						target = tc.extra[i+1]
					}
				}
				if err := os.WriteFile(target, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := base
			cfg.DaemonConfig = path
			cfg.ExtraArgs = tc.extra
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			explicit := map[string]bool{}
			for _, f := range tc.explicit {
				explicit[f] = true
			}
			var read func(string) (map[string]json.RawMessage, error) = ReadDaemonConfig
			_, err := ApplyEngineSettings(&cfg, explicit, read)
			if tc.err != "" {
				if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want a usage error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base
			want.DaemonConfig = path
			want.ExtraArgs = tc.extra
			if tc.mutate != nil {
				tc.mutate(&want)
			}
			tc.want(&want)
			want.DaemonConfig = fill(want.DaemonConfig)
			for i, a := range want.ExtraArgs {
				want.ExtraArgs[i] = fill(a)
			}
			want.EngineSet = map[string]string{}
			for k, v := range tc.set {
				want.EngineSet[k] = fill(strings.ReplaceAll(v, "{file}", path))
			}
			if len(want.ExtraArgs) == 0 {
				want.ExtraArgs, cfg.ExtraArgs = nil, nil2(cfg.ExtraArgs)
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("config\n got %+v\nwant %+v", cfg, want)
			}
		})
	}
}

func nil2(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestBuildCommandsPassesNoFlagForASettingTheUserGives(t *testing.T) {
	cfg := core.Config{Socket: "/s.sock", DataRoot: "/d", ExecRoot: "/e", Pidfile: "/p", CertDir: "/c", Storage: "vfs",
		Port: 2376, TLS: true, TLSVerify: true, Debug: true, SocketActivation: true,
		ExtraArgs: []string{"-H", "unix:///u.sock", "--mtu=1400", "--tlscert=/mine.crt", "--debug"},
		EngineSet: map[string]string{"host": "arguments", "mtu": "arguments", "tlscert": "arguments", "debug": "arguments", "storage-driver": "/etc/docker/daemon.json"}}
	got := lines(BuildCommands(&cfg, profile(t, "28.5"), &core.State{MTU: 1450}))
	want := "dockerd --tlsverify --tlscacert=/c/ca.crt --tlskey=/c/docker.key --data-root=/d --exec-root=/e --pidfile=/p -H unix:///u.sock --mtu=1400 --tlscert=/mine.crt --debug"
	if got[0] != want {
		t.Errorf("engine command line\n got %q\nwant %q", got[0], want)
	}
}

func TestBuildCommandsPassesTheFlagsAStageAddsUnlessTheUserGivesThem(t *testing.T) {
	cfg := core.Config{Socket: "/s.sock", DataRoot: "/d", ExecRoot: "/e", Pidfile: "/p", Storage: "vfs", Local: true,
		ExtraArgs: []string{"--bridge=mine"}, EngineSet: map[string]string{"bridge": "arguments"}}
	s := core.State{EngineFlags: []string{"--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false"}}
	got := lines(BuildCommands(&cfg, profile(t, "26.1"), &s))
	want := "dockerd --host=unix:///s.sock --data-root=/d --exec-root=/e --pidfile=/p --storage-driver=vfs --iptables=false --ip6tables=false --ip-forward=false --bridge=mine"
	if got[0] != want {
		t.Errorf("engine command line\n got %q\nwant %q", got[0], want)
	}
}

func TestDefaultNetworkOptsOfTheUserKeepDinVsOut(t *testing.T) {
	for _, c := range []struct {
		name  string
		extra []string
		file  map[string]json.RawMessage
		from  string
	}{
		{"in daemon.json (dockerd refuses the flag beside the key)", nil,
			map[string]json.RawMessage{"default-network-opts": json.RawMessage(`{"bridge":{"com.docker.network.driver.mtu":"1400"}}`)},
			DefaultDaemonConfig},
		{"in the engine's arguments", []string{"--default-network-opt", "bridge=com.docker.network.driver.mtu=1400"}, nil, "arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := core.Config{Socket: "/s.sock", DataRoot: "/d", ExecRoot: "/e", Pidfile: "/p", Storage: "vfs", Local: true, ExtraArgs: c.extra}
			if _, err := ApplyEngineSettings(&cfg, nil, func(string) (map[string]json.RawMessage, error) { return c.file, nil }); err != nil {
				t.Fatal(err)
			}
			if got := cfg.EngineSet["default-network-opt"]; got != c.from {
				t.Fatalf("EngineSet[default-network-opt] = %q, want %q", got, c.from)
			}
			s := core.State{EngineFlags: []string{"--iptables=false", "--default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0"}}
			got := lines(BuildCommands(&cfg, profile(t, "28.5"), &s))[0]
			if strings.Contains(got, "advertise_addr_nmsgs") || !strings.Contains(got, "--iptables=false") {
				t.Errorf("engine command line %q", got)
			}
		})
	}
}

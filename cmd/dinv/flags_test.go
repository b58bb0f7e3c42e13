package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/test/harness"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestHelpPrintsTheSeedsUsage(t *testing.T) {
	for _, args := range [][]string{{"/dinv", "-h"}, {"/dinv", "--help"}, {"/dinv", "-help"}, {"/dinv", "-tls", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(args, env(nil), &stdout, &stderr, nil)
			if code != 0 {
				t.Errorf("exit code %d, want 0 (stderr %q)", code, stderr.String())
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "Usage of /dinv:\n") {
				t.Errorf("usage does not start with the program's name:\n%s", out)
			}
			if entry := harness.MissingVICUsage(out); entry != "" {
				t.Fatalf("entry %q missing or out of order in:\n%s", entry, out)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}

func TestHelpNamesTheProgramAsInvoked(t *testing.T) {
	var stdout bytes.Buffer
	run([]string{"./bin/dinv", "-h"}, env(nil), &stdout, &bytes.Buffer{}, nil)
	if !strings.HasPrefix(stdout.String(), "Usage of ./bin/dinv:\n") {
		t.Errorf("usage starts %q", strings.SplitN(stdout.String(), "\n", 2)[0])
	}
}

// view is what a test compares of a resolved configuration: every setting,
// without the sources.
type view struct {
	Hosts                             string // the listeners, comma-separated
	Activate                          bool
	TLS, Certs                        core.TLSMode
	CertDir, CertLayout, KeyType      string
	TLSSANs                           []string
	DataRoot, ExecRoot, Pidfile       string
	Storage                           string
	StorageNamed                      bool
	Registries                        []string
	Debug, EngineDebug, DryRun        bool
	Rootless, Exact                   bool
	ConfigFile, EngineVersion, Daemon string
	Args                              []string
	Swarm                             core.Swarm
}

func viewOf(c *core.Config) view {
	e := &c.Engine
	var hosts []string
	for _, l := range e.Listeners {
		hosts = append(hosts, l.URL())
	}
	v := view{
		Hosts: strings.Join(hosts, ","), Activate: e.Activate, TLS: e.TLS.Value, Certs: c.Certs,
		CertDir: c.CertDir, CertLayout: c.CertLayout, KeyType: c.KeyType, TLSSANs: c.TLSSANs,
		DataRoot: e.DataRoot.Value, ExecRoot: e.ExecRoot.Value, Pidfile: e.Pidfile.Value,
		Storage: e.StorageDriver.Value, StorageNamed: e.StorageDriver.From.Explicit(),
		Registries: e.InsecureRegistries.Value, Debug: c.Debug, EngineDebug: e.Debug.Value, DryRun: c.DryRun,
		Rootless: c.Rootless, Exact: e.Exact, ConfigFile: c.ConfigFile, EngineVersion: c.EngineVersion,
		Daemon: e.ConfigFile, Args: e.Args, Swarm: c.Swarm,
	}
	for _, l := range []*[]string{&v.TLSSANs, &v.Registries, &v.Args} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return v
}

// resolveArgs is dinv's command line and environment resolved as a start
// resolves them, with no daemon.json.
func resolveArgs(args []string, vars map[string]string) (*core.Config, error) {
	o, err := parseFlags("/dinv", args)
	if err != nil {
		return nil, err
	}
	cfg, _, err := config.Resolve(context.Background(), config.Inputs{Flags: o.flags, Env: env(vars), Engine: o.engine, Exact: o.exact,
		ReadFile: func(context.Context, string) ([]byte, error) { return nil, nil }})
	return cfg, err
}

// TestTheCommandLineResolves: dinv's flags, the environment and the
// engine's arguments, as parseFlags splits them and internal/config
// resolves them.
func TestTheCommandLineResolves(t *testing.T) {
	// base is the configuration of a bare /dinv; each row changes it.
	base := view{
		Hosts: "unix:///var/run/docker.sock,tcp://0.0.0.0:2375", Activate: true,
		CertDir: "/certs", KeyType: "ecdsa", DataRoot: "/var/lib/docker", ExecRoot: "/var/run/docker",
		Pidfile: "/var/run/docker.pid", Storage: "overlay2", Daemon: "/etc/docker/daemon.json",
		Swarm: core.Swarm{Role: "worker", Timeout: 2 * time.Minute},
	}
	const tls2376 = "unix:///var/run/docker.sock,tcp://0.0.0.0:2376"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(v *view)
	}{
		{"no flags gives the defaults", nil, nil, func(v *view) {}},
		{"-insecure-registry takes a comma-separated list", []string{"-insecure-registry", "a:5000,b:5000"}, nil,
			func(v *view) { v.Registries = []string{"a:5000", "b:5000"} }},
		{"-insecure-registry may be repeated and keeps the order", []string{"-insecure-registry=a", "-insecure-registry", "b,c"}, nil,
			func(v *view) { v.Registries = []string{"a", "b", "c"} }},
		{"-insecure-registry and the engine's --insecure-registry add up", []string{"-insecure-registry=a", "--insecure-registry", "b"}, nil,
			func(v *view) { v.Registries = []string{"a", "b"} }},
		{"-tls-san takes lists too", []string{"-tls-san", "dinv.local,10.0.0.1", "-tls-san=other"}, nil,
			func(v *view) { v.TLSSANs = []string{"dinv.local", "10.0.0.1", "other"} }},
		{"-tls moves the default port to 2376", []string{"-tls"}, nil,
			func(v *view) { v.TLS, v.Certs, v.Hosts = core.TLSServer, core.TLSServer, tls2376 }},
		{"-tlsverify: port 2376, clients verified", []string{"-tlsverify"}, nil,
			func(v *view) { v.TLS, v.Certs, v.Hosts = core.TLSVerify, core.TLSVerify, tls2376 }},
		{"-port wins over the TLS default", []string{"-tlsverify", "-port", "12376"}, nil,
			func(v *view) {
				v.TLS, v.Certs, v.Hosts = core.TLSVerify, core.TLSVerify, "unix:///var/run/docker.sock,tcp://0.0.0.0:12376"
			}},
		{"-port 65535 is in range", []string{"-port=65535"}, nil,
			func(v *view) { v.Hosts = "unix:///var/run/docker.sock,tcp://0.0.0.0:65535" }},
		{"-storage marks the driver as named", []string{"-storage", "vfs"}, nil,
			func(v *view) { v.Storage, v.StorageNamed = "vfs", true }},
		{"-storage with its default value still counts as named", []string{"-storage=overlay2"}, nil,
			func(v *view) { v.StorageNamed = true }},
		{"the engine's --storage-driver names it too", []string{"--storage-driver=vfs"}, nil, func(v *view) { v.Storage, v.StorageNamed = "vfs", true }},
		{"-local: the unix socket only", []string{"-local"}, nil,
			func(v *view) { v.Hosts, v.Activate = "unix:///var/run/docker.sock", false }},
		{"the placement flags are taken as given", []string{"-certs", "/c", "-data-root", "/d", "-exec-root", "/e", "-pidfile", "/p.pid", "-socket", "/s.sock", "-config", "/x.yaml"}, nil,
			func(v *view) {
				v.CertDir, v.DataRoot, v.ExecRoot, v.Pidfile, v.ConfigFile = "/c", "/d", "/e", "/p.pid", "/x.yaml"
				v.Hosts = "unix:///s.sock,tcp://0.0.0.0:2375"
			}},
		{"-dry-run", []string{"-dry-run"}, nil, func(v *view) { v.DryRun = true }},
		{"-socket-activation=false lets the engine bind the port", []string{"-socket-activation=false"}, nil,
			func(v *view) { v.Activate = false }},
		{"the swarm flags", []string{"-swarm-join", "mgr:2377", "-swarm-role", "manager", "-swarm-advertise", "10.0.0.5", "-swarm-token-file", "/t", "-swarm-timeout", "30s"}, nil,
			func(v *view) {
				v.Swarm = core.Swarm{Join: "mgr:2377", Role: "manager", Advertise: "10.0.0.5", TokenFile: "/t", Timeout: 30 * time.Second}
			}},
		{"DOCKER_TLS_CERTDIR=/certs: mutual TLS on 2376 in docker:dind's layout", nil, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(v *view) { v.TLS, v.Certs, v.Hosts, v.CertLayout = core.TLSVerify, core.TLSVerify, tls2376, "dind" }},
		{"DOCKER_TLS_CERTDIR names the directory", nil, map[string]string{"DOCKER_TLS_CERTDIR": "/dind-certs"},
			func(v *view) {
				v.TLS, v.Certs, v.Hosts, v.CertLayout, v.CertDir = core.TLSVerify, core.TLSVerify, tls2376, "dind", "/dind-certs"
			}},
		{"DOCKER_TLS_CERTDIR empty: plain TCP on 2375, as without it", nil, map[string]string{"DOCKER_TLS_CERTDIR": ""},
			func(v *view) {}},
		{"-local wins over DOCKER_TLS_CERTDIR (a flag over the environment)", []string{"-local"}, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(v *view) { v.Hosts, v.Activate, v.CertLayout = "unix:///var/run/docker.sock", false, "dind" }},
		{"-tls alone wins over DOCKER_TLS_CERTDIR's mutual TLS (a flag over the environment)", []string{"-tls"}, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(v *view) { v.TLS, v.Certs, v.Hosts, v.CertLayout = core.TLSServer, core.TLSServer, tls2376, "dind" }},
		{"DOCKER_TLS_SAN in docker:dind's syntax adds names", nil, map[string]string{"DOCKER_TLS_SAN": "DNS:docker.example IP:10.0.0.5,build"},
			func(v *view) { v.TLSSANs = []string{"docker.example", "10.0.0.5", "build"} }},
		{"DINV_ROOTLESS=1: the rootless engine, which binds its port itself", nil, map[string]string{"DINV_ROOTLESS": "1"},
			func(v *view) { v.Rootless, v.Activate = true, false }},
		{"DINV_SWARM_TOKEN is the join token", []string{"-swarm-init"}, map[string]string{"DINV_SWARM_TOKEN": "SWMTKN-1-x"},
			func(v *view) { v.Swarm.Init, v.Swarm.Token = true, "SWMTKN-1-x" }},
		{"DEBUG=true turns debug on, dinv's and the engine's", nil, map[string]string{"DEBUG": "true"}, func(v *view) { v.Debug, v.EngineDebug = true, true }},
		{"DEBUG=1 turns debug on", nil, map[string]string{"DEBUG": "1"}, func(v *view) { v.Debug, v.EngineDebug = true, true }},
		{"DEBUG=yes turns debug on", nil, map[string]string{"DEBUG": "yes"}, func(v *view) { v.Debug, v.EngineDebug = true, true }},
		{"DEBUG=TRUE turns debug on", nil, map[string]string{"DEBUG": "TRUE"}, func(v *view) { v.Debug, v.EngineDebug = true, true }},
		{"DEBUG=false leaves debug off", nil, map[string]string{"DEBUG": "false"}, func(v *view) {}},
		{"DEBUG=0 leaves debug off", nil, map[string]string{"DEBUG": "0"}, func(v *view) {}},
		{"DINV_ENGINE_VERSION chooses the profile", nil, map[string]string{"DINV_ENGINE_VERSION": "20.10"},
			func(v *view) { v.EngineVersion = "20.10" }},
		{"-engine-version wins over DINV_ENGINE_VERSION", []string{"-engine-version", "28.5"}, map[string]string{"DINV_ENGINE_VERSION": "20.10"},
			func(v *view) { v.EngineVersion = "28.5" }},
		{"arguments after -- are the engine's: a setting dinv models is resolved, the others kept verbatim", []string{"-local", "--", "--mtu=1400", "--registry-mirror", "http://m:5000", "-l", "warn"}, nil,
			func(v *view) {
				v.Hosts, v.Activate = "unix:///var/run/docker.sock", false
				v.Args = []string{"--registry-mirror", "http://m:5000", "-l", "warn"}
			}},
		{"--flags dinv does not know go to the engine with their values, in order, among dinv's", []string{"--registry-mirror", "http://m:5000", "-tlsverify", "--live-restore", "--tls", "--log-level", "warn"}, nil,
			func(v *view) {
				v.TLS, v.Certs, v.Hosts = core.TLSVerify, core.TLSVerify, tls2376
				v.Args = []string{"--registry-mirror", "http://m:5000", "--live-restore", "--log-level", "warn"}
			}},
		{"an engine boolean does not take the next word", []string{"--iptables", "--ipv6", "-local"}, nil,
			func(v *view) {
				v.Hosts, v.Activate = "unix:///var/run/docker.sock", false
				v.Args = []string{"--iptables", "--ipv6"}
			}},
		{"a user's --host adds to dinv's listeners", []string{"--host=tcp://0.0.0.0:2380"}, nil,
			func(v *view) { v.Hosts = "unix:///var/run/docker.sock,tcp://0.0.0.0:2375,tcp://0.0.0.0:2380" }},
		{"a user's unix socket replaces dinv's", []string{"--", "-Hunix:///run/u.sock"}, nil,
			func(v *view) { v.Hosts = "unix:///run/u.sock,tcp://0.0.0.0:2375" }},
		{"the engine's --tlsverify alone is served and reported: mutual TLS on 2376 with dinv's certificates", []string{"--tlsverify"}, nil,
			func(v *view) { v.TLS, v.Certs, v.Hosts = core.TLSVerify, core.TLSVerify, tls2376 }},
		{"dinv dockerd ARGS: exactly ARGS, the engine's own defaults, no listener of dinv's", []string{"dockerd", "-DH", "unix:///var/run/docker.sock", "--mtu", "1400"}, nil,
			func(v *view) {
				v.Exact, v.Activate, v.EngineDebug = true, false, true
				v.Hosts, v.Storage = "unix:///var/run/docker.sock", ""
				v.Args = []string{"-DH", "unix:///var/run/docker.sock", "--mtu", "1400"}
			}},
		{"dinv dockerd with no host: the engine's default socket", []string{"dockerd", "--debug"}, nil,
			func(v *view) {
				v.Exact, v.Activate, v.EngineDebug = true, false, true
				v.Hosts, v.Storage, v.Args = "unix:///var/run/docker.sock", "", []string{"--debug"}
			}},
		{"dinv's own flags may come before dockerd", []string{"-dry-run", "dockerd", "-D"}, nil,
			func(v *view) {
				v.Exact, v.Activate, v.EngineDebug, v.DryRun = true, false, true, true
				v.Hosts, v.Storage, v.Args = "unix:///var/run/docker.sock", "", []string{"-D"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := resolveArgs(tt.args, tt.env)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			want := base
			tt.want(&want)
			if got := viewOf(cfg); !reflect.DeepEqual(got, want) {
				t.Errorf("resolved\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestTheCommandLineRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"an unknown flag", []string{"-tlsverfy"}, nil, "flag provided but not defined: -tlsverfy"},
		{"port 0", []string{"-port", "0"}, nil, "-port 0: out of range 1-65535"},
		{"a negative port", []string{"-port=-1"}, nil, "-port -1: out of range 1-65535"},
		{"port 65536", []string{"-port", "65536"}, nil, "-port 65536: out of range 1-65535"},
		{"a port that is not a number", []string{"-port", "http"}, nil, `invalid value "http" for flag -port`},
		{"a flag missing its value", []string{"-storage"}, nil, "flag needs an argument: -storage"},
		{"a stray word, and the flags after it are not silently passed on", []string{"-tls-san", "a", "b", "-local"}, nil,
			`unexpected argument "b": not a flag, and a command goes first (dinv sh ...)`},
		{"a stray word after an engine flag's value", []string{"--mtu", "1400", "oops"}, nil, `unexpected argument "oops"`},
		{"an engine's one-letter flag among dinv's says where it goes", []string{"-H", "tcp://x"}, nil,
			"-H is the engine's flag, not dinv's: give it after --"},
		{"an empty -socket", []string{"-socket", ""}, nil, "-socket: empty value"},
		{"an empty -certs and -data-root, both named", []string{"-certs=", "-data-root", " "}, nil, "-certs, -data-root: empty value"},
		{"an empty -config", []string{"-config", ""}, nil, "-config: empty value"},
		{"an empty -storage", []string{"-storage="}, nil, "-storage: empty value"},
		{"a bad DOCKER_TLS_SAN is named", nil, map[string]string{"DOCKER_TLS_SAN": "DNS:10.0.0.1"}, "DOCKER_TLS_SAN "},
		{"-local with the engine's TCP host: both named", []string{"-tlsverify", "-local", "--host=tcp://0.0.0.0:2376"}, nil,
			"--host=tcp://0.0.0.0:2376 (engine argument) contradicts -local"},
		{"-local with a short TCP host after --", []string{"-local", "--", "-Htcp://0.0.0.0:2375"}, nil,
			"-Htcp://0.0.0.0:2375 (engine argument) contradicts -local"},
		{"the engine's verify off under DOCKER_TLS_CERTDIR weakens dinv's TLS", []string{"--", "--tlsverify=false"}, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			"--tlsverify=false (engine argument) contradicts DOCKER_TLS_CERTDIR=/certs (environment): one asks for TLS without client certificates, the other for TLS with client certificates"},
		{"the engine's TLS off under -tlsverify", []string{"-tlsverify", "--", "--tls=false"}, nil,
			"--tls=false (engine argument) contradicts -tlsverify (dinv flag): one asks for plain TCP"},
		{"-storage against the engine's --storage-driver", []string{"-storage", "vfs", "--storage-driver=overlay2"}, nil,
			"-storage vfs (dinv flag) contradicts --storage-driver=overlay2 (engine argument)"},
		{"-socket against the engine's unix host", []string{"-socket", "/x.sock", "--", "-H", "unix:///y.sock"}, nil,
			"-socket /x.sock contradicts -H unix:///y.sock (engine argument)"},
		{"-data-root against the engine's -g", []string{"-data-root", "/a", "--", "-g", "/b"}, nil,
			"-data-root /a (dinv flag) contradicts -g /b (engine argument)"},
		{"DEBUG against the engine's --debug=false", []string{"--", "--debug=false"}, map[string]string{"DEBUG": "true"},
			"DEBUG=true (environment) contradicts --debug=false (engine argument)"},
		{"some of the engine's TLS files but not all", []string{"-tlsverify", "--tlscert=/c.pem"}, nil,
			"--tlscert=/c.pem (engine argument) names some of the engine's TLS files but not --tlscacert"},
		{"a TLS file with plain TCP", []string{"--tlscert=/c.pem", "--tlskey=/k.pem"}, nil, "the engine serves no TLS"},
		{"fd:// is dinv's", []string{"--host=fd://"}, nil, "fd:// is how dinv hands its own sockets to the engine"},
		{"dinv dockerd with TCP hosts only: dinv needs a unix socket", []string{"dockerd", "-H", "tcp://0.0.0.0:2375"}, nil,
			"no unix:// socket among the engine's hosts"},
		{"an engine flag that needs a value at the end", []string{"dockerd", "--data-root"}, nil, "engine argument --data-root needs a value"},
		{"an unknown one-letter engine flag", []string{"dockerd", "-Q"}, nil, "engine argument -Q: unknown flag -Q"},
		{"dinv's engine flags have no place before dockerd", []string{"-socket", "/s.sock", "dockerd", "-D"}, nil,
			"-socket contradicts dockerd: dinv dockerd gives the engine exactly its arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveArgs(tt.args, tt.env)
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

func TestTheYAMLFileFillsTheSwarmSettingsTheFlagsDidNotGive(t *testing.T) {
	file := &core.Swarm{Join: "file-mgr:2377", Role: "manager", Timeout: time.Minute, Advertise: "10.9.9.9"}
	o, err := parseFlags("/dinv", []string{"-swarm-join", "flag-mgr", "-swarm-timeout", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	mergeSwarm(&o.flags.Swarm, o.flags.Given, file)
	want := core.Swarm{Join: "flag-mgr", Role: "manager", Timeout: 5 * time.Second, Advertise: "10.9.9.9"}
	if o.flags.Swarm != want {
		t.Errorf("merged %+v, want %+v", o.flags.Swarm, want)
	}
}

func TestAFirstWordThatIsNotAFlagIsACommand(t *testing.T) {
	o, err := parseFlags("/dinv", []string{"sh", "-c", "echo ok"})
	if err != nil || !reflect.DeepEqual(o.command, []string{"sh", "-c", "echo ok"}) {
		t.Errorf("parseFlags = %+v, %v; want the command sh -c 'echo ok'", o, err)
	}
}

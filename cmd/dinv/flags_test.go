package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// seedUsage is the seed's usage block: each entry must appear verbatim and in
// this order (other flags may stand among them).
var seedUsage = []string{
	"  -insecure-registry string\n    \tEnable insecure registry communication\n",
	"  -local\n    \tDo not bind API to external interfaces\n",
	"  -storage string\n    \tStorage driver to use (default \"overlay2\")\n",
	"  -tls\n    \tUse TLS; implied by --tlsverify. Certs are generated automatically if not available\n",
	"  -tlsverify\n    \tUse TLS and verify the remote. Certs are generated automatically if not available\n",
}

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
			at := 0
			for _, entry := range seedUsage {
				i := strings.Index(out[at:], entry)
				if i < 0 {
					t.Fatalf("entry %q missing or out of order in:\n%s", entry, out)
				}
				at += i + len(entry)
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

func TestParseFlags(t *testing.T) {
	// base is the configuration of a bare /dinv; each row changes it.
	base := core.Config{
		Storage: "overlay2", KeyType: "ecdsa", CertDir: "/certs", DataRoot: "/var/lib/docker",
		ExecRoot: "/var/run/docker", Pidfile: "/var/run/docker.pid", Socket: "/var/run/docker.sock",
		Port: 2375, ReadyTimeout: 60e9, SocketActivation: true,
		Swarm: core.Swarm{Role: "worker", Timeout: 2 * time.Minute},
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *core.Config)
	}{
		{"no flags gives the defaults", nil, nil, func(c *core.Config) {}},
		{"-insecure-registry takes a comma-separated list", []string{"-insecure-registry", "a:5000,b:5000"}, nil,
			func(c *core.Config) { c.InsecureRegistries = []string{"a:5000", "b:5000"} }},
		{"-insecure-registry may be repeated and keeps the order", []string{"-insecure-registry=a", "-insecure-registry", "b,c"}, nil,
			func(c *core.Config) { c.InsecureRegistries = []string{"a", "b", "c"} }},
		{"-tls-san takes lists too", []string{"-tls-san", "dinv.local,10.0.0.1", "-tls-san=other"}, nil,
			func(c *core.Config) { c.TLSSANs = []string{"dinv.local", "10.0.0.1", "other"} }},
		{"-tls moves the default port to 2376", []string{"-tls"}, nil,
			func(c *core.Config) { c.TLS, c.Port = true, 2376 }},
		{"-tlsverify implies -tls and port 2376", []string{"-tlsverify"}, nil,
			func(c *core.Config) { c.TLS, c.TLSVerify, c.Port = true, true, 2376 }},
		{"-port wins over the TLS default", []string{"-tlsverify", "-port", "12376"}, nil,
			func(c *core.Config) { c.TLS, c.TLSVerify, c.Port = true, true, 12376 }},
		{"-port 1 and 65535 are in range", []string{"-port=65535"}, nil,
			func(c *core.Config) { c.Port = 65535 }},
		{"-storage marks the driver as named", []string{"-storage", "vfs"}, nil,
			func(c *core.Config) { c.Storage, c.StorageSet = "vfs", true }},
		{"-storage with its default value still counts as named", []string{"-storage=overlay2"}, nil,
			func(c *core.Config) { c.StorageSet = true }},
		{"-local", []string{"-local"}, nil, func(c *core.Config) { c.Local = true }},
		{"the placement flags are taken as given", []string{"-certs", "/c", "-data-root", "/d", "-exec-root", "/e", "-pidfile", "/p.pid", "-socket", "/s.sock", "-config", "/x.yaml"}, nil,
			func(c *core.Config) {
				c.CertDir, c.DataRoot, c.ExecRoot, c.Pidfile, c.Socket, c.ConfigFile = "/c", "/d", "/e", "/p.pid", "/s.sock", "/x.yaml"
			}},
		{"-dry-run", []string{"-dry-run"}, nil, func(c *core.Config) { c.DryRun = true }},
		{"-socket-activation=false lets the engine bind the port", []string{"-socket-activation=false"}, nil,
			func(c *core.Config) { c.SocketActivation = false }},
		{"the swarm flags", []string{"-swarm-join", "mgr:2377", "-swarm-role", "manager", "-swarm-advertise", "10.0.0.5", "-swarm-token-file", "/t", "-swarm-timeout", "30s"}, nil,
			func(c *core.Config) {
				c.Swarm = core.Swarm{Join: "mgr:2377", Role: "manager", Advertise: "10.0.0.5", TokenFile: "/t", Timeout: 30 * time.Second}
			}},
		{"DOCKER_TLS_CERTDIR=/certs: mutual TLS on 2376 in docker:dind's layout", nil, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(c *core.Config) { c.TLS, c.TLSVerify, c.Port, c.CertLayout = true, true, 2376, "dind" }},
		{"DOCKER_TLS_CERTDIR names the directory", nil, map[string]string{"DOCKER_TLS_CERTDIR": "/dind-certs"},
			func(c *core.Config) {
				c.TLS, c.TLSVerify, c.Port, c.CertLayout, c.CertDir = true, true, 2376, "dind", "/dind-certs"
			}},
		{"DOCKER_TLS_CERTDIR empty: plain TCP on 2375, as without it", nil, map[string]string{"DOCKER_TLS_CERTDIR": ""},
			func(c *core.Config) {}},
		{"the seed's -local wins over DOCKER_TLS_CERTDIR", []string{"-local"}, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(c *core.Config) { c.Local, c.CertLayout = true, "dind" }},
		{"the seed's -tls alone wins over DOCKER_TLS_CERTDIR's mutual TLS", []string{"-tls"}, map[string]string{"DOCKER_TLS_CERTDIR": "/certs"},
			func(c *core.Config) { c.TLS, c.Port, c.CertLayout = true, 2376, "dind" }},
		{"DOCKER_TLS_SAN in docker:dind's syntax adds names", nil, map[string]string{"DOCKER_TLS_SAN": "DNS:docker.example IP:10.0.0.5,build"},
			func(c *core.Config) { c.TLSSANs = []string{"docker.example", "10.0.0.5", "build"} }},
		{"DINV_SWARM_TOKEN is the join token", []string{"-swarm-init"}, map[string]string{"DINV_SWARM_TOKEN": "SWMTKN-1-x"},
			func(c *core.Config) { c.Swarm.Init, c.Swarm.Token = true, "SWMTKN-1-x" }},
		{"DEBUG=true turns debug on", nil, map[string]string{"DEBUG": "true"}, func(c *core.Config) { c.Debug = true }},
		{"DEBUG=1 turns debug on", nil, map[string]string{"DEBUG": "1"}, func(c *core.Config) { c.Debug = true }},
		{"DEBUG=yes turns debug on", nil, map[string]string{"DEBUG": "yes"}, func(c *core.Config) { c.Debug = true }},
		{"DEBUG=TRUE turns debug on", nil, map[string]string{"DEBUG": "TRUE"}, func(c *core.Config) { c.Debug = true }},
		{"DEBUG=false leaves debug off", nil, map[string]string{"DEBUG": "false"}, func(c *core.Config) {}},
		{"DEBUG=0 leaves debug off", nil, map[string]string{"DEBUG": "0"}, func(c *core.Config) {}},
		{"DINV_ENGINE_VERSION chooses the profile", nil, map[string]string{"DINV_ENGINE_VERSION": "20.10"},
			func(c *core.Config) { c.EngineVersion = "20.10" }},
		{"-engine-version wins over DINV_ENGINE_VERSION", []string{"-engine-version", "28.5"}, map[string]string{"DINV_ENGINE_VERSION": "20.10"},
			func(c *core.Config) { c.EngineVersion = "28.5" }},
		{"arguments after -- are kept verbatim for the engine", []string{"-local", "--", "--mtu=1400", "--registry-mirror", "http://m:5000", "-tls"}, nil,
			func(c *core.Config) {
				c.Local = true
				c.ExtraArgs = []string{"--mtu=1400", "--registry-mirror", "http://m:5000", "-tls"}
			}},
		{"--flags dinv does not know go to the engine with their values, in order, among dinv's", []string{"--registry-mirror", "http://m:5000", "-tlsverify", "--mtu=1400", "--live-restore", "--tls", "--log-level", "warn"}, nil,
			func(c *core.Config) {
				c.TLS, c.TLSVerify, c.Port = true, true, 2376
				c.ExtraArgs = []string{"--registry-mirror", "http://m:5000", "--mtu=1400", "--live-restore", "--log-level", "warn"}
			}},
		{"an engine boolean does not take the next word", []string{"--debug", "--iptables", "-local"}, nil,
			func(c *core.Config) {
				c.Local = true
				c.ExtraArgs = []string{"--debug", "--iptables"}
			}},
		{"dinv dockerd ARGS: the engine's arguments, with dinv around it", []string{"dockerd", "--debug", "--mtu", "1400"}, nil,
			func(c *core.Config) { c.ExtraArgs = []string{"--debug", "--mtu", "1400"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags("/dinv", tt.args, env(tt.env))
			if err != nil {
				t.Fatalf("parseFlags() error = %v", err)
			}
			want := base
			tt.want(&want)
			if got := emptyAsNil(o.cfg); !reflect.DeepEqual(got, want) {
				t.Errorf("parseFlags()\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// emptyAsNil makes c's empty lists nil, so that a list the flag package
// made empty compares equal to one a test left out.
func emptyAsNil(c core.Config) core.Config {
	for _, l := range []*[]string{&c.InsecureRegistries, &c.TLSSANs, &c.ExtraArgs} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag", []string{"-tlsverfy"}, "flag provided but not defined: -tlsverfy"},
		{"port 0", []string{"-port", "0"}, "-port 0: out of range 1-65535"},
		{"a negative port", []string{"-port=-1"}, "-port -1: out of range 1-65535"},
		{"port 65536", []string{"-port", "65536"}, "-port 65536: out of range 1-65535"},
		{"a port that is not a number", []string{"-port", "http"}, `invalid value "http" for flag -port`},
		{"a flag missing its value", []string{"-storage"}, "flag needs an argument: -storage"},
		{"a stray word, and the flags after it are not silently passed on", []string{"-tls-san", "a", "b", "-local"},
			`unexpected argument "b": not a flag, and a command goes first (dinv sh ...)`},
		{"a stray word after an engine flag's value", []string{"--mtu", "1400", "oops"}, `unexpected argument "oops"`},
		{"an empty -socket", []string{"-socket", ""}, "-socket: empty value"},
		{"an empty -certs and -data-root, both named", []string{"-certs=", "-data-root", " "}, "-certs, -data-root: empty value"},
		{"an empty -config", []string{"-config", ""}, "-config: empty value"},
		{"an empty -storage", []string{"-storage="}, "-storage: empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags("/dinv", tt.args, env(nil))
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseFlags() = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

func TestTheYAMLFileFillsTheSwarmSettingsTheFlagsDidNotGive(t *testing.T) {
	file := &core.Swarm{Join: "file-mgr:2377", Role: "manager", Timeout: time.Minute, Advertise: "10.9.9.9"}
	o, err := parseFlags("/dinv", []string{"-swarm-join", "flag-mgr", "-swarm-timeout", "5s"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	mergeSwarm(&o.cfg.Swarm, o.given, file)
	want := core.Swarm{Join: "flag-mgr", Role: "manager", Timeout: 5 * time.Second, Advertise: "10.9.9.9"}
	if o.cfg.Swarm != want {
		t.Errorf("merged %+v, want %+v", o.cfg.Swarm, want)
	}
}

func TestAFirstWordThatIsNotAFlagIsACommand(t *testing.T) {
	o, err := parseFlags("/dinv", []string{"sh", "-c", "echo ok"}, env(nil))
	if err != nil || !reflect.DeepEqual(o.command, []string{"sh", "-c", "echo ok"}) {
		t.Errorf("parseFlags = %+v, %v; want the command sh -c 'echo ok'", o, err)
	}
}

func TestABadDOCKER_TLS_SANIsAUsageErrorNamingIt(t *testing.T) {
	_, err := parseFlags("/dinv", nil, env(map[string]string{"DOCKER_TLS_SAN": "DNS:10.0.0.1"}))
	if err == nil || !core.IsUsage(err) || !strings.HasPrefix(err.Error(), "DOCKER_TLS_SAN ") {
		t.Errorf("error %v, want a usage error naming DOCKER_TLS_SAN", err)
	}
}

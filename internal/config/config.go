// Package config resolves dinv's configuration: it reads every source once
// (dinv's flags, the environment, the engine's own arguments, its daemon.json
// and the defaults), before any stage runs, into one core.Config whose engine
// settings each say where they came from. One rule holds for every pair of
// sources: two that set one setting to different values are a usage error
// naming both; the environment is only a default for dinv's own flags.
//
//	setting        dinv flag           environment          engine argument          daemon.json
//	listeners      -socket -port       -                    -H/--host                hosts
//	               -local (no TCP)
//	TLS mode       -tls -tlsverify     DOCKER_TLS_CERTDIR   --tls --tlsverify        tls tlsverify
//	TLS files      (-certs: dinv's)    DOCKER_TLS_CERTDIR   --tlscacert ...          tlscacert ...
//	data, run      -data-root          -                    --data-root -g --graph   data-root graph
//	               -exec-root -pidfile                      --exec-root -p --pidfile exec-root pidfile
//	storage        -storage            -                    -s --storage-driver      storage-driver
//	registries     -insecure-registry  -                    --insecure-registry      insecure-registries
//	MTU            (detected)          -                    --mtu                    mtu
//	debug          -                   DEBUG                -D --debug               debug
//
// The user's --host values add to dinv's listeners, as docker:dind's do: a
// unix socket replaces dinv's socket, a TCP address on dinv's port replaces
// dinv's TCP listener. daemon.json's hosts are the engine's only listeners
// (dockerd takes hosts from one place). `dinv dockerd ARGS` (Inputs.Exact)
// gives the engine exactly ARGS: no listener or setting of dinv's.
package config

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/san"
)

// DefaultDaemonConfig is the engine's configuration file unless the user's
// arguments name another (--config-file).
const DefaultDaemonConfig = "/etc/docker/daemon.json"

// Flags are dinv's own flags as cmd/dinv parsed them, with their defaults
// (DefaultFlags); each field's tag names its flag.
type Flags struct {
	InsecureRegistries []string `flag:"insecure-registry"` // one entry each
	Local              bool     `flag:"local"`
	Storage            string   `flag:"storage"`
	TLS                bool     `flag:"tls"`
	TLSVerify          bool     `flag:"tlsverify"`

	ConfigFile       string        `flag:"config"`
	EngineVersion    string        `flag:"engine-version"`
	CertDir          string        `flag:"certs"`
	DataRoot         string        `flag:"data-root"`
	ExecRoot         string        `flag:"exec-root"`
	Pidfile          string        `flag:"pidfile"`
	Socket           string        `flag:"socket"`
	Port             int           `flag:"port"` // 0: 2375, or 2376 with TLS
	TLSSANs          []string      `flag:"tls-san"`
	KeyType          string        `flag:"key-type"`
	ReadyTimeout     time.Duration `flag:"ready-timeout"`
	SocketActivation bool          `flag:"socket-activation"`
	DryRun           bool          `flag:"dry-run"`
	Swarm            core.Swarm    // -swarm-*

	// Given names the flags on the command line (without the dash).
	Given map[string]bool
}

// DefaultFlags are dinv's flags as a bare /dinv has them.
func DefaultFlags() Flags {
	return Flags{
		Storage: "overlay2", CertDir: "/certs", DataRoot: "/var/lib/docker", ExecRoot: "/var/run/docker",
		Pidfile: "/var/run/docker.pid", Socket: defaultSocket, KeyType: "ecdsa", ReadyTimeout: 60 * time.Second,
		SocketActivation: true, Swarm: core.Swarm{Role: "worker", Timeout: 2 * time.Minute},
	}
}

// Inputs are every source of a start.
type Inputs struct {
	Flags Flags
	Env   func(string) string
	// Engine are the arguments for the engine: the --flags dinv does not
	// define, everything after --, or everything after `dinv dockerd`.
	Engine []string
	// Exact is `dinv dockerd ARGS`.
	Exact bool
	// ReadFile reads daemon.json (nil when it does not exist); nil: the
	// file system, safely (readInput).
	ReadFile func(ctx context.Context, path string) ([]byte, error)
}

// LayoutDind names docker:dind's layout of the certificate directory
// (core.Config.CertLayout), which DOCKER_TLS_CERTDIR asks for.
const LayoutDind = "dind"

// Environment variables dinv reads.
const (
	EnvCertDir       = "DOCKER_TLS_CERTDIR"
	EnvSAN           = "DOCKER_TLS_SAN"
	EnvDebug         = "DEBUG"
	EnvEngineVersion = "DINV_ENGINE_VERSION"
	EnvRootless      = "DINV_ROOTLESS"
	EnvSwarmToken    = "DINV_SWARM_TOKEN"
)

// Resolve reads every source into one configuration, or returns a usage
// error (core.UsageError) naming what is wrong and where; warnings are what
// the user asked for that has no effect. ctx ending (a stop signal) ends it
// while it reads a file.
func Resolve(ctx context.Context, in Inputs) (cfg *core.Config, warnings []string, err error) {
	r := &resolver{in: in, f: in.Flags}
	if r.f.Given == nil {
		r.f.Given = map[string]bool{}
	}
	if err := r.dinv(); err != nil {
		return nil, nil, err
	}
	if err := r.user(ctx); err != nil {
		return nil, nil, err
	}
	if err := r.engine(); err != nil {
		return nil, nil, err
	}
	return &r.cfg, r.warnings, nil
}

type resolver struct {
	in  Inputs
	f   Flags
	cfg core.Config

	dinvTLS  *core.Setting[core.TLSMode] // dinv's TLS choice: a flag or DOCKER_TLS_CERTDIR
	args     userSettings
	file     userSettings
	filePath string
	warnings []string
}

func (r *resolver) env(name string) string {
	if r.in.Env == nil {
		return ""
	}
	return r.in.Env(name)
}

// flag is the source of dinv's flag name, with its value when it has one;
// dinv's default when the flag was not given.
func (r *resolver) flag(name string, value ...string) core.Source {
	if !r.f.Given[name] {
		return core.Source{Kind: core.FromDefault}
	}
	return core.Source{Kind: core.FromFlag, Name: strings.Join(append([]string{"-" + name}, value...), " ")}
}

// dinv resolves dinv's own settings: flags, then the environment.
func (r *resolver) dinv() error {
	f, c := &r.f, &r.cfg
	c.ConfigFile, c.DryRun, c.ReadyTimeout = f.ConfigFile, f.DryRun, f.ReadyTimeout
	c.EngineVersion = f.EngineVersion
	if c.EngineVersion == "" {
		c.EngineVersion = r.env(EnvEngineVersion)
	}
	c.Debug = isTrue(r.env(EnvDebug))
	c.Rootless = isTrue(r.env(EnvRootless))
	c.Swarm = f.Swarm
	c.Swarm.Token = core.Secret(r.env(EnvSwarmToken))
	c.CertDir, c.KeyType = f.CertDir, f.KeyType
	c.TLSSANs = append([]string(nil), f.TLSSANs...)
	if v := r.env(EnvSAN); v != "" {
		hosts, err := san.ParseList(v)
		if err != nil {
			return core.Usagef("%s %v", EnvSAN, err)
		}
		c.TLSSANs = append(c.TLSSANs, hosts...)
	}
	if f.Given["port"] && (f.Port < 1 || f.Port > 65535) {
		return core.Usagef("-port %d: out of range 1-65535", f.Port)
	}
	// dinv's TLS choice: its flags, else docker:dind's DOCKER_TLS_CERTDIR
	// (mutual TLS with docker:dind's layout, unless -local asks for no TCP).
	dir := r.env(EnvCertDir)
	if dir != "" {
		c.CertLayout = LayoutDind
		if !f.Given["certs"] {
			c.CertDir = dir
		}
	}
	switch {
	case f.TLSVerify:
		r.dinvTLS = &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: r.flag("tlsverify")}
	case f.TLS:
		r.dinvTLS = &core.Setting[core.TLSMode]{Value: core.TLSServer, From: r.flag("tls")}
	case dir != "" && !f.Local:
		r.dinvTLS = &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: core.Source{Kind: core.FromEnv, Name: EnvCertDir + "=" + dir}}
	}
	return nil
}

// engineFlags are dinv's flags that set the engine's settings: with `dinv
// dockerd ARGS`, ARGS set them.
var engineFlags = []string{"insecure-registry", "local", "storage", "tls", "tlsverify", "data-root",
	"exec-root", "pidfile", "socket", "port", "socket-activation"}

// user reads the engine's arguments and its daemon.json.
func (r *resolver) user(ctx context.Context) error {
	args, given, rest, err := fromArgs(r.in.Engine)
	if err != nil {
		return err
	}
	r.args = args
	r.filePath = DefaultDaemonConfig
	if g := args["config-file"]; g != nil {
		r.filePath = g.last()
	}
	read := r.in.ReadFile
	if read == nil {
		read = readInput
	}
	data, err := read(ctx, r.filePath)
	if err != nil {
		return err
	}
	file, inFile, err := fromFile(r.filePath, data)
	if err != nil {
		return err
	}
	r.file = file
	// dockerd refuses a setting given both as a flag and in its file.
	for name, src := range inFile {
		if a, both := given[name]; both {
			return core.Usagef("%s contradicts %s: the engine takes a setting from one place", a, src)
		}
		given[name] = src
	}
	delete(given, "config-file")
	e := &r.cfg.Engine
	e.Exact, e.ConfigFile, e.Given = r.in.Exact, r.filePath, given
	if r.in.Exact {
		for _, name := range engineFlags {
			if r.f.Given[name] {
				return core.Usagef("-%s contradicts dockerd: dinv dockerd gives the engine exactly its arguments; give the setting among them", name)
			}
		}
		e.Args = append([]string(nil), r.in.Engine...)
	} else {
		e.Args = rest
		if g := args["config-file"]; g != nil {
			e.Args = append(e.Args, "--config-file="+g.last())
		}
	}
	return nil
}

// userValue is what the user's arguments, else daemon.json, say of a
// setting; nil when neither does.
func (r *resolver) userValue(name string) *given {
	if g := r.args[name]; g != nil {
		return g
	}
	return r.file[name]
}

// engine resolves the engine's settings.
func (r *resolver) engine() error {
	e := &r.cfg.Engine
	exact := e.Exact
	def := core.Source{Kind: core.FromDefault}
	if exact {
		def = core.Source{Kind: core.FromEngine}
	}
	var err error
	str := func(name, flagName, flagValue, deflt string) core.Setting[string] {
		if err != nil {
			return core.Setting[string]{}
		}
		var s core.Setting[string]
		s, err = r.pickString(name, flagName, flagValue, core.Setting[string]{Value: deflt, From: def})
		return s
	}
	if exact {
		// The engine's own defaults; dinv's flags do not apply.
		e.DataRoot = str("data-root", "", "", "/var/lib/docker")
		e.ExecRoot = str("exec-root", "", "", "/var/run/docker")
		e.Pidfile = str("pidfile", "", "", "/var/run/docker.pid")
		e.StorageDriver = str("storage-driver", "", "", "")
	} else {
		e.DataRoot = str("data-root", "data-root", r.f.DataRoot, "/var/lib/docker")
		e.ExecRoot = str("exec-root", "exec-root", r.f.ExecRoot, "/var/run/docker")
		e.Pidfile = str("pidfile", "pidfile", r.f.Pidfile, "/var/run/docker.pid")
		e.StorageDriver = str("storage-driver", "storage", r.f.Storage, "overlay2")
	}
	if err != nil {
		return err
	}
	if err := r.registries(); err != nil {
		return err
	}
	if err := r.mtu(); err != nil {
		return err
	}
	if err := r.debug(); err != nil {
		return err
	}
	if err := r.observedSettings(); err != nil {
		return err
	}
	if err := r.tls(); err != nil {
		return err
	}
	if err := r.listeners(); err != nil {
		return err
	}
	return r.tlsFiles()
}

// pickString resolves a string setting: the user's engine argument or file
// value, and dinv's flag when given, must agree.
func (r *resolver) pickString(name, flagName, flagValue string, deflt core.Setting[string]) (core.Setting[string], error) {
	s := deflt
	if flagName != "" {
		s.Value = flagValue
		if r.f.Given[flagName] {
			s.From = r.flag(flagName, flagValue)
		}
	}
	if g := r.userValue(name); g != nil {
		v := g.last()
		if strings.TrimSpace(v) == "" {
			return s, core.Usagef("%s: empty value", g.from)
		}
		if s.From.Explicit() && s.Value != v {
			return s, core.Usagef("%s contradicts %s: give the %s once", s.From, g.from, name)
		}
		s = core.Setting[string]{Value: v, From: g.from}
	}
	return s, nil
}

func (r *resolver) registries() error {
	e := &r.cfg.Engine
	s := core.Setting[[]string]{From: core.Source{Kind: core.FromDefault}}
	if len(r.f.InsecureRegistries) > 0 {
		s = core.Setting[[]string]{Value: append([]string(nil), r.f.InsecureRegistries...), From: r.flag("insecure-registry", strings.Join(r.f.InsecureRegistries, ","))}
	}
	if g := r.args["insecure-registry"]; g != nil {
		// Lists add up: each becomes its own flag.
		s.Value = append(s.Value, g.values...)
		if !s.From.Explicit() {
			s.From = g.from
		}
	}
	if g := r.file["insecure-registry"]; g != nil {
		if s.From.Explicit() {
			return core.Usagef("%s contradicts %s: list the insecure registries in one place", s.From, g.from)
		}
		s = core.Setting[[]string]{Value: g.values, From: g.from}
	}
	e.InsecureRegistries = s
	return nil
}

func (r *resolver) mtu() error {
	g := r.userValue("mtu")
	if g == nil {
		return nil
	}
	n, err := strconv.Atoi(g.last())
	if err != nil || n < 0 {
		return core.Usagef("%s: the MTU is not a number", g.from)
	}
	r.cfg.Engine.MTU = core.Setting[int]{Value: n, From: g.from}
	return nil
}

func (r *resolver) debug() error {
	e := &r.cfg.Engine
	if !e.Exact && r.cfg.Debug {
		e.Debug = core.Setting[bool]{Value: true, From: core.Source{Kind: core.FromEnv, Name: EnvDebug + "=" + r.env(EnvDebug)}}
	}
	g := r.userValue("debug")
	if g == nil {
		return nil
	}
	on, err := parseBool(g.last())
	if err != nil {
		return core.Usagef("%s: %v", g.from, err)
	}
	if e.Debug.From.Explicit() && !on {
		return core.Usagef("%s contradicts %s: the engine's debug mode is set twice", e.Debug.From, g.from)
	}
	e.Debug = core.Setting[bool]{Value: on, From: g.from}
	return nil
}

// observedSettings reads the settings dinv decides by but passes on: the
// engine's features, its firewall backend, whether it makes iptables rules.
func (r *resolver) observedSettings() error {
	e := &r.cfg.Engine
	e.Features = map[string]core.Setting[bool]{}
	if g := r.userValue("feature"); g != nil {
		for _, v := range g.values {
			name, val, hasVal := strings.Cut(v, "=")
			on := true
			if hasVal {
				b, err := parseBool(val)
				if err != nil {
					return core.Usagef("%s: feature %s: %v", g.from, name, err)
				}
				on = b
			}
			e.Features[name] = core.Setting[bool]{Value: on, From: g.from}
		}
	}
	if g := r.userValue("firewall-backend"); g != nil {
		e.FirewallBackend = core.Setting[string]{Value: g.last(), From: g.from}
	}
	e.IPTables = core.Setting[bool]{Value: true, From: core.Source{Kind: core.FromEngine}}
	if g := r.userValue("iptables"); g != nil {
		on, err := parseBool(g.last())
		if err != nil {
			return core.Usagef("%s: %v", g.from, err)
		}
		e.IPTables = core.Setting[bool]{Value: on, From: g.from}
	}
	return nil
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	}
	return false
}

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
	"fmt"
	"net"
	"sort"
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

// userTLS is the TLS mode the user's engine settings make, as dockerd reads
// them: --tlsverify given at all turns TLS on (verifying clients or not);
// else --tls alone means verifying clients too (dockerd sets TLSVerify from
// TLS when --tlsverify is not given). nil when the user gives neither.
func (r *resolver) userTLS() (*core.Setting[core.TLSMode], error) {
	tls, verify := r.userValue("tls"), r.userValue("tlsverify")
	switch {
	case verify != nil:
		on, err := parseBool(verify.last())
		if err != nil {
			return nil, core.Usagef("%s: %v", verify.from, err)
		}
		if tls != nil {
			if t, err := parseBool(tls.last()); err != nil || !t {
				return nil, core.Usagef("%s contradicts %s: --tlsverify turns TLS on", tls.from, verify.from)
			}
		}
		if on {
			return &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: verify.from}, nil
		}
		return &core.Setting[core.TLSMode]{Value: core.TLSServer, From: verify.from}, nil
	case tls != nil:
		on, err := parseBool(tls.last())
		if err != nil {
			return nil, core.Usagef("%s: %v", tls.from, err)
		}
		if on {
			return &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: tls.from}, nil
		}
		return &core.Setting[core.TLSMode]{Value: core.TLSOff, From: tls.from}, nil
	}
	return nil, nil
}

// tls resolves the TLS mode: dinv's choice and the user's engine settings
// must agree (an engine setting that weakens dinv's TLS is refused, as is
// one that asks for more); either alone is the mode served.
func (r *resolver) tls() error {
	e := &r.cfg.Engine
	user, err := r.userTLS()
	if err != nil {
		return err
	}
	if e.Exact {
		e.TLS = core.Setting[core.TLSMode]{From: core.Source{Kind: core.FromEngine}}
		if user != nil {
			e.TLS = *user
		}
		if r.env(EnvCertDir) != "" {
			r.cfg.Certs = core.TLSVerify // made as docker:dind makes them, for ARGS to name
		}
		return nil
	}
	if r.f.Local {
		if user != nil && user.Value != core.TLSOff {
			return core.Usagef("%s contradicts -local: -local serves no TCP listener, so TLS has nothing to secure", user.From)
		}
		e.TLS = core.Setting[core.TLSMode]{From: r.flag("local")}
		if r.dinvTLS != nil {
			r.warnings = append(r.warnings, fmt.Sprintf("%s has no effect with -local: no TCP listener, no certificates", r.dinvTLS.From))
		}
		return nil
	}
	switch {
	case r.dinvTLS != nil && user != nil && user.Value != r.dinvTLS.Value:
		return core.Usagef("%s contradicts %s: one asks for %s, the other for %s; give one",
			user.From, r.dinvTLS.From, describe(user.Value), describe(r.dinvTLS.Value))
	case r.dinvTLS != nil && user != nil && user.From.InFile():
		e.TLS = *user // the same mode, which daemon.json gives the engine
	case r.dinvTLS != nil:
		e.TLS = *r.dinvTLS
	case user != nil:
		e.TLS = *user
	default:
		e.TLS = core.Setting[core.TLSMode]{From: core.Source{Kind: core.FromDefault}}
	}
	return nil
}

// listeners resolves where the engine listens.
func (r *resolver) listeners() error {
	e := &r.cfg.Engine
	tlsOn := e.TLS.Value != core.TLSOff
	var user []core.Listener
	var fromFile bool
	if g := r.userValue("host"); g != nil {
		fromFile = g.from.InFile()
		for _, v := range g.values {
			l, err := ParseHost(v, tlsOn)
			if err != nil {
				return core.Usagef("%s: %v", g.from, err)
			}
			if l.Proto == "fd" {
				return core.Usagef("%s: fd:// is how dinv hands its own sockets to the engine (-socket-activation)", g.from)
			}
			l.From = g.from
			user = appendListener(user, l)
		}
	}
	switch {
	case e.Exact && len(user) == 0:
		// dockerd listens on its default socket when no host is given.
		e.Listeners = []core.Listener{{Proto: "unix", Addr: defaultSocket, From: core.Source{Kind: core.FromEngine}}}
	case e.Exact || fromFile:
		if fromFile && r.f.Given["port"] {
			return core.Usagef("-port contradicts %s: the engine listens where the file says", user[0].From)
		}
		e.Listeners = user
	default:
		e.Listeners = r.dinvListeners(user)
	}
	if r.f.Local {
		for _, l := range e.Listeners {
			if l.Proto == "tcp" {
				return core.Usagef("%s contradicts -local: -local serves no TCP listener", l.From)
			}
		}
	}
	sock := e.Socket()
	if sock == "" {
		return core.Usagef("%s: no unix:// socket among the engine's hosts: dinv waits for the engine, and the health check asks it, on one (add unix://%s)",
			e.Listeners[0].From, defaultSocket)
	}
	if r.f.Given["socket"] && sock != r.f.Socket {
		return core.Usagef("-socket %s contradicts %s: name the engine's unix socket once", r.f.Socket, firstUnix(e.Listeners).From)
	}
	e.Activate = r.f.SocketActivation && !e.Exact && !fromFile && !r.cfg.Rootless && len(e.TCP()) > 0
	return nil
}

// dinvListeners are dinv's unix socket and TCP listener, with the user's
// hosts added: a user's unix socket replaces dinv's, a user's TCP address on
// dinv's port replaces dinv's.
func (r *resolver) dinvListeners(user []core.Listener) []core.Listener {
	e := &r.cfg.Engine
	var out []core.Listener
	hasUnix := false
	for _, l := range user {
		hasUnix = hasUnix || l.Proto == "unix"
	}
	if !hasUnix {
		from := r.flag("socket", r.f.Socket)
		out = append(out, core.Listener{Proto: "unix", Addr: r.f.Socket, From: from})
	}
	if !r.f.Local {
		port := r.f.Port
		from := r.flag("port", strconv.Itoa(port))
		if port == 0 {
			port = defaultPort
			if e.TLS.Value != core.TLSOff {
				port = defaultTLSPort
			}
		}
		own := core.Listener{Proto: "tcp", Addr: net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), From: from}
		replaced := false
		for _, l := range user {
			if l.Proto == "tcp" && samePort(l.Addr, port) {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, own)
		}
	}
	for _, l := range user {
		out = appendListener(out, l)
	}
	// dinv's unix socket first: the order says which one dinv uses.
	return unixFirst(out)
}

// tlsFiles resolves the TLS files: the user's, all of those the mode needs,
// or none (the pki stage's).
func (r *resolver) tlsFiles() error {
	e := &r.cfg.Engine
	get := func(name string) core.Setting[string] {
		if g := r.userValue(name); g != nil {
			return core.Setting[string]{Value: g.last(), From: g.from}
		}
		return core.Setting[string]{}
	}
	e.TLSCACert, e.TLSCert, e.TLSKey = get("tlscacert"), get("tlscert"), get("tlskey")
	if e.Exact {
		return nil // the engine's own defaults for what ARGS do not name
	}
	var named []core.Setting[string]
	for _, s := range []core.Setting[string]{e.TLSCACert, e.TLSCert, e.TLSKey} {
		if s.From.Explicit() {
			named = append(named, s)
		}
	}
	mode := e.TLS.Value
	if len(e.TCP()) == 0 {
		mode = core.TLSOff
	}
	if len(named) == 0 {
		r.cfg.Certs = mode
		return nil
	}
	if mode == core.TLSOff {
		return core.Usagef("%s: the engine serves no TLS (add -tlsverify, or leave the file out)", named[0].From)
	}
	need := map[string]core.Setting[string]{"--tlscert": e.TLSCert, "--tlskey": e.TLSKey}
	if mode == core.TLSVerify {
		need["--tlscacert"] = e.TLSCACert
	}
	for _, flag := range []string{"--tlscacert", "--tlscert", "--tlskey"} {
		if s, ok := need[flag]; ok && !s.From.Explicit() {
			return core.Usagef("%s names some of the engine's TLS files but not %s: give all of them, or none (dinv makes them)", named[0].From, flag)
		}
	}
	r.cfg.Certs = core.TLSOff // the user's files: dinv makes none
	return nil
}

// describe says what a TLS mode serves, for a message.
func describe(m core.TLSMode) string {
	switch m {
	case core.TLSServer:
		return "TLS without client certificates"
	case core.TLSVerify:
		return "TLS with client certificates"
	}
	return "plain TCP"
}

// appendListener adds l unless the list has that address already (dockerd
// drops duplicates).
func appendListener(list []core.Listener, l core.Listener) []core.Listener {
	for _, have := range list {
		if have.Proto == l.Proto && have.Addr == l.Addr {
			return list
		}
	}
	return append(list, l)
}

// unixFirst moves the first unix socket to the front, keeping the order otherwise.
func unixFirst(list []core.Listener) []core.Listener {
	for i, l := range list {
		if l.Proto == "unix" {
			out := append([]core.Listener{l}, list[:i]...)
			return append(out, list[i+1:]...)
		}
	}
	return list
}

func firstUnix(list []core.Listener) core.Listener {
	for _, l := range list {
		if l.Proto == "unix" {
			return l
		}
	}
	return core.Listener{}
}

func samePort(addr string, port int) bool {
	_, p, err := net.SplitHostPort(addr)
	return err == nil && p == strconv.Itoa(port)
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// Describe is the resolved configuration as key/value pairs for a log line:
// what the engine serves and every setting the user gave, with its source.
func Describe(c *core.Config) []interface{} {
	e := &c.Engine
	var hosts []string
	for _, l := range e.Listeners {
		hosts = append(hosts, l.URL())
	}
	kv := []interface{}{"hosts", strings.Join(hosts, ","), "tls", e.TLS.Value.String(), "tls_from", e.TLS.From.String()}
	if e.Exact {
		kv = append(kv, "mode", "dockerd ARGS: the engine gets exactly them")
	}
	return kv
}

// GivenSetting is an engine setting the user gave, and where.
type GivenSetting struct {
	Name string // dockerd's long flag name
	From core.Source
}

// Given lists the engine settings the user gave, by name.
func Given(c *core.Config) []GivenSetting {
	out := make([]GivenSetting, 0, len(c.Engine.Given))
	for name, src := range c.Engine.Given {
		out = append(out, GivenSetting{name, src})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// scrubbed are variables dinv reads once and no process it starts may
// inherit: the swarm join token, socket activation's (the launcher sets its
// own), and the docker client's TLS variables, which CI platforms pass to
// services too and which would change the engine's TLS defaults.
var scrubbed = []string{EnvSwarmToken, "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}

// Scrub removes them with unset (os.Unsetenv).
func Scrub(unset func(string) error) {
	for _, v := range scrubbed {
		unset(v)
	}
}

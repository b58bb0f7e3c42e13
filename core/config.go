package core

import (
	"fmt"
	"time"
)

// Config is dinv's resolved configuration: every source (dinv's flags, the
// environment, the engine's own arguments, its daemon.json and the defaults)
// read once by internal/config before any stage runs, contradictions refused
// there. Everything a user sees is derived from it: the engine's command
// line, the sockets dinv binds, the ready line, client.json, the health
// check, the swarm stage's socket, -client-bundle and what -dry-run prints.
// Stages only read it; nothing reads a source again.
type Config struct {
	ConfigFile    string        // -config: the YAML stage list, "" when none
	EngineVersion string        // -engine-version, DINV_ENGINE_VERSION or the YAML engine:, "" to detect
	DryRun        bool          // -dry-run: write nothing, skip DryRunSkippers, print the command line
	Debug         bool          // DEBUG=true: dinv's debug logs (the engine's debug mode is Engine.Debug)
	ReadyTimeout  time.Duration // -ready-timeout
	Swarm         Swarm         // -swarm-* flags and the YAML file's swarm: keys

	// DINV_ROOTLESS=1 (the dinv:<version>-rootless images): the engine runs
	// as an unprivileged user in a user namespace (rootlesskit), and binds
	// its API port itself (no socket activation through rootlesskit).
	Rootless bool

	// The certificates dinv keeps or makes in CertDir, for Certs: TLSOff
	// when it manages none (no TLS, or TLS files the user names).
	Certs   TLSMode
	CertDir string // -certs, or DOCKER_TLS_CERTDIR
	// CertLayout is how CertDir holds the certificates: "" or "flat", the
	// six names ca.crt, docker.crt, ...; "dind", docker:dind's
	// ca/{cert,key}.pem, server/{ca,cert,key}.pem, client/{ca,cert,key}.pem
	// (set with DOCKER_TLS_CERTDIR).
	CertLayout string
	KeyType    string   // -key-type: ecdsa (default), rsa or rsa3072
	TLSSANs    []string // -tls-san and DOCKER_TLS_SAN: extra names and IPs for the server certificate

	Engine EngineConfig // what the engine serves and where it keeps its files
}

// EngineConfig is the engine's configuration as the engine will see it, each
// setting with the source it came from. In the default mode dinv passes
// every setting as its own flag, except those daemon.json sets (dockerd
// refuses a setting given both ways); with Exact the engine gets the user's
// arguments as they are, and the settings here are what they mean.
type EngineConfig struct {
	// Exact is `dinv dockerd ARGS`: the engine gets exactly ARGS (Args),
	// and no listener or setting of dinv's.
	Exact bool

	// Listeners, in the order the engine gets them. There is always one unix
	// socket (Socket): dinv waits for the engine on it, the health check and
	// the swarm stage use it.
	Listeners []Listener
	// Activate: dinv binds every TCP listener before any stage and hands
	// them to the engine (--host=fd://), socket activation.
	Activate bool

	TLS Setting[TLSMode] // on every TCP listener
	// The user's TLS files (an engine argument or daemon.json); empty: the
	// pki stage's (State.TLSFiles).
	TLSCACert, TLSCert, TLSKey Setting[string]

	DataRoot           Setting[string]
	ExecRoot           Setting[string]
	Pidfile            Setting[string]
	StorageDriver      Setting[string] // "" in Exact mode when nobody names one: the engine chooses
	InsecureRegistries Setting[[]string]
	MTU                Setting[int]  // 0: the network stage's (State.MTU)
	Debug              Setting[bool] // the engine's debug mode

	// Settings dinv passes no flag for but decides by (they stay among
	// Args, or in daemon.json): the engine's feature flags (--feature
	// NAME[=BOOL], daemon.json "features"), its firewall backend and
	// whether it makes iptables rules (true unless the user says false).
	Features        map[string]Setting[bool]
	FirewallBackend Setting[string] // "" when the user names none: the engine's default (iptables)
	IPTables        Setting[bool]

	// ConfigFile is the daemon.json the engine reads (--config-file, or
	// /etc/docker/daemon.json); Given has every engine setting the user gave
	// in arguments or that file, by dockerd's long flag name: dinv adds no
	// flag of its own for one of them (State.EngineFlags included).
	ConfigFile string
	Given      map[string]Source

	// Args are the user's engine arguments dinv does not model, verbatim and
	// in order (all of them with Exact).
	Args []string
}

// Setting is one configuration value and where it came from.
type Setting[T any] struct {
	Value T
	From  Source
}

// SourceKind says which kind of input a setting came from.
type SourceKind int

const (
	FromDefault SourceKind = iota // dinv's default
	FromFlag                      // one of dinv's flags
	FromEnv                       // an environment variable
	FromArg                       // an argument for the engine
	FromFile                      // the engine's daemon.json
	FromEngine                    // dinv dockerd: what the engine does by itself
)

// Source is where a setting came from: its kind, and the flag, variable,
// argument or file key that set it.
type Source struct {
	Kind SourceKind
	Name string // "-storage", "DOCKER_TLS_CERTDIR", "--storage-driver=vfs", "/etc/docker/daemon.json: storage-driver"
}

// Explicit reports whether the user set the setting (any source but the defaults).
func (s Source) Explicit() bool { return s.Kind != FromDefault && s.Kind != FromEngine }

// InFile reports whether the engine reads the setting from its daemon.json.
func (s Source) InFile() bool { return s.Kind == FromFile }

func (s Source) String() string {
	switch s.Kind {
	case FromDefault:
		return "dinv's default"
	case FromEngine:
		return "the engine's default"
	case FromFlag:
		return s.Name + " (dinv flag)"
	case FromEnv:
		return s.Name + " (environment)"
	case FromArg:
		return s.Name + " (engine argument)"
	case FromFile:
		return s.Name
	}
	return fmt.Sprintf("source %d %s", s.Kind, s.Name)
}

// TLSMode is how the engine's TCP listeners are served.
type TLSMode int

const (
	TLSOff    TLSMode = iota // plain TCP
	TLSServer                // TLS, any client (-tls)
	TLSVerify                // TLS, clients need a certificate signed by the CA (-tlsverify)
)

func (m TLSMode) String() string {
	switch m {
	case TLSServer:
		return "tls"
	case TLSVerify:
		return "tlsverify"
	}
	return "off"
}

// Listener is one address the engine serves its API on.
type Listener struct {
	Proto string // "unix" or "tcp"
	Addr  string // a socket path, or host:port as the engine binds it
	From  Source
}

// URL is the listener as --host spells it.
func (l Listener) URL() string { return l.Proto + "://" + l.Addr }

// Socket is the engine's unix socket, the one dinv and the image's CLI use.
func (e *EngineConfig) Socket() string {
	for _, l := range e.Listeners {
		if l.Proto == "unix" {
			return l.Addr
		}
	}
	return ""
}

// TCP lists the engine's TCP listeners.
func (e *EngineConfig) TCP() []Listener {
	var tcp []Listener
	for _, l := range e.Listeners {
		if l.Proto == "tcp" {
			tcp = append(tcp, l)
		}
	}
	return tcp
}

// ServesTCP reports whether the engine listens on TCP (not with -local).
func (c *Config) ServesTCP() bool { return len(c.Engine.TCP()) > 0 }

// UsesTLS reports whether the TCP listeners are served with TLS.
func (c *Config) UsesTLS() bool { return c.ServesTCP() && c.Engine.TLS.Value != TLSOff }

// Verifies reports whether the TCP listeners require client certificates.
func (c *Config) Verifies() bool { return c.ServesTCP() && c.Engine.TLS.Value == TLSVerify }

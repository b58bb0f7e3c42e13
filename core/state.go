package core

import (
	"net"
	"os"
	"syscall"
	"time"
)

// State is what the stages share: the configuration and profile they start
// from, and one typed field group per stage, each filled by the stage named in
// its comment and read by the stages after it. A field a stage did not run for
// (it was dropped from the list) keeps its zero value, and readers must accept
// that. The runner never touches these fields; stages never touch each other's.
type State struct {
	Config  Config    // cmd/dinv, before the pipeline
	Profile *Profile  // cmd/dinv: the engine profile chosen for this run
	Started time.Time // cmd/dinv: when dinv started, for the readiness report
	// cmd/dinv: the engine's TCP sockets, bound before any stage and handed
	// to the engine (Config.Engine.Activate); the engine stage closes dinv's
	// copies. nil without activation and under -dry-run.
	Listeners []*os.File

	// privileges: dinv runs on gVisor's kernel (runsc), whose limits the
	// stages after it work around.
	GVisor bool

	// rootless: the unprivileged user the engine runs as; nil: root.
	EngineUser *EngineUser

	// network: the container's global-scope addresses on interfaces that are
	// up; the first IPv4 of the default-route interface (ContainerIP); the
	// hostname; that interface's MTU (0 when unknown).
	Addrs       []net.IP
	ContainerIP net.IP
	Hostname    string
	MTU         int

	// storage: the driver the engine will use (Config.Storage, or a fallback
	// when it cannot work on the data root and the user did not name one).
	StorageDriver string

	// pki: the files the engine serves TLS with; empty without TLS.
	TLSFiles TLSFiles

	// iptables, then rootless: the environment the engine runs with (PATH
	// choosing the iptables variant; the rootless engine's user, run
	// directory and wrapper); nil means dinv's own environment.
	EngineEnv []string
	// Stages before args (iptables, in a gVisor sandbox without iptables):
	// engine flags the container itself calls for ("--iptables=false"). The
	// args stage passes each, unless the user gives that setting.
	EngineFlags []string

	// args: the processes to start, in order; the last is the engine itself
	// (profile 1.12, and profiles with ArgRules.OwnContainerd, start
	// containerd first).
	Commands []Command

	// engine: the running engine, supervised in the background; nil until it
	// has started (and under -dry-run).
	Engine Engine
}

// EngineUser is the user a rootless engine runs as.
type EngineUser struct {
	Name     string
	UID, GID int
}

// TLSFiles are the paths the engine's TLS flags point at, and the client
// bundle that goes with them. The names are the flat layout's, then the
// dind layout's.
type TLSFiles struct {
	CACert     string // ca.crt, server/ca.pem: what clients are verified against (-tlsverify)
	ServerCert string // docker.crt, server/cert.pem
	ServerKey  string // docker.key, server/key.pem

	// The client bundle for the mode in use: -tlsverify with a client pair
	// dinv made or kept. All empty when there is none (-tls, certificates
	// the user brought without a client pair).
	ClientCA   string // ca.crt, client/ca.pem: what clients trust the engine by
	ClientCert string // docker-client.crt, client/cert.pem
	ClientKey  string // docker-client.key, client/key.pem
}

// Command is one process to start: Args[0] is the program.
type Command struct {
	Args []string
	// Files are what the process reads, written (mode 0600, their directory
	// made 0700) just before it starts: containerd's configuration.
	Files []File
	// Env is added to the engine's environment (State.EngineEnv) for this
	// process: what a wrapper of the engine reads (images/rootless).
	Env []string
	// Serves is the unix socket the process listens on for the processes
	// after it (containerd's, for the engine): they start once it accepts
	// a connection, and the process is started again should it exit
	// before the engine. "" for the engine and 1.12's containerd.
	Serves string
}

// File is one file a Command reads.
type File struct {
	Path string
	Data []byte
}

// Engine is the engine process tree as the engine stage leaves it running.
type Engine interface {
	// Done is closed when the engine has exited and everything else it or
	// dinv started has been ended.
	Done() <-chan struct{}
	// ExitCode is dinv's exit status after Done: the engine's own, or 128+N
	// when a signal N ended it. Reason says why, in a few words.
	ExitCode() int
	Reason() string
	// Signal passes a signal dinv caught on to the engine.
	Signal(sig syscall.Signal) error
	// Stop asks the engine to shut down (SIGTERM), killing it after a grace
	// period; Done tells when it has gone.
	Stop()
}

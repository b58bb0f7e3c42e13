package args

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dinv/dinv/core"
)

// BuildCommands returns the processes that run the engine, in start order: the
// engine's command line last, and for profile 1.12 containerd before it. It
// is a pure function of the configuration, the profile and what the network,
// storage and pki stages filled.
//
// Every flag is spelled --name=value (booleans bare), in this order: program,
// [--containerd], hosts, TLS, data root, exec root, pid file, storage driver,
// [--mtu], [--debug], insecure registries, then the user's extra arguments
// verbatim. The TCP host is --host=fd:// with Config.SocketActivation (dinv
// binds the port and hands it over), else --host=tcp://0.0.0.0:PORT.
//
// TLS, with the moby sources that decide it (cmd/dockerd/daemon.go):
//   - plain TCP: --tls=false on profiles with ArgRules.TLSFalse (20.10 on),
//     which otherwise sleep 15 s before listening (checkTLSAuthOK fails
//     unless TLS is set explicitly);
//   - -tls: --tls --tlsverify=false. Since 20.10 (and in 23, 26 and 28)
//     loadDaemonCliConfig sets TLSVerify = TLS when --tlsverify is not given,
//     so a bare --tls demands client certificates (measured on 20.10.24,
//     26.1.5 and 28.5.2: it does not even start, "could not read CA
//     certificate ~/.docker/ca.pem"). 1.12 and 1.13 keep TLSVerify a plain
//     bool defaulting to false, so the flag is the default there, and kept
//     for one rule on every profile;
//   - -tlsverify: --tlsverify with the CA, which needs no --tls (implied);
//   - -local: no TCP host and no TLS flag at all.
//
// Then the flags stages found the container needs (State.EngineFlags). A
// setting the user gives the engine directly (Config.EngineSet: an argument
// for the engine, a key of daemon.json) gets no flag from DinV.
//
// The 1.12 and 1.13 command lines follow those releases' published CLI
// references (moby v1.12/v1.13 docs/reference/commandline/dockerd.md: -H
// --host, --containerd, -g --graph, --exec-root, -p --pidfile, -s
// --storage-driver, --tls/--tlscert/--tlskey/--tlscacert/--tlsverify, --mtu,
// -D --debug, --insecure-registry); 1.12 runs the daemon as `docker daemon`
// with containerd started on its own.
func BuildCommands(cfg *core.Config, p *core.Profile, s *core.State) []core.Command {
	rules := p.Args
	var cmds []core.Command
	args := append([]string(nil), rules.Daemon...)
	// add appends DinV's flags for one engine setting, unless the user gives
	// that setting to the engine directly (Config.EngineSet).
	add := func(setting string, flags ...string) {
		if cfg.EngineSet[setting] == "" {
			args = append(args, flags...)
		}
	}
	if len(rules.Containerd) > 0 {
		cmds = append(cmds, core.Command{Args: append([]string(nil), rules.Containerd...)})
		add("containerd", "--containerd="+rules.ContainerdSocket)
	}
	add("host", "--host=unix://"+cfg.Socket)
	if cfg.ServesTCP() && cfg.SocketActivation {
		add("host", "--host=fd://") // dinv's socket (stages/engine/activation.go)
	} else if cfg.ServesTCP() {
		add("host", "--host=tcp://0.0.0.0:"+strconv.Itoa(cfg.Port))
	}
	if cfg.ServesTCP() {
		tls := tlsFiles(cfg, s)
		switch {
		case cfg.TLSVerify:
			add("tlsverify", "--tlsverify")
			add("tlscacert", "--tlscacert="+tls.CACert)
		case cfg.TLS:
			add("tls", "--tls")
			add("tlsverify", "--tlsverify=false")
		case rules.TLSFalse:
			add("tls", "--tls=false")
		}
		if cfg.TLS {
			add("tlscert", "--tlscert="+tls.ServerCert)
			add("tlskey", "--tlskey="+tls.ServerKey)
		}
	}
	add("data-root", rules.DataRootFlag+"="+cfg.DataRoot)
	add("exec-root", "--exec-root="+cfg.ExecRoot)
	add("pidfile", "--pidfile="+cfg.Pidfile)
	if d := storageDriver(cfg, s); d != "" {
		add("storage-driver", "--storage-driver="+d)
	}
	if s.MTU > 0 && s.MTU < 1500 {
		add("mtu", "--mtu="+strconv.Itoa(s.MTU))
	}
	if cfg.Debug {
		add("debug", "--debug")
	}
	for _, r := range cfg.InsecureRegistries {
		add("insecure-registry", "--insecure-registry="+r)
	}
	for _, f := range s.EngineFlags {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		add(settingOfFlag[name], f)
	}
	args = append(args, cfg.ExtraArgs...)
	return append(cmds, core.Command{Args: args})
}

// storageDriver is the storage stage's choice, or -storage when that stage
// was left out of the list.
func storageDriver(cfg *core.Config, s *core.State) string {
	if s.StorageDriver != "" {
		return s.StorageDriver
	}
	return cfg.Storage
}

// tlsFiles are the pki stage's files, each defaulting to the seed's name in
// the certificate directory when that stage did not say.
func tlsFiles(cfg *core.Config, s *core.State) core.TLSFiles {
	f := s.TLSFiles
	or := func(v *string, name string) {
		if *v == "" {
			*v = filepath.Join(cfg.CertDir, name)
		}
	}
	or(&f.CACert, "ca.crt")
	or(&f.ServerCert, "docker.crt")
	or(&f.ServerKey, "docker.key")
	return f
}

// CheckRegistry returns why entry is not an insecure registry dockerd takes
// (host[:port] or a CIDR), or nil.
func CheckRegistry(entry string) error {
	switch {
	case strings.TrimSpace(entry) == "":
		return fmt.Errorf("empty entry")
	case strings.ContainsAny(entry, " \t\r\n"):
		return fmt.Errorf("contains spaces")
	case strings.Contains(entry, "://"):
		return fmt.Errorf("has a scheme")
	}
	if strings.Contains(entry, "/") {
		if _, _, err := net.ParseCIDR(entry); err != nil {
			return fmt.Errorf("has a path or is not a valid CIDR")
		}
		return nil
	}
	if net.ParseIP(entry) != nil { // bare IPv4 or IPv6
		return nil
	}
	host := entry
	if strings.Contains(entry, ":") {
		h, port, err := net.SplitHostPort(entry)
		if err != nil {
			return fmt.Errorf("not host[:port]")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a number in 1-65535", port)
		}
		host = h
	}
	if net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("%q is not a host name or IP address", host)
	}
	return nil
}

// validHostname accepts dot-separated labels of letters, digits, '-' and '_'
// that neither start nor end with '-'.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// argsStage fills State.Commands. It changes nothing.
type argsStage struct{}

// New returns the "args" stage.
func New() core.Stage { return argsStage{} }

func (argsStage) Name() string { return "args" }

// Requires the pki stage when TCP is served with TLS: it fills the TLS files.
func (argsStage) Requires(cfg *core.Config) []string {
	if cfg.UsesTLS() {
		return []string{"pki"}
	}
	return nil
}

// Validate rejects insecure registries dockerd would not take, naming each.
func (argsStage) Validate(cfg *core.Config, p *core.Profile) error {
	var bad []string
	for _, r := range cfg.InsecureRegistries {
		if err := CheckRegistry(r); err != nil {
			bad = append(bad, fmt.Sprintf("-insecure-registry %q: %v (want host[:port] or a CIDR)", r, err))
		}
	}
	if len(bad) > 0 {
		return core.Usagef("%s", strings.Join(bad, "; "))
	}
	return nil
}

func (argsStage) Run(ctx context.Context, s *core.State) error {
	s.Commands = BuildCommands(&s.Config, s.Profile, s)
	core.Log(ctx).Debug("built", "engine", s.Commands[len(s.Commands)-1].Args)
	return nil
}

package args

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dinv/dinv/core"
)

// buildCommands returns the processes that run the engine, in start order: the
// engine's command line last, and containerd before it for profile 1.12 and
// where dinv starts the engine's containerd (ownContainerd). It is a pure
// function of the resolved configuration (core.Config.Engine), the profile
// and what the stages before it filled.
//
// Every flag is spelled --name=value (booleans bare), in this order: program,
// [--containerd], hosts, TLS, data root, exec root, pid file, storage driver,
// [--mtu], [--debug], insecure registries, the flags stages found the
// container needs (State.EngineFlags), then the user's other engine
// arguments verbatim. A setting daemon.json gives gets no flag: dockerd
// refuses a setting given both ways. The TCP listeners dinv binds itself
// (EngineConfig.Activate) are one --host=fd://.
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
//   - no TCP listener: no TLS flag at all.
//
// With `dinv dockerd ARGS` (EngineConfig.Exact) the engine gets exactly ARGS,
// and only the flags the container itself calls for (State.EngineFlags)
// that ARGS do not set.
//
// The 1.12 and 1.13 command lines follow those releases' published CLI
// references (moby v1.12/v1.13 docs/reference/commandline/dockerd.md: -H
// --host, --containerd, -g --graph, --exec-root, -p --pidfile, -s
// --storage-driver, --tls/--tlscert/--tlskey/--tlscacert/--tlsverify, --mtu,
// -D --debug, --insecure-registry); 1.12 runs the daemon as `docker daemon`
// with containerd started on its own.
func buildCommands(cfg *core.Config, p *core.Profile, s *core.State) []core.Command {
	rules := p.Args
	e := &cfg.Engine
	var cmds []core.Command
	args := append([]string(nil), rules.Daemon...)
	if e.Exact {
		args = append(args, e.Args...)
		args = append(args, containerFlags(e, s)...)
		return append(cmds, core.Command{Args: args})
	}
	// add appends dinv's flags for a setting, unless daemon.json gives it.
	add := func(from core.Source, flags ...string) {
		if !from.InFile() {
			args = append(args, flags...)
		}
	}
	if len(rules.Containerd) > 0 {
		cmds = append(cmds, core.Command{Args: append([]string(nil), rules.Containerd...)})
		add(e.Given["containerd"], "--containerd="+rules.ContainerdSocket)
	}
	var env []string
	switch c, ok := ownContainerd(cfg, p); {
	case ok && cfg.Rootless:
		env = c.Env
	case ok:
		cmds = append(cmds, c)
		args = append(args, "--containerd="+c.Serves)
	}
	activated := false
	for _, l := range e.Listeners {
		switch {
		case l.Proto == "tcp" && e.Activate && !activated:
			add(l.From, "--host=fd://") // dinv's sockets (internal/activation)
			activated = true
		case l.Proto == "tcp" && e.Activate:
		default:
			add(l.From, "--host="+l.URL())
		}
	}
	if cfg.ServesTCP() {
		tls := tlsFiles(cfg, s)
		// The mode is two of the engine's settings, each passed unless
		// daemon.json gives it.
		tlsKey, verifyKey := e.Given["tls"], e.Given["tlsverify"]
		switch e.TLS.Value {
		case core.TLSVerify:
			add(verifyKey, "--tlsverify")
			if verifyKey.InFile() {
				// dockerd takes the TLS files of its command line only
				// when its command line turns TLS on: --tls, the same mode.
				add(tlsKey, "--tls")
			}
			add(e.TLSCACert.From, "--tlscacert="+tls.CACert)
		case core.TLSServer:
			add(tlsKey, "--tls")
			add(verifyKey, "--tlsverify=false")
		default:
			if rules.TLSFalse {
				add(tlsKey, "--tls=false")
			}
		}
		if e.TLS.Value != core.TLSOff {
			add(e.TLSCert.From, "--tlscert="+tls.ServerCert)
			add(e.TLSKey.From, "--tlskey="+tls.ServerKey)
		}
	}
	add(e.DataRoot.From, rules.DataRootFlag+"="+e.DataRoot.Value)
	add(e.ExecRoot.From, "--exec-root="+e.ExecRoot.Value)
	add(e.Pidfile.From, "--pidfile="+e.Pidfile.Value)
	if d := storageDriver(e, s); d != "" {
		add(e.StorageDriver.From, "--storage-driver="+d)
	}
	switch {
	case e.MTU.From.Explicit():
		add(e.MTU.From, "--mtu="+strconv.Itoa(e.MTU.Value))
	case s.MTU > 0 && s.MTU < 1500:
		args = append(args, "--mtu="+strconv.Itoa(s.MTU))
	}
	if e.Debug.Value {
		add(e.Debug.From, "--debug")
	}
	for _, r := range e.InsecureRegistries.Value {
		add(e.InsecureRegistries.From, "--insecure-registry="+r)
	}
	args = append(args, containerFlags(e, s)...)
	args = append(args, e.Args...)
	return append(cmds, core.Command{Args: args, Env: env})
}

// containerFlags are the flags stages found the container calls for
// (State.EngineFlags), less those whose setting the user gives.
func containerFlags(e *core.EngineConfig, s *core.State) []string {
	var out []string
	for _, f := range s.EngineFlags {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if _, given := e.Given[name]; !given {
			out = append(out, f)
		}
	}
	return out
}

// storageDriver is the user's driver, else the storage stage's choice, else
// dinv's default; "" when the engine chooses (dinv dockerd without one).
func storageDriver(e *core.EngineConfig, s *core.State) string {
	if !e.StorageDriver.From.Explicit() && s.StorageDriver != "" {
		return s.StorageDriver
	}
	return e.StorageDriver.Value
}

// tlsFiles are the engine's TLS files: the user's where given, else the pki
// stage's, each defaulting to the flat layout's name in the certificate
// directory when that stage did not say.
func tlsFiles(cfg *core.Config, s *core.State) core.TLSFiles {
	f := s.TLSFiles
	e := &cfg.Engine
	pick := func(v *string, user core.Setting[string], name string) {
		switch {
		case user.From.Explicit():
			*v = user.Value
		case *v == "":
			*v = filepath.Join(cfg.CertDir, name)
		}
	}
	pick(&f.CACert, e.TLSCACert, "ca.crt")
	pick(&f.ServerCert, e.TLSCert, "docker.crt")
	pick(&f.ServerKey, e.TLSKey, "docker.key")
	return f
}

// checkRegistry returns why entry is not an insecure registry dockerd takes
// (host[:port] or a CIDR), or nil.
func checkRegistry(entry string) error {
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

// registrySource names where insecure registries came from in a message:
// -insecure-registry, or the engine argument or daemon.json key.
func registrySource(from core.Source) string {
	if from.Kind == core.FromFlag {
		return "-insecure-registry"
	}
	return from.String() + ": insecure registry"
}

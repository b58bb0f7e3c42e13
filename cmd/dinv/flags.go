package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dinv/dinv/core"
	stageargs "github.com/dinv/dinv/stages/args"
	"github.com/dinv/dinv/stages/pki"
)

// options is the parsed command line: the Config plus the modes that are not
// part of a start (help, health check).
type options struct {
	cfg         core.Config
	help        bool
	healthcheck bool
	bundle      bool            // -client-bundle
	given       map[string]bool // the flags on the command line, by name
	command     []string        // a command to run instead of the engine (dinv sh)
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, strings.Split(v, ",")...)
	return nil
}

// newFlagSet defines dinv's flags on a FlagSet named after the program as
// invoked. The seed's five flags keep their exact usage text.
func newFlagSet(prog string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	c := &o.cfg
	// The seed's flags, verbatim.
	fs.Var(listFlag{&c.InsecureRegistries}, "insecure-registry", "Enable insecure registry communication")
	fs.BoolVar(&c.Local, "local", false, "Do not bind API to external interfaces")
	fs.StringVar(&c.Storage, "storage", "overlay2", "Storage driver to use")
	fs.BoolVar(&c.TLS, "tls", false, "Use TLS; implied by --tlsverify. Certs are generated automatically if not available")
	fs.BoolVar(&c.TLSVerify, "tlsverify", false, "Use TLS and verify the remote. Certs are generated automatically if not available")
	// DinV's own.
	fs.StringVar(&c.ConfigFile, "config", "", "YAML stage list (default /etc/dinv/stages.yaml when it exists)")
	fs.StringVar(&c.EngineVersion, "engine-version", "", "Engine profile to use, e.g. 26.1 (default: $DINV_ENGINE_VERSION, the config's engine, or detected)")
	fs.StringVar(&c.CertDir, "certs", "/certs", "Directory of the TLS certificates")
	fs.StringVar(&c.DataRoot, "data-root", "/var/lib/docker", "The engine's data root")
	fs.StringVar(&c.ExecRoot, "exec-root", "/var/run/docker", "The engine's exec root")
	fs.StringVar(&c.Pidfile, "pidfile", "/var/run/docker.pid", "The engine's pid file")
	fs.StringVar(&c.Socket, "socket", "/var/run/docker.sock", "The engine's unix socket")
	fs.IntVar(&c.Port, "port", 0, "TCP port of the API (default 2375, or 2376 with TLS)")
	fs.Var(listFlag{&c.TLSSANs}, "tls-san", "Extra names and IPs for the server certificate (comma-separated, repeatable)")
	fs.StringVar(&c.KeyType, "key-type", "ecdsa", "Key type of generated certificates: ecdsa, rsa (2048 bits) or rsa3072")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", 60*time.Second, "How long to wait for the engine to answer before warning")
	fs.BoolVar(&c.SocketActivation, "socket-activation", true, "Bind the API's TCP port before anything else and hand it to the engine (false: the engine binds it)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "Run the stages that change nothing, print the engine's command line as JSON, exit")
	fs.BoolVar(&o.healthcheck, "healthcheck", false, "Exit 0 when the engine answers on its socket, 1 otherwise")
	fs.BoolVar(&o.bundle, "client-bundle", false, "Write the running host's client certificates as a tar of ca.pem, cert.pem, key.pem to stdout (| tar -x -C DIR)")
	sw := &c.Swarm
	fs.BoolVar(&sw.Init, "swarm-init", false, "Create a swarm with this host as its first manager (nothing if it already manages one)")
	fs.StringVar(&sw.Join, "swarm-join", "", "Join the swarm that the manager at ADDR[:PORT] belongs to")
	fs.StringVar(&sw.Role, "swarm-role", "worker", "Role when joining: manager or worker")
	fs.StringVar(&sw.Advertise, "swarm-advertise", "", "Address other swarm nodes reach this host at (default: the container's address)")
	fs.StringVar(&sw.TokenFile, "swarm-token-file", "", "File holding the join token (default: $DINV_SWARM_TOKEN, else swarm/ROLE.token in -certs)")
	fs.DurationVar(&sw.Timeout, "swarm-timeout", 2*time.Minute, "How long joining retries before it gives up")
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args (without the program name) into options, as
// docker:dind reads its arguments: a first word that is not a flag is a
// command (run instead of the engine), except `dockerd`, whose arguments
// follow; dinv's own flags (one dash or two) are dinv's; every other flag,
// and everything after --, is the engine's (Config.ExtraArgs). Errors are
// core.UsageErrors; -h and --help set help.
func parseFlags(prog string, args []string, env func(string) string) (*options, error) {
	o := &options{}
	fs := newFlagSet(prog, o)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] != "dockerd" {
			o.command = args
			return o, nil
		}
		args = args[1:]
	}
	own, engine, err := splitArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(own); err != nil {
		if err == flag.ErrHelp {
			o.help = true
			return o, nil
		}
		return nil, core.Usagef("%v", err)
	}
	c := &o.cfg
	c.ExtraArgs = engine
	portSet := false
	var empty []string
	o.given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		o.given[f.Name] = true
		switch f.Name {
		case "storage":
			c.StorageSet = true
		case "port":
			portSet = true
		}
		if g, ok := f.Value.(flag.Getter); ok {
			if v, isString := g.Get().(string); isString && strings.TrimSpace(v) == "" {
				empty = append(empty, "-"+f.Name)
			}
		}
	})
	if len(empty) > 0 {
		return nil, core.Usagef("%s: empty value", strings.Join(empty, ", "))
	}
	if err := dindEnvironment(c, o.given, env); err != nil {
		return nil, err
	}
	if c.TLSVerify {
		c.TLS = true
	}
	switch {
	case portSet && (c.Port < 1 || c.Port > 65535):
		return nil, core.Usagef("-port %d: out of range 1-65535", c.Port)
	case portSet:
	case c.TLS:
		c.Port = 2376
	default:
		c.Port = 2375
	}
	if c.EngineVersion == "" {
		c.EngineVersion = env("DINV_ENGINE_VERSION")
	}
	c.Debug = isTrue(env("DEBUG"))
	c.Swarm.Token = core.Secret(env("DINV_SWARM_TOKEN"))
	return o, nil
}

// dindEnvironment applies docker:dind's variables. DOCKER_TLS_CERTDIR=DIR
// (not empty) means mutual TLS with docker:dind's layout in DIR; the seed's
// flags win where they are given (-local, -tls alone), and -certs names
// another directory. Empty or unset, it changes nothing: plain TCP, as the
// seed. DOCKER_TLS_SAN adds names for the server certificate, in
// docker:dind's syntax (DNS:name, IP:addr, comma- or space-separated).
func dindEnvironment(c *core.Config, given map[string]bool, env func(string) string) error {
	if dir := env("DOCKER_TLS_CERTDIR"); dir != "" {
		c.CertLayout = pki.LayoutDind
		if !given["certs"] {
			c.CertDir = dir
		}
		if !given["tls"] && !given["tlsverify"] && !given["local"] {
			c.TLS, c.TLSVerify = true, true
		}
	}
	if v := env("DOCKER_TLS_SAN"); v != "" {
		hosts, err := pki.ParseSANList(v)
		if err != nil {
			return core.Usagef("DOCKER_TLS_SAN %v", err)
		}
		c.TLSSANs = append(c.TLSSANs, hosts...)
	}
	return nil
}

// splitArgs sorts args into dinv's own flags, each with its value, and the
// engine's: the --flags dinv does not define, each with its value, and
// everything after --. A word that is neither is an error naming it; a
// -flag dinv does not define is left to the flag package to refuse (a typo
// of a seed flag is not passed on).
func splitArgs(fs *flag.FlagSet, args []string) (own, engine []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return own, append(engine, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			return nil, nil, core.Usagef("unexpected argument %q: not a flag, and a command goes first (dinv sh ...)", a)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil && strings.HasPrefix(a, "--") && name != "help" {
			engine = append(engine, a)
			if !hasValue && i+1 < len(args) && stageargs.TakesNextWord(name, args[i+1]) {
				i++
				engine = append(engine, args[i])
			}
			continue
		}
		own = append(own, a)
		if f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			i++
			own = append(own, args[i])
		}
	}
	return own, engine, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// usageTail follows the flags in the usage block.
const usageTail = `
Arguments that are not dinv's flags go to the engine, as with docker:dind
(--registry-mirror=URL, --mtu 1400, or anything after --); one that sets
what dinv would set (--data-root, --storage-driver, --host, --mtu, TLS
files) replaces dinv's, as does a key of /etc/docker/daemon.json.
A first argument that is not a flag is a command: 'dinv sh' runs sh
instead of the engine; 'dinv dockerd ARGS' runs the engine with ARGS,
prepared and supervised by dinv.
`

// printUsage prints the usage block as the flag package would, except that a
// repeatable list flag shows as "string", as in the seed; then usageTail.
func printUsage(w io.Writer, prog string) {
	fs := newFlagSet(prog, &options{})
	fmt.Fprintf(w, "Usage of %s:\n", prog)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(listFlag); ok {
			name = "string"
		}
		line := "  -" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					line += fmt.Sprintf(" (default %q)", f.DefValue)
				} else {
					line += fmt.Sprintf(" (default %v)", f.DefValue)
				}
			}
		}
		fmt.Fprintln(w, line)
	})
	fmt.Fprint(w, usageTail)
}

// mergeSwarm fills the swarm settings the command line did not give from the
// YAML file's swarm: keys.
func mergeSwarm(c *core.Swarm, given map[string]bool, file *core.Swarm) {
	if file == nil {
		return
	}
	take := func(flag string, set func()) {
		if !given[flag] {
			set()
		}
	}
	take("swarm-init", func() { c.Init = c.Init || file.Init })
	take("swarm-join", func() {
		if file.Join != "" {
			c.Join = file.Join
		}
	})
	take("swarm-role", func() {
		if file.Role != "" {
			c.Role = file.Role
		}
	})
	take("swarm-advertise", func() {
		if file.Advertise != "" {
			c.Advertise = file.Advertise
		}
	})
	take("swarm-token-file", func() {
		if file.TokenFile != "" {
			c.TokenFile = file.TokenFile
		}
	})
	take("swarm-timeout", func() {
		if file.Timeout != 0 {
			c.Timeout = file.Timeout
		}
	})
}

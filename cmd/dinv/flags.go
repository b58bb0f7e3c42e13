package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
)

// options is the parsed command line: dinv's flags, the engine's arguments,
// and the modes that are not a start (help, health check, client bundle, a
// command run instead of the engine).
type options struct {
	flags       config.Flags
	engine      []string // the engine's arguments
	exact       bool     // dinv dockerd ARGS
	help        bool
	healthcheck bool
	bundle      bool     // -client-bundle
	command     []string // a command to run instead of the engine (dinv sh)
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
// invoked. Docker-in-VIC's five flags keep their exact usage text.
func newFlagSet(prog string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	c := &o.flags
	d := config.DefaultFlags()
	// Docker-in-VIC's flags, verbatim.
	fs.Var(listFlag{&c.InsecureRegistries}, "insecure-registry", "Enable insecure registry communication")
	fs.BoolVar(&c.Local, "local", d.Local, "Do not bind API to external interfaces")
	fs.StringVar(&c.Storage, "storage", d.Storage, "Storage driver to use")
	fs.BoolVar(&c.TLS, "tls", d.TLS, "Use TLS; implied by --tlsverify. Certs are generated automatically if not available")
	fs.BoolVar(&c.TLSVerify, "tlsverify", d.TLSVerify, "Use TLS and verify the remote. Certs are generated automatically if not available")
	// DinV's own.
	fs.StringVar(&c.ConfigFile, "config", d.ConfigFile, "YAML stage list (default /etc/dinv/stages.yaml when it exists)")
	fs.StringVar(&c.EngineVersion, "engine-version", d.EngineVersion, "Engine profile to use, e.g. 26.1 (default: $DINV_ENGINE_VERSION, the config's engine, or detected)")
	fs.StringVar(&c.CertDir, "certs", d.CertDir, "Directory of the TLS certificates")
	fs.StringVar(&c.DataRoot, "data-root", d.DataRoot, "The engine's data root")
	fs.StringVar(&c.ExecRoot, "exec-root", d.ExecRoot, "The engine's exec root")
	fs.StringVar(&c.Pidfile, "pidfile", d.Pidfile, "The engine's pid file")
	fs.StringVar(&c.Socket, "socket", d.Socket, "The engine's unix socket")
	fs.IntVar(&c.Port, "port", d.Port, "TCP port of the API (default 2375, or 2376 with TLS)")
	fs.Var(listFlag{&c.TLSSANs}, "tls-san", "Extra names and IPs for the server certificate (comma-separated, repeatable)")
	fs.StringVar(&c.KeyType, "key-type", d.KeyType, "Key type of generated certificates: ecdsa, rsa (2048 bits) or rsa3072")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", d.ReadyTimeout, "How long to wait for the engine to answer before warning")
	fs.BoolVar(&c.SocketActivation, "socket-activation", d.SocketActivation, "Bind the API's TCP port before anything else and hand it to the engine (false: the engine binds it)")
	fs.BoolVar(&c.DryRun, "dry-run", d.DryRun, "Run the stages that change nothing, print the engine's command line as JSON, exit")
	fs.BoolVar(&o.healthcheck, "healthcheck", false, "Exit 0 when the engine answers on its socket, 1 otherwise")
	fs.BoolVar(&o.bundle, "client-bundle", false, "Write the running host's client certificates as a tar of ca.pem, cert.pem, key.pem to stdout (| tar -x -C DIR)")
	sw := &c.Swarm
	fs.BoolVar(&sw.Init, "swarm-init", d.Swarm.Init, "Create a swarm with this host as its first manager (nothing if it already manages one)")
	fs.StringVar(&sw.Join, "swarm-join", d.Swarm.Join, "Join the swarm that the manager at ADDR[:PORT] belongs to")
	fs.StringVar(&sw.Role, "swarm-role", d.Swarm.Role, "Role when joining: manager or worker")
	fs.StringVar(&sw.Advertise, "swarm-advertise", d.Swarm.Advertise, "Address other swarm nodes reach this host at (default: the container's address)")
	fs.StringVar(&sw.TokenFile, "swarm-token-file", d.Swarm.TokenFile, "File holding the join token (default: $DINV_SWARM_TOKEN, else swarm/ROLE.token in -certs)")
	fs.DurationVar(&sw.Timeout, "swarm-timeout", d.Swarm.Timeout, "How long joining retries before it gives up")
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args (without the program name) as docker:dind reads its
// arguments: a first word that is not a flag is a command (run instead of
// the engine), except `dockerd`, whose arguments are all the engine's
// (options.exact); otherwise dinv's own flags (one dash or two) are dinv's,
// and every other --flag, and everything after --, is the engine's. What
// they mean together is internal/config's to resolve. Errors are
// core.UsageErrors; -h and --help set help.
func parseFlags(prog string, args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(prog, o)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] == "dockerd" {
			o.exact, o.engine = true, args[1:]
			return o, fs.Parse(nil) // dinv's defaults
		}
		o.command = args
		return o, nil
	}
	own, engine, exact, err := splitArgs(fs, args)
	if err != nil {
		return nil, err
	}
	o.exact = exact
	if err := fs.Parse(own); err != nil {
		if err == flag.ErrHelp {
			o.help = true
			return o, nil
		}
		return nil, core.Usagef("%v", err)
	}
	o.engine = engine
	var empty []string
	o.flags.Given = map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		o.flags.Given[f.Name] = true
		if g, ok := f.Value.(flag.Getter); ok {
			if v, isString := g.Get().(string); isString && strings.TrimSpace(v) == "" {
				empty = append(empty, "-"+f.Name)
			}
		}
	})
	if len(empty) > 0 {
		return nil, core.Usagef("%s: empty value", strings.Join(empty, ", "))
	}
	return o, nil
}

// splitArgs sorts args into dinv's own flags, each with its value, and the
// engine's: the --flags dinv does not define, each with its value, and
// everything after --, or after the word dockerd (exact: `dinv -dry-run
// dockerd ARGS` is dinv dockerd ARGS with dinv's own flags before it). Any
// other word is an error naming it; a -flag dinv does not define is left to
// the flag package to refuse (a typo of one of dinv's flags is not passed on),
// except one of the engine's one-letter flags, refused saying where it goes.
func splitArgs(fs *flag.FlagSet, args []string) (own, engine []string, exact bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return own, append(engine, args[i+1:]...), false, nil
		case a == "dockerd" && len(engine) == 0:
			return own, args[i+1:], true, nil
		case len(a) < 2 || a[0] != '-':
			return nil, nil, false, core.Usagef("unexpected argument %q: not a flag, and a command goes first (dinv sh ...)", a)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil && name != "h" && !strings.HasPrefix(a, "--") && config.IsShorthand(a) {
			return nil, nil, false, core.Usagef("%s is the engine's flag, not dinv's: give it after -- (dinv -- %s ...) or in its long form", a, a)
		}
		if f == nil && strings.HasPrefix(a, "--") && name != "help" {
			engine = append(engine, a)
			if !hasValue && i+1 < len(args) && !config.IsBool(name) && !strings.HasPrefix(args[i+1], "-") {
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
	return own, engine, false, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// usageTail follows the flags in the usage block.
const usageTail = `
Arguments that are not dinv's flags go to the engine, as with docker:dind
(--registry-mirror=URL, --mtu 1400, or anything after --). One that sets
what dinv sets (--data-root, --storage-driver, --mtu, TLS files), or a key
of /etc/docker/daemon.json, is the engine's setting; one that contradicts
dinv's flags or environment is refused. --host adds to dinv's listeners.
A first argument that is not a flag is a command: 'dinv sh' runs sh
instead of the engine; 'dinv dockerd ARGS' runs the engine with exactly
ARGS, prepared and supervised by dinv.
`

// printUsage prints the usage block as the flag package would, except that a
// repeatable list flag shows as "string", as in Docker-in-VIC's; then usageTail.
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

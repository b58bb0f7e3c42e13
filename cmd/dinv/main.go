// Command dinv is the entrypoint of a DinV image: it prepares the container,
// then starts and supervises a Docker engine in it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/activation"
	"github.com/dinv/dinv/internal/clientinfo"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/engineapi"
	"github.com/dinv/dinv/internal/engineversion"
	"github.com/dinv/dinv/stages/args"
	"github.com/dinv/dinv/stages/cgroups"
	"github.com/dinv/dinv/stages/engine"
	"github.com/dinv/dinv/stages/iptables"
	"github.com/dinv/dinv/stages/mounts"
	"github.com/dinv/dinv/stages/network"
	"github.com/dinv/dinv/stages/pki"
	"github.com/dinv/dinv/stages/privileges"
	"github.com/dinv/dinv/stages/ready"
	"github.com/dinv/dinv/stages/rootless"
	"github.com/dinv/dinv/stages/stale"
	"github.com/dinv/dinv/stages/storage"
	"github.com/dinv/dinv/stages/swarm"
)

// defaultStageFile is read, when it exists, if -config is not given.
const defaultStageFile = "/etc/dinv/stages.yaml"

func main() {
	if len(os.Args) > 1 && os.Args[0] == activation.LauncherName {
		activation.Launch(os.Args[1:]) // dinv re-executed to start the engine: never returns
	}
	// Signals first, as the engine itself does: a SIGTERM at any moment from
	// here on ends dinv promptly with 128+N (or goes to the engine).
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, core.Signals...)
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr, signals))
}

// catalogue lists every stage dinv has. The profiles and YAML files choose
// which of them run, and in what order.
func catalogue() *core.Catalogue {
	return core.NewCatalogue(
		privileges.New(),
		network.New(),
		cgroups.New(),
		mounts.New(),
		iptables.New(),
		stale.New(),
		rootless.New(),
		storage.New(),
		pki.New(),
		args.New(),
		engine.New(),
		ready.New(),
		swarm.New(),
	)
}

// run is dinv from the command line to its exit code: 0 success, 2 usage or
// configuration error, 128+N stopped by signal N before the engine started,
// the engine's own status once it has, 1 any other failure. signals are those
// main caught (core.Signals).
func run(argv []string, env func(string) string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	started := time.Now()
	prog := argv[0]
	opts, err := parseFlags(prog, argv[1:])
	log := newLogger(env, stderr, isTrue(env(config.EnvDebug)))
	if err != nil {
		log.Error("bad command line", "error", err)
		fmt.Fprintf(stderr, "Run '%s -h' for usage.\n", prog)
		return 2
	}
	switch {
	case opts.help:
		printUsage(stdout, prog)
		return 0
	case len(opts.command) > 0:
		return runCommand(opts.command, stderr)
	case opts.bundle:
		if err := clientinfo.Bundle(stdout, stderr, clientinfo.Path); err != nil {
			log.Error("no client bundle", "error", err)
			return 1
		}
		return 0
	case opts.healthcheck:
		return healthcheck(opts, stderr)
	}

	runner := &core.Runner{Log: log}
	ctx := runner.Catch(context.Background(), signals)
	defer runner.Release()
	cfg, warnings, err := config.Resolve(ctx, config.Inputs{Flags: opts.flags, Env: env, Engine: opts.engine, Exact: opts.exact})
	if err == nil {
		config.Scrub(os.Unsetenv) // read once: nothing dinv starts inherits them
		logResolved(log, cfg, warnings)
	}
	st := &core.State{Started: started}
	var stages []core.Stage
	if err == nil {
		st.Config = *cfg
		stages, err = plan(ctx, log, env, opts.flags.Given, catalogue(), st)
	}
	if err != nil {
		var stop *core.StopError
		if errors.As(context.Cause(ctx), &stop) {
			log.Info("exiting", "reason", stop.Error()+" before the engine started", "code", stop.ExitCode())
			return stop.ExitCode()
		}
		log.Error("bad configuration", "error", err)
		return core.ExitCode(err)
	}
	if e := &st.Config.Engine; e.Activate && !st.Config.DryRun && lists(stages, "engine") {
		// The API's sockets before any stage: a client that calls before
		// the engine is ready waits for its answer instead of being refused.
		files, err := activation.Listen(e.TCP())
		if err != nil {
			log.Error("start-up failed", "error", err, "fix", "free the port, or choose another with -port")
			return 1
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		st.Listeners = files
	}
	exit := runner.Run(ctx, stages, st)
	if exit.Err != nil {
		log.Error("start-up failed", "error", exit.Err)
	}
	if st.Config.DryRun && exit.Err == nil && exit.Code == 0 {
		return printCommands(stdout, log, st.Commands)
	}
	if exit.Err == nil || st.Engine != nil {
		log.Info("exiting", "reason", exit.Reason, "code", exit.Code)
	}
	return exit.Code
}

// healthcheck is `dinv -healthcheck`: exit 0 when the engine answers on the
// socket the running dinv recorded (clientinfo.Path), or on -socket
// when given.
func healthcheck(opts *options, stderr io.Writer) int {
	socket := opts.flags.Socket
	if !opts.flags.Given["socket"] {
		info, err := clientinfo.Read(clientinfo.Path)
		if err != nil {
			fmt.Fprintln(stderr, "unhealthy:", err)
			return 1
		}
		socket = info.Socket
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := (&engineapi.Client{Socket: socket}).Ping(ctx); err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	return 0
}

// logResolved says what the engine will serve, and each engine setting the
// user gave with its source.
func logResolved(log hclog.Logger, c *core.Config, warnings []string) {
	log.Debug("configuration", config.Describe(c)...)
	for _, g := range config.Given(c) {
		log.Info("engine setting given by you", "setting", g.Name, "from", g.From.String())
	}
	for _, w := range warnings {
		log.Warn(w)
	}
}

// lists reports whether the stage list has the stage called name.
func lists(stages []core.Stage, name string) bool {
	for _, s := range stages {
		if s.Name() == name {
			return true
		}
	}
	return false
}

// runCommand runs a command instead of the engine, as the container's
// process (dinv sh): it replaces dinv, and returns only when it cannot.
func runCommand(argv []string, stderr io.Writer) int {
	path, err := exec.LookPath(argv[0])
	if err == nil {
		err = syscall.Exec(path, argv, os.Environ())
	}
	fmt.Fprintf(stderr, "dinv: cannot run %s: %v\n", argv[0], err)
	return 127
}

// plan reads the stage file (its swarm: keys fill what the flags, given by
// name, did not), chooses the profile and resolves the stage list.
func plan(ctx context.Context, log hclog.Logger, env func(string) string, given map[string]bool, cat *core.Catalogue, st *core.State) ([]core.Stage, error) {
	cfg := &st.Config
	path := cfg.ConfigFile
	if path == "" {
		if _, err := os.Stat(defaultStageFile); err == nil {
			path = defaultStageFile
		}
	}
	var file *core.StageFile
	if path != "" {
		f, err := core.ReadStageFile(path)
		if err != nil {
			return nil, err
		}
		file = f
		if cfg.EngineVersion == "" {
			cfg.EngineVersion = f.Engine
		}
		mergeSwarm(&cfg.Swarm, given, f.Swarm)
	}
	p, err := chooseProfile(ctx, log, cfg.EngineVersion, env(imageEngineVersion))
	if err != nil {
		return nil, err
	}
	st.Profile = p
	names := core.DefaultStages
	if file != nil && len(file.Stages) > 0 {
		names = file.Stages
	}
	log.Debug("plan", "engine", p.Version, "stages", names, "config", path)
	return cat.Resolve(names, path, cfg, p)
}

// imageEngineVersion names the engine version an image was built with (see
// the Dockerfile): it replaces detection, not the user's choices.
const imageEngineVersion = "DINV_IMAGE_ENGINE_VERSION"

// chooseProfile returns the profile named by version, else the one that fits
// the engine's version as the image reports it (imageVersion) or as the
// engine binary's own --version does.
func chooseProfile(ctx context.Context, log hclog.Logger, version, imageVersion string) (*core.Profile, error) {
	if version != "" {
		return core.FindProfile(version)
	}
	reported := imageVersion
	if reported == "" {
		v, err := engineversion.Detect(ctx)
		if err != nil {
			return nil, core.Usagef("cannot detect the engine version (%v): give -engine-version", err)
		}
		reported = v
	}
	p, exact, err := core.MatchProfile(reported)
	if err != nil {
		return nil, core.Usagef("%v", err)
	}
	if !exact {
		log.Warn("no profile for this engine version, using the nearest older one", "engine", reported, "profile", p.Version)
	}
	return p, nil
}

// printCommands prints each command as a JSON array of strings on one line,
// the engine's last: what -dry-run shows and the engine stage starts.
func printCommands(w io.Writer, log hclog.Logger, cmds []core.Command) int {
	if len(cmds) == 0 {
		log.Error("no command line to print: the stage list has no args stage")
		return 1
	}
	for _, c := range cmds {
		line, err := json.Marshal(c.Args)
		if err != nil {
			log.Error("encode command line", "error", err)
			return 1
		}
		fmt.Fprintln(w, string(line))
	}
	return 0
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// newLogger returns dinv's root logger: info level, debug with DEBUG=true, JSON
// with DINV_LOG_FORMAT=json.
func newLogger(env func(string) string, w io.Writer, debug bool) hclog.Logger {
	level := hclog.Info
	if debug {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "dinv",
		Level:      level,
		Output:     w,
		JSONFormat: env("DINV_LOG_FORMAT") == "json",
	})
}

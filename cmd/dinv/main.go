// Command dinv is the entrypoint of a DinV image: it prepares the container,
// then starts and supervises a Docker engine in it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/stages/engine"
	"github.com/dinv/dinv/stages/network"
	"github.com/dinv/dinv/stages/pki"
	"github.com/dinv/dinv/stages/prepare"
	"github.com/dinv/dinv/stages/storage"
)

// defaultStageFile is read, when it exists, if -config is not given.
const defaultStageFile = "/etc/dinv/stages.yaml"

func main() {
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

// catalogue lists every stage dinv has. The profiles and YAML files choose
// which of them run, and in what order.
func catalogue(signals <-chan os.Signal) *core.Catalogue {
	return core.NewCatalogue(
		network.New(),
		prepare.NewCgroups(),
		prepare.NewMounts(),
		prepare.NewIptables(),
		prepare.NewStale(),
		storage.New(),
		pki.New(),
		engine.NewArgs(),
		engine.New(signals),
		engine.NewReady(),
	)
}

// run is dinv from the command line to its exit code: 0 success, 2 usage or
// configuration error, 1 any other failure.
func run(argv []string, env func(string) string, stdout, stderr io.Writer) int {
	started := time.Now()
	prog := argv[0]
	opts, err := parseFlags(prog, argv[1:], env)
	log := newLogger(env, stderr, opts != nil && opts.cfg.Debug)
	if err != nil {
		log.Error("bad command line", "error", err)
		fmt.Fprintf(stderr, "Run '%s -h' for usage.\n", prog)
		return 2
	}
	if opts.help {
		printUsage(stdout, prog)
		return 0
	}
	cfg := &opts.cfg
	if opts.healthcheck {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := engine.Ping(ctx, cfg.Socket); err != nil {
			fmt.Fprintln(stderr, "unhealthy:", err)
			return 1
		}
		return 0
	}

	// Signals are caught from the start: one that arrives before the engine
	// runs is forwarded to it as soon as it does.
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, engine.ForwardedSignals...)
	defer signal.Stop(signals)

	ctx := context.Background()
	st := &core.State{Config: *cfg, Started: started}
	stages, err := plan(ctx, log, env, catalogue(signals), st)
	if err != nil {
		log.Error("bad configuration", "error", err)
		return exitCode(err)
	}
	runner := &core.Runner{Log: log}
	if err := runner.Run(ctx, stages, st); err != nil {
		if st.Engine == nil || running(st.Engine) {
			log.Error("start-up failed", "error", err)
			if st.Engine != nil {
				st.Engine.Stop()
				<-st.Engine.Done()
			}
			return exitCode(err)
		}
		// The engine itself ended the start-up (a signal, or a crash): its
		// status is dinv's, as after any other end of the engine.
		if st.Engine.ExitCode() != 0 {
			log.Error("start-up failed", "error", err)
		}
	}
	if cfg.DryRun {
		return printCommands(stdout, log, st.Commands)
	}
	if st.Engine == nil {
		log.Info("exiting", "reason", "no engine stage in the list")
		return 0
	}
	<-st.Engine.Done()
	code := st.Engine.ExitCode()
	log.Info("exiting", "reason", st.Engine.Reason(), "code", code)
	return code
}

// plan reads the stage file, chooses the profile and resolves the stage list.
func plan(ctx context.Context, log hclog.Logger, env func(string) string, cat *core.Catalogue, st *core.State) ([]core.Stage, error) {
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
	}
	p, err := chooseProfile(ctx, log, cfg.EngineVersion, env(imageEngineVersion))
	if err != nil {
		return nil, err
	}
	st.Profile = p
	names := p.Stages
	if file != nil {
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
		v, err := engine.DetectVersion(ctx)
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

// running reports whether the engine has not exited yet.
func running(e core.Engine) bool {
	select {
	case <-e.Done():
		return false
	default:
		return true
	}
}

// exitCode is 2 for a usage error, the error's own code when it has one
// (a stop before the engine started: 128+N), else 1.
func exitCode(err error) int {
	if core.IsUsage(err) {
		return 2
	}
	if ec, ok := errors.Cause(err).(interface{ ExitCode() int }); ok {
		return ec.ExitCode()
	}
	return 1
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// docker runs the docker CLI on the machine's engine and returns its stdout,
// trimmed; a non-zero exit is an error carrying the CLI's stderr.
func docker(ctx context.Context, args ...string) (string, error) {
	r, err := harness.Client{}.Exec(ctx, nil, args...)
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("docker %s: exit %d: %s", strings.Join(args, " "), r.ExitCode, strings.TrimSpace(r.Stderr))
	}
	return strings.TrimSpace(r.Stdout), nil
}

// contender is one way of starting a Docker host from the image.
type contender struct {
	id   string   // in container names: dinv-bench-<pid>-<id>-<round>
	tls  bool     // serves -tlsverify on 2376 (else plain on 2375)
	cold bool     // starts with an empty /certs directory of its own
	env  []string // KEY=VALUE for the container
	// launcher bind-mounts the benchmark's launcher (bench/launcher) on
	// launcherPath: the contender started by hand with activation.
	launcher bool
	run      []string // what follows the common options: [--entrypoint X] IMAGE ARGS...
	// privileges replace the probed ones when not nil (the sandboxes).
	privileges []string
	after      func(ctx context.Context, container string) error
}

// setup is what every started container shares: one network with a fixed
// address and hostname, so that certificates made for one start are valid
// for the next (dinv re-issues a server certificate that does not cover the
// container's addresses), the privileges the engine grants, and the host
// directory of the warm certificates.
type setup struct {
	image      string
	network    string
	ip         string
	hostname   string
	privileges []string
	warmCerts  string
	timeout    time.Duration
	dir        string   // the benchmark's own files: the launcher, the payload
	undo       []func() // what prepare's cleanup removes, last first
}

// common is the docker run options every DinV or bare-engine container gets,
// with the probed privileges; certDir, when set, is bind-mounted on /certs.
func (s *setup) common(name, certDir string) []string {
	return s.commonWith(name, certDir, s.privileges)
}

// commonWith is common with other privileges.
func (s *setup) commonWith(name, certDir string, privileges []string) []string {
	args := []string{"--name", name, "--network", s.network, "--ip", s.ip, "--hostname", s.hostname,
		"-v", "/var/lib/docker"}
	args = append(args, privileges...)
	if certDir != "" {
		args = append(args, "-v", certDir+":/certs")
	}
	return args
}

// start is what one start of a contender measured, from the container's
// .State.StartedAt: the first GET /_ping that succeeded from outside, and the
// engine's first log line ("Starting up"; 0 when not found), which tells
// dinv's own share (the stages before the engine) apart from the engine's.
// own is the engine's own start, from its log: "Starting up" to its last
// "API listen on" (0 when either is missing).
type start struct {
	ready, engine, own time.Duration
}

var (
	startingUp = regexp.MustCompile(`time="([^"]+)" level=info msg="Starting up"`)
	apiListen  = regexp.MustCompile(`time="([^"]+)" level=info msg="API listen on `)
)

// engineOwn is the engine's own start in its log: from "Starting up" to
// the last "API listen on" (it serves every listener then); 0 when the log
// lacks either.
func engineOwn(logs string) time.Duration {
	up := startingUp.FindStringSubmatch(logs)
	listens := apiListen.FindAllStringSubmatch(logs, -1)
	if up == nil || len(listens) == 0 {
		return 0
	}
	from, err1 := time.Parse(time.RFC3339Nano, up[1])
	to, err2 := time.Parse(time.RFC3339Nano, listens[len(listens)-1][1])
	if err1 != nil || err2 != nil || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// startOnce starts c once and measures it. The container is removed with its
// anonymous volumes before it returns.
func (s *setup) startOnce(ctx context.Context, c contender, round int) (start, error) {
	name := fmt.Sprintf("%s%s-%d", namePrefix, c.id, round)
	certDir := ""
	if c.tls {
		certDir = s.warmCerts
	}
	if c.cold {
		dir, err := os.MkdirTemp("", "dinv-bench-cold-")
		if err != nil {
			return start{}, err
		}
		defer os.RemoveAll(dir)
		certDir = dir
	}
	privileges := s.privileges
	if c.privileges != nil {
		privileges = c.privileges
	}
	args := append([]string{"run", "-d"}, s.commonWith(name, certDir, privileges)...)
	if c.launcher {
		args = append(args, "-v", filepath.Join(s.dir, "launcher")+":"+launcherPath+":ro")
	}
	for _, e := range c.env {
		args = append(args, "-e", e)
	}
	if _, err := docker(ctx, append(args, c.run...)...); err != nil {
		return start{}, err
	}
	defer docker(context.Background(), "rm", "-f", "-v", name)

	addr := s.ip + ":2375"
	if c.tls {
		addr = s.ip + ":2376"
	}
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ready, err := waitReady(wctx, addr, certDir, func() error { return stillRunning(ctx, name) })
	logs, _ := harness.Client{}.Exec(context.Background(), nil, "logs", name)
	if err != nil {
		return start{}, fmt.Errorf("%s: %v\n%s%s", name, err, logs.Stdout, logs.Stderr)
	}
	out, err := docker(ctx, "inspect", "-f", "{{.State.StartedAt}}", name)
	if err != nil {
		return start{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, out)
	if err != nil {
		return start{}, fmt.Errorf("%s: started at %q: %v", name, out, err)
	}
	m := start{ready: ready.Sub(started), own: engineOwn(logs.Stderr + logs.Stdout)}
	if sm := startingUp.FindStringSubmatch(logs.Stderr + logs.Stdout); sm != nil {
		if at, err := time.Parse(time.RFC3339Nano, sm[1]); err == nil {
			m.engine = at.Sub(started)
		}
	}
	if c.after != nil {
		if err := c.after(ctx, name); err != nil {
			return start{}, err
		}
	}
	return m, nil
}

// stillRunning is an error when the container is no longer running.
func stillRunning(ctx context.Context, name string) error {
	out, err := docker(ctx, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)
	if err == nil && !strings.HasPrefix(out, "running") {
		return fmt.Errorf("the container stopped (%s)", out)
	}
	return nil
}

// dryRun runs the image with -dry-run and flags, as a start would run it, and
// returns the engine's command line: the last line dinv prints. Where dinv
// starts the engine's containerd first (the lines before it), the engine
// line loses its --containerd: the references run the engine alone, which
// then starts its own containerd, as docker:dind's does.
func (s *setup) dryRun(ctx context.Context, certDir string, flags ...string) ([]string, error) {
	args := append([]string{"run", "--rm"}, s.common(namePrefix+"dry-run", certDir)...)
	args = append(append(args, s.image, "-dry-run"), flags...)
	out, err := docker(ctx, args...)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	last := lines[len(lines)-1]
	var cmd []string
	if err := json.Unmarshal([]byte(last), &cmd); err != nil || len(cmd) == 0 {
		return nil, fmt.Errorf("-dry-run %v printed %q, not a JSON command line", flags, last)
	}
	if len(lines) > 1 {
		cmd = withoutContainerd(cmd)
	}
	return cmd, nil
}

// withoutContainerd is cmd without its --containerd flag.
func withoutContainerd(cmd []string) []string {
	out := make([]string, 0, len(cmd))
	for _, a := range cmd {
		if !strings.HasPrefix(a, "--containerd=") {
			out = append(out, a)
		}
	}
	return out
}

// bare returns the docker run arguments that start the image with cmd as its
// entrypoint instead of /dinv: the bare engine. dinv's --host=fd:// (its
// socket activation) becomes the port it stands for, which the bare engine
// binds itself: nothing hands it a socket.
func (s *setup) bare(cmd []string, port int) []string {
	args := make([]string, 0, len(cmd)-1)
	for _, a := range cmd[1:] {
		if a == "--host=fd://" {
			a = fmt.Sprintf("--host=tcp://0.0.0.0:%d", port)
		}
		args = append(args, a)
	}
	return append([]string{"--entrypoint", cmd[0], s.image}, args...)
}

// launcherPath is where the launcher is mounted in the by-hand contenders.
const launcherPath = "/dinv-bench-launch"

// byHand returns the docker run arguments that start the image with the
// launcher as its entrypoint: it binds port and execs cmd (a -dry-run command
// line with --host=fd://) with the socket activated.
func (s *setup) byHand(port int, cmd []string) []string {
	return append([]string{"--entrypoint", launcherPath, s.image, strconv.Itoa(port)}, cmd...)
}

// buildLauncher builds bench/launcher, static, into s.dir.
func (s *setup) buildLauncher(ctx context.Context) error {
	return harness.Build(ctx, "bench/launcher", filepath.Join(s.dir, "launcher"))
}

// rss reads VmRSS (KiB) of dinv (PID 1), dockerd (its pid file) and the
// engine's containerd (the engine's pid file of the one it manages, else the
// process named containerd: dinv's; 0 when it has none) in a running DinV
// container.
func rss(ctx context.Context, container string) (dinv, dockerd, containerd int64, err error) {
	const script = `c=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null) || ` +
		`for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = containerd ] && c=${d#/proc/} && break; done; ` +
		`for p in dinv:1 dockerd:$(cat /var/run/docker.pid) containerd:$c; do ` +
		`echo "${p%%:*} $(grep VmRSS /proc/${p#*:}/status 2>/dev/null)"; done`
	out, err := docker(ctx, "exec", container, "sh", "-c", script)
	if err != nil {
		return 0, 0, 0, err
	}
	kb := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 { // dinv VmRSS: 5120 kB
			kb[f[0]], _ = strconv.ParseInt(f[2], 10, 64)
		}
	}
	if kb["dinv"] == 0 || kb["dockerd"] == 0 {
		return 0, 0, 0, fmt.Errorf("%s: no VmRSS for dinv or dockerd in %q", container, out)
	}
	return kb["dinv"], kb["dockerd"], kb["containerd"], nil
}

// stageTime is one line of the per-stage table.
type stageTime struct {
	name string
	d    time.Duration
}

// stageDurations starts one DinV container with DEBUG=true and JSON logs,
// waits until it is ready and returns each stage's duration from the
// runner's debug lines ("done" with "duration"), in run order, then the sum
// of those before the engine's start and the time to ready from outside.
func (s *setup) stageDurations(ctx context.Context, c contender) ([]stageTime, error) {
	c.id, c.env = "stages", []string{"DEBUG=true", "DINV_LOG_FORMAT=json"}
	var rows []stageTime
	c.after = func(ctx context.Context, name string) error {
		r, err := harness.Client{}.Exec(ctx, nil, "logs", name)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(r.Stdout+"\n"+r.Stderr, "\n") {
			var e struct {
				Module   string  `json:"@module"`
				Message  string  `json:"@message"`
				Duration float64 `json:"duration"` // hclog writes a time.Duration in ns
			}
			if json.Unmarshal([]byte(l), &e) == nil && e.Message == "done" && strings.HasPrefix(e.Module, "dinv.") {
				rows = append(rows, stageTime{strings.TrimPrefix(e.Module, "dinv."), time.Duration(e.Duration)})
			}
		}
		return nil
	}
	m, err := s.startOnce(ctx, c, 0)
	if err != nil {
		return nil, err
	}
	var before time.Duration
	for _, r := range rows {
		if r.name == "engine" {
			break
		}
		before += r.d
	}
	return append(rows, stageTime{"all stages before engine", before}, stageTime{"start to the engine's first log line", m.engine},
		stageTime{"start to ready (from outside)", m.ready}), nil
}

// certsDigest is the content of the certificate files in dir, to tell
// whether a run changed them.
func certsDigest(dir string) string {
	var b strings.Builder
	for _, f := range []string{"ca.crt", "docker.crt", "docker-client.crt"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		b.Write(data)
	}
	return b.String()
}

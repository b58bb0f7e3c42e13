//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// The README's quick start and examples are read from README.md itself and
// run line by line with bash, as a user pastes them, so that the README and
// its proof cannot drift apart. Each example runs in a world of its own: the
// `docker` its lines call is this test binary (readmeDocker), which hands
// every call to the real CLI after filling in what the machine needs:
//
//   - the image `dinv` is the image under test;
//   - the README's names (the container `dinv`, the volumes `dinv-certs`,
//     `dinv-data`, the network `dinv-net`) are unique names of the suite,
//     and what the CLI prints shows the README's names again (so that
//     `docker inspect dinv | jq '...Networks["dinv-net"]...'` works);
//   - the README's host ports (12375, 2376) are free ports;
//   - `--privileged` is the option set the machine's engine grants
//     (harness.Probe), and what it makes carries the suite's labels;
//   - after a `docker run -d` or `docker start` of a DinV container, it waits
//     until `/dinv -healthcheck` passes, as the README tells a script to:
//     the first call racing the start is TestFirstCall's matter.

// readmeExample is one code block of the README: the quick start, or one
// numbered item of Examples.
type readmeExample struct {
	name  string   // "quick start", "example 1"
	title string   // the item's text: "Your own certificates (...)"
	lines []string // the commands, comments left out
}

var numberedItem = regexp.MustCompile(`^(\d+)\. (.*)$`)

// readmeExamples reads the quick start's code block and each numbered
// example's from the README's text.
func readmeExamples(readme string) ([]readmeExample, error) {
	var out []readmeExample
	var cur *readmeExample
	section := ""
	indent := ""
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "## ") {
			section, cur = strings.TrimPrefix(line, "## "), nil
			if section == "Quick start" {
				out = append(out, readmeExample{name: "quick start"})
				cur, indent = &out[len(out)-1], "    "
			}
			continue
		}
		if section == "Examples" {
			if m := numberedItem.FindStringSubmatch(line); m != nil {
				out = append(out, readmeExample{name: "example " + m[1], title: m[2]})
				cur, indent = &out[len(out)-1], "        "
				continue
			}
		}
		if cur == nil || !strings.HasPrefix(line, indent) {
			continue
		}
		cmd := strings.TrimSpace(line)
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			continue
		}
		cur.lines = append(cur.lines, cmd)
	}
	for _, e := range out {
		if len(e.lines) == 0 {
			return nil, fmt.Errorf("README: %s has no command lines", e.name)
		}
	}
	return out, nil
}

// readReadme reads the repository's README.md (two directories up).
func readReadme(t *testing.T) map[string]readmeExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples, err := readmeExamples(string(b))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]readmeExample{}
	for _, e := range examples {
		byName[e.name] = e
	}
	return byName
}

// readmeWorld is what readmeDocker fills in for one example: it travels to
// the wrapper as JSON in readmeDockerEnv.
type readmeWorld struct {
	Docker     string            `json:"docker"`     // the real CLI
	Image      string            `json:"image"`      // for the README's `dinv`
	Names      map[string]string `json:"names"`      // README name -> unique name
	Ports      map[string]string `json:"ports"`      // README host port -> free port
	Privileges []string          `json:"privileges"` // for --privileged
	Labels     []string          `json:"labels"`     // docker options labelling what is made
}

// readmeDockerEnv carries the world to the wrapper; set, the test binary is
// the wrapper (see TestMain).
const readmeDockerEnv = "DINV_E2E_README_DOCKER"

// The README's names and host ports.
var (
	readmeNames = []string{"dinv", "dinv-certs", "dinv-data", "dinv-net"}
	readmePorts = []string{"12375", "2376"}
)

// newReadmeWorld makes the unique names and free ports of one example and
// removes what its lines made when the test ends.
func newReadmeWorld(t *testing.T, image string) *readmeWorld {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal(err)
	}
	p, err := harness.Probe(image)
	if err != nil {
		t.Fatal(err)
	}
	w := &readmeWorld{Docker: docker, Image: image, Names: map[string]string{}, Ports: map[string]string{},
		Privileges: p.Options, Labels: harness.Labels()}
	for _, n := range readmeNames {
		w.Names[n] = harness.Name("readme-" + n)
	}
	for _, port := range readmePorts {
		w.Ports[port] = strconv.Itoa(harness.FreePort(t))
	}
	t.Cleanup(func() {
		c := w.container()
		if t.Failed() {
			t.Logf("log of %s (%s):\n%s", c.Name, image, c.Logs(t))
		}
		harness.Client{}.Try(t, "rm", "-f", "-v", c.Name)
		harness.Client{}.Try(t, "network", "rm", w.Names["dinv-net"])
		harness.Client{}.Try(t, "volume", "rm", "-f", w.Names["dinv-certs"], w.Names["dinv-data"])
	})
	return w
}

// container is the README's container `dinv` in this world.
func (w *readmeWorld) container() *harness.DinV {
	return &harness.DinV{Name: w.Names["dinv"], Image: w.Image}
}

// port is the free port standing for the README's host port.
func (w *readmeWorld) port(readmePort string) string { return w.Ports[readmePort] }

// run runs one README line with bash in dir, the wrapper first in PATH, and
// returns what it printed. With until, it stops the line (and what it
// started) once its output holds until, or fails after a minute.
func (w *readmeWorld) run(t *testing.T, dir, line, until string) string {
	t.Helper()
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nexec " + strconv.Quote(self) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	world, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), harness.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), readmeDockerEnv+"="+string(world))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &harness.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if until != "" {
		for end := time.Now().Add(time.Minute); !strings.Contains(out.String(), until); time.Sleep(50 * time.Millisecond) {
			select {
			case err := <-done:
				t.Fatalf("README line %q ended (%v) before printing %q:\n%s", line, err, until, out)
			default:
			}
			if time.Now().After(end) {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
				t.Fatalf("README line %q: no %q within a minute:\n%s", line, until, out)
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		<-done
		t.Logf("README: %s (stopped after %.1f s, once it printed %q)", line, time.Since(start).Seconds(), until)
		return out.String()
	}
	if err := <-done; err != nil {
		t.Fatalf("README line %q: %v\n%s", line, err, out)
	}
	t.Logf("README: %s (%.1f s)", line, time.Since(start).Seconds())
	return out.String()
}

// runAll runs an example's lines in a new directory, returning the last
// line's output; prepare, when not nil, fills the directory first.
func (w *readmeWorld) runAll(t *testing.T, e readmeExample, prepare func(dir string)) (dir, last string) {
	t.Helper()
	dir = t.TempDir()
	if prepare != nil {
		prepare(dir)
	}
	for _, line := range e.lines {
		last = w.run(t, dir, line, "")
	}
	return dir, last
}

// readmeDocker is the test binary as the README lines' `docker`: it runs the
// real CLI with args rewritten for world (see the top of this file) and
// returns its exit code.
func readmeDocker(worldJSON string, args []string) int {
	var w readmeWorld
	if err := json.Unmarshal([]byte(worldJSON), &w); err != nil {
		fmt.Fprintln(os.Stderr, "readme docker:", err)
		return 125
	}
	args, wait := w.rewrite(args)
	cmd := exec.Command(w.Docker, args...)
	cmd.Stdin = os.Stdin
	stdout, stderr := w.unmapping(os.Stdout), w.unmapping(os.Stderr)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	stdout.flush()
	stderr.flush()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "readme docker:", err)
		return 125
	}
	if code == 0 && wait != "" {
		w.waitHealthy(wait)
	}
	return code
}

// globalValued are the docker CLI's global options that take a value.
var globalValued = map[string]bool{"-H": true, "--host": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
	"--context": true, "-c": true, "--config": true, "-l": true, "--log-level": true}

// runValued are the docker run and create options (of those the README
// uses, and their kin) that take a value.
var runValued = map[string]bool{"-p": true, "--publish": true, "-v": true, "--volume": true, "-e": true, "--env": true,
	"--name": true, "--network": true, "--net": true, "--entrypoint": true, "--cap-add": true, "--cap-drop": true,
	"--security-opt": true, "--device": true, "--device-cgroup-rule": true, "--runtime": true, "--ip": true,
	"--tmpfs": true, "--label": true, "-l": true, "--hostname": true, "-h": true, "-w": true, "--workdir": true,
	"-u": true, "--user": true, "--mount": true, "--network-alias": true, "--restart": true, "-m": true, "--memory": true}

// rewrite returns the real CLI's arguments for args, and the container to
// wait for when the call starts a DinV container.
func (w *readmeWorld) rewrite(args []string) ([]string, string) {
	var out []string
	i := 0
	// Global options: -H's address gets the world's port or name.
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		out = append(out, args[i])
		if globalValued[args[i]] && i+1 < len(args) {
			i++
			out = append(out, w.mapAddr(args[i]))
		}
	}
	if i == len(args) {
		return out, ""
	}
	sub := args[i:]
	switch {
	case sub[0] == "run" || sub[0] == "create":
		return w.rewriteRun(out, sub)
	case len(sub) >= 2 && (sub[0] == "volume" || sub[0] == "network") && sub[1] == "create":
		out = append(append(out, sub[:2]...), w.Labels...)
		for _, a := range sub[2:] {
			out = append(out, w.mapName(a))
		}
		return out, ""
	}
	wait := ""
	for j, a := range sub {
		a = w.mapName(a)
		out = append(out, a)
		if sub[0] == "start" && j > 0 && a == w.Names["dinv"] {
			wait = a
		}
	}
	return out, wait
}

// rewriteRun rewrites `docker run|create OPTIONS IMAGE ARGS`.
func (w *readmeWorld) rewriteRun(out, sub []string) ([]string, string) {
	out = append(append(out, sub[0]), w.Labels...)
	detached, name := false, ""
	i := 1
	for ; i < len(sub) && strings.HasPrefix(sub[i], "-"); i++ {
		a := sub[i]
		switch {
		case a == "--privileged":
			out = append(out, w.Privileges...)
			continue
		case a == "-d" || a == "--detach":
			detached = true
		}
		out = append(out, a)
		if runValued[a] && i+1 < len(sub) {
			i++
			v := sub[i]
			switch a {
			case "-p", "--publish":
				v = w.mapPublish(v)
			case "--name":
				v = w.mapName(v)
				name = v
			default:
				v = w.mapName(v)
			}
			out = append(out, v)
		}
	}
	if i == len(sub) {
		return out, ""
	}
	image := sub[i]
	isDinV := image == "dinv"
	if isDinV {
		image = w.Image
	}
	out = append(out, image)
	for _, a := range sub[i+1:] {
		out = append(out, w.mapName(a))
	}
	if sub[0] == "run" && detached && isDinV && name != "" {
		return out, name
	}
	return out, ""
}

// mapName maps a README name, alone or before a colon (dinv:/certs/x,
// dinv:2375, dinv-certs:/certs), to the world's.
func (w *readmeWorld) mapName(a string) string {
	head, rest, colon := strings.Cut(a, ":")
	if n, ok := w.Names[head]; ok {
		if colon {
			return n + ":" + rest
		}
		return n
	}
	return a
}

// mapPublish maps the host port of -p HOST:CONTAINER (or IP:HOST:CONTAINER).
func (w *readmeWorld) mapPublish(v string) string {
	parts := strings.Split(v, ":")
	if len(parts) >= 2 {
		if p, ok := w.Ports[parts[len(parts)-2]]; ok {
			parts[len(parts)-2] = p
		}
	}
	return strings.Join(parts, ":")
}

// mapAddr maps -H's value: 127.0.0.1:PORT to the free port, dinv:2375 to
// the world's container name.
func (w *readmeWorld) mapAddr(v string) string {
	scheme, addr, ok := strings.Cut(v, "://")
	if !ok {
		scheme, addr = "", v
	}
	if host, port, ok := strings.Cut(addr, ":"); ok && host == "127.0.0.1" {
		if p, ok := w.Ports[port]; ok {
			addr = host + ":" + p
		}
	} else {
		addr = w.mapName(addr)
	}
	if scheme != "" {
		return scheme + "://" + addr
	}
	return addr
}

// waitHealthy waits until the container's /dinv -healthcheck passes, it
// stops running, or 90 s pass; the README's next line then runs.
func (w *readmeWorld) waitHealthy(name string) {
	for end := time.Now().Add(90 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if exec.Command(w.Docker, "exec", name, "/dinv", "-healthcheck").Run() == nil {
			return
		}
		out, err := exec.Command(w.Docker, "inspect", "-f", "{{.State.Running}}", name).Output()
		if err != nil || strings.TrimSpace(string(out)) != "true" {
			return
		}
	}
}

// lineWriter writes whole lines to w with the world's unique names replaced
// by the README's.
type lineWriter struct {
	w   io.Writer
	r   *strings.Replacer
	buf []byte
}

func (w *readmeWorld) unmapping(to io.Writer) *lineWriter {
	// The longest first: the replacer tries its pairs in order.
	uniques := slices.Collect(maps.Keys(w.unique()))
	slices.SortFunc(uniques, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, u := range uniques {
		pairs = append(pairs, u, w.unique()[u])
	}
	return &lineWriter{w: to, r: strings.NewReplacer(pairs...)}
}

// unique maps the world's unique names back to the README's.
func (w *readmeWorld) unique() map[string]string {
	m := map[string]string{}
	for readme, u := range w.Names {
		m[u] = readme
	}
	return m
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := io.WriteString(l.w, l.r.Replace(string(l.buf[:i+1]))); err != nil {
			return 0, err
		}
		l.buf = l.buf[i+1:]
	}
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		io.WriteString(l.w, l.r.Replace(string(l.buf)))
		l.buf = nil
	}
}

// Reading the README: the blocks the tests run, in order, with their lines.
func TestReadmeExamplesAreRead(t *testing.T) {
	examples := readReadme(t)
	for _, name := range []string{"quick start", "example 1", "example 2", "example 3", "example 4", "example 5", "example 6"} {
		if _, ok := examples[name]; !ok {
			t.Errorf("README: no %s (TestExamples runs it)", name)
		}
	}
	if len(examples) != 7 {
		t.Errorf("README: %d blocks, TestExamples runs 7: give a new example its test", len(examples))
	}
	for _, e := range examples {
		for _, line := range e.lines {
			if !strings.Contains(line, "docker") && !strings.HasPrefix(line, "until ") {
				t.Errorf("README %s: %q is not a docker command", e.name, line)
			}
		}
	}
}

// The wrapper's rewriting, call by call, without an engine.
func TestReadmeDockerFillsInTheMachinesWorld(t *testing.T) {
	w := &readmeWorld{Image: "dinv:28.5", Privileges: []string{"--cap-add", "ALL"}, Labels: []string{"--label", "l=1"},
		Names: map[string]string{"dinv": "U", "dinv-certs": "UC", "dinv-net": "UN"}, Ports: map[string]string{"12375": "40001", "2376": "40002"}}
	tests := []struct {
		name, in, out, wait string
	}{
		{"the quick start's run waits for the host", "run --privileged -p 12375:2375 -d --name dinv dinv",
			"run --label l=1 --cap-add ALL -p 40001:2375 -d --name U dinv:28.5", "U"},
		{"the client reaches the free port", "-H 127.0.0.1:12375 info", "-H 127.0.0.1:40001 info", ""},
		{"a created container is waited for when started", "create --privileged -p 2376:2376 --name dinv -v dinv-certs:/certs dinv -tlsverify",
			"create --label l=1 --cap-add ALL -p 40002:2376 --name U -v UC:/certs dinv:28.5 -tlsverify", ""},
		{"start", "start dinv", "start U", "U"},
		{"cp names the container", "cp server.key dinv:/certs/docker.key", "cp server.key U:/certs/docker.key", ""},
		{"a client container is not waited for, its arguments name the host", "run --rm --network dinv-net --entrypoint docker dinv -H dinv:2375 info",
			"run --label l=1 --rm --network UN --entrypoint docker dinv:28.5 -H U:2375 info", ""},
		{"exec keeps /dinv", "exec dinv /dinv -healthcheck", "exec U /dinv -healthcheck", ""},
		{"volumes are labelled", "volume create dinv-certs", "volume create --label l=1 UC", ""},
		{"TLS client options", "--tlsverify --tlscacert ca.crt --tlscert client.crt --tlskey client.key -H 127.0.0.1:2376 info",
			"--tlsverify --tlscacert ca.crt --tlscert client.crt --tlskey client.key -H 127.0.0.1:40002 info", ""},
		{"another image is left alone", "run --rm busybox echo dinv", "run --label l=1 --rm busybox echo U", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, wait := w.rewrite(strings.Fields(tt.in))
			if strings.Join(out, " ") != tt.out || wait != tt.wait {
				t.Errorf("rewrite(%q) = %q, wait %q; want %q, wait %q", tt.in, strings.Join(out, " "), wait, tt.out, tt.wait)
			}
		})
	}
	var buf bytes.Buffer
	lw := w.unmapping(&buf)
	lw.Write([]byte(`"Networks": {"UN": {"IPAddress": "10.0.0.2"}},` + "\n" + `"Name": "/U`))
	lw.flush()
	if got := buf.String(); got != `"Networks": {"dinv-net": {"IPAddress": "10.0.0.2"}},`+"\n"+`"Name": "/dinv` {
		t.Errorf("unmapped output %q", got)
	}
}

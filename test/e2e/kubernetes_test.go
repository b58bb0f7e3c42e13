//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/examples/kubernetes"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/test/harness"
)

// The Kubernetes shapes of examples/kubernetes, proved without a
// cluster with the primitives a pod is made of, on the machine's engine:
//   - one network namespace for the pod: a pause container holds it and
//     every container of the pod joins it (--network container:PAUSE);
//   - emptyDirs: named volumes made world-writable (0777), as the kubelet
//     makes them;
//   - a container restart as the kubelet does it: the container is killed
//     (SIGKILL) and a new one of the same spec starts on the same volumes,
//     with a new filesystem of its own (and new anonymous volumes);
//   - the manifests' users (runAsUser, supplementalGroups), capabilities
//     dropped and no privilege escalation;
//   - `privileged: true` is the option set the machine's engine grants for
//     it (harness.Probe: --privileged, or its explicit equivalent here).
//
// The containers are built from the manifests themselves
// (examples/kubernetes: arguments, environment, mounts, users, probes); the
// images a cluster would pull (actions-runner, the job's) are stood in for
// by the DinV image under test, which carries the docker CLI and bash.
// What this cannot show: a real kubelet and container runtime (containerd or
// CRI-O, their cgroup and /proc handling, image volumes), admission policies,
// and the chart's and the runner's own templating.
func TestKubernetes(t *testing.T) {
	requireTestImages(t)
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			start := time.Now()
			t.Cleanup(func() { t.Logf("%s: Kubernetes shapes took %.1f s", image, time.Since(start).Seconds()) })
			t.Run("ARC dind mode", func(t *testing.T) { testARC(t, image) })
			t.Run("GitLab Kubernetes executor", func(t *testing.T) { testGitLabKubernetes(t, image) })
			t.Run("pod with DinV as a native sidecar", func(t *testing.T) { testNativeSidecar(t, image) })
		})
	}
}

// pod is a Kubernetes pod made of containers on the machine's engine.
type pod struct {
	pause   string // the container holding the network namespace
	spec    kubernetes.PodSpec
	volumes map[string]string // the pod's volume -> its docker volume
	runs    map[string][]string
}

// newPod makes the pod's emptyDirs and its pause container; hostAliases
// ("docker:127.0.0.1") go into the pod's /etc/hosts, as spec.hostAliases
// (and GitLab's service aliases) do.
func newPod(t *testing.T, image string, spec kubernetes.PodSpec, hostAliases ...string) *pod {
	t.Helper()
	p := &pod{pause: harness.Name("pod"), spec: spec, volumes: map[string]string{}, runs: map[string][]string{}}
	for _, v := range spec.Volumes {
		vol := harness.Volume(t, "emptydir-"+v.Name)
		harness.Client{}.Run(t, "run", "--rm", "-v", vol+":/v", "--entrypoint", "chmod", image, "0777", "/v")
		p.volumes[v.Name] = vol
	}
	args := []string{"run", "-d", "--name", p.pause}
	for _, h := range hostAliases {
		args = append(args, "--add-host", h)
	}
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", p.pause) })
	harness.Client{}.Run(t, append(args, "--entrypoint", "sleep", image, "infinity")...)
	return p
}

// standIn says how a container of the spec runs here.
type standIn struct {
	image string
	// command replaces the container's command and args (a stand-in image
	// that does not have the real one's program); nil keeps them.
	command []string
	// user is --user when the spec gives runAsUser: "UID:GID" as the real
	// image's /etc/passwd would make it; "" for runAsUser alone.
	user string
	// extra docker run options (the job's environment, say).
	extra []string
}

func (p *pod) name(container string) string { return p.pause + "-" + container }

// runArgs are the docker run options and arguments of a container of the
// spec: the pod's network namespace, its mounts, environment, user, groups
// and privileges.
func (p *pod) runArgs(t *testing.T, c kubernetes.Container, s standIn) []string {
	t.Helper()
	args := []string{"--name", p.name(c.Name), "--network", "container:" + p.pause}
	if c.Privileged() {
		privs, err := harness.Probe(s.image)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, privs.Options...)
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			u := s.user
			if u == "" {
				u = strconv.FormatInt(*sc.RunAsUser, 10)
			}
			args = append(args, "--user", u)
			if p.spec.SecurityContext != nil {
				for _, g := range p.spec.SecurityContext.SupplementalGroups {
					args = append(args, "--group-add", strconv.FormatInt(g, 10))
				}
			}
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Drop {
				args = append(args, "--cap-drop", c)
			}
		}
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			args = append(args, "--security-opt", "no-new-privileges")
		}
	}
	for _, e := range c.Env {
		args = append(args, "-e", e.Name+"="+e.Value)
	}
	for _, m := range c.VolumeMounts {
		vol, ok := p.volumes[m.Name]
		if !ok {
			t.Fatalf("%s mounts %s: no such volume", c.Name, m.Name)
		}
		spec := vol + ":" + m.MountPath
		if m.ReadOnly {
			spec += ":ro"
		}
		args = append(args, "-v", spec)
	}
	args = append(args, s.extra...)
	cmd, rest := c.Expand(c.Command), c.Expand(c.Args)
	if s.command != nil {
		cmd, rest = s.command, nil
	}
	if len(cmd) > 0 {
		args = append(args, "--entrypoint", cmd[0], s.image)
		return append(append(args, cmd[1:]...), rest...)
	}
	return append(append(args, s.image), rest...)
}

// start starts the spec's container and removes it when the test ends; the
// same options start it again in restart.
func (p *pod) start(t *testing.T, container string, s standIn) {
	t.Helper()
	c, ok := p.spec.Container(container)
	if !ok {
		t.Fatalf("the manifest has no container %s", container)
	}
	args := p.runArgs(t, c, s)
	p.runs[container] = args
	name := p.name(container)
	t.Cleanup(func() {
		if t.Failed() {
			r := harness.Client{}.Try(t, "logs", "--tail", "60", name)
			t.Logf("log of %s:\n%s%s", name, r.Stdout, r.Stderr)
		}
		harness.Client{}.Try(t, "rm", "-f", "-v", name)
	})
	harness.Client{}.Run(t, append([]string{"run", "-d"}, args...)...)
}

// runToEnd runs an init container of the spec to its end.
func (p *pod) runToEnd(t *testing.T, container string, s standIn) {
	t.Helper()
	c, ok := p.spec.Container(container)
	if !ok {
		t.Fatalf("the manifest has no container %s", container)
	}
	harness.Client{}.Run(t, append([]string{"run", "--rm"}, p.runArgs(t, c, s)...)...)
}

// kill kills the container as an OOM kill or a failed liveness probe does.
func (p *pod) kill(t *testing.T, container string) {
	t.Helper()
	harness.Client{}.Run(t, "kill", "-s", "KILL", p.name(container))
	harness.Client{}.Run(t, "wait", p.name(container))
}

// restart starts a killed container again as the kubelet does: a new
// container of the same spec on the same volumes and network namespace.
func (p *pod) restart(t *testing.T, container string) {
	t.Helper()
	harness.Client{}.Run(t, "rm", "-v", p.name(container))
	harness.Client{}.Run(t, append([]string{"run", "-d"}, p.runs[container]...)...)
}

// killLeavingStaleRun kills sidecar and checks that the killed engine's pid
// file and socket are still on volume, the /var/run its pod shares: the case
// a restart must get past.
func (p *pod) killLeavingStaleRun(t *testing.T, image, sidecar, volume string) {
	t.Helper()
	p.kill(t, sidecar)
	left := p.volumeFiles(t, image, volume)
	if !contains(left, "docker.pid") || !contains(left, "docker.sock") {
		t.Fatalf("after the kill /var/run holds %v: no stale pid file and socket to test with", left)
	}
}

// restartUntilServed restarts the killed sidecar, waits for its startup
// probe, then until `docker info` in client answers.
func (p *pod) restartUntilServed(t *testing.T, sidecar, client string) {
	t.Helper()
	p.restart(t, sidecar)
	p.startupProbe(t, sidecar)
	p.until(t, client, "docker info in "+client+" after the restart", 30*time.Second, func() harness.Result {
		return p.exec(t, client, nil, "docker", "info")
	})
}

// exec runs a command in a container of the pod.
func (p *pod) exec(t *testing.T, container string, opts []string, cmd ...string) harness.Result {
	t.Helper()
	return harness.Client{}.Try(t, append(append(append([]string{"exec"}, opts...), p.name(container)), cmd...)...)
}

// sh runs a script in a container of the pod, failing the test unless it
// exits 0, and returns its stdout.
func (p *pod) sh(t *testing.T, container, script string) string {
	t.Helper()
	r := p.exec(t, container, nil, "bash", "-ec", script)
	if r.ExitCode != 0 {
		t.Fatalf("in %s:\n%s\n%s", container, script, r)
	}
	return r.Stdout
}

// startupProbe runs the container's startup probe until it succeeds, as the
// kubelet does, failing the test after the probe's failureThreshold
// periods (or when the container stops).
func (p *pod) startupProbe(t *testing.T, container string) {
	t.Helper()
	c, _ := p.spec.Container(container)
	if c.StartupProbe == nil || c.StartupProbe.Exec == nil {
		t.Fatalf("%s has no exec startup probe", container)
	}
	pr := c.StartupProbe
	limit := time.Duration(pr.InitialDelaySeconds+pr.PeriodSeconds*pr.FailureThreshold) * time.Second
	p.until(t, container, fmt.Sprintf("%s's startup probe %q", container, pr.Exec.Command), limit, func() harness.Result {
		return p.exec(t, container, nil, pr.Exec.Command...)
	})
}

// until runs try every 200 ms until it exits 0, failing the test after
// limit or when the watched container has stopped.
func (p *pod) until(t *testing.T, watched, what string, limit time.Duration, try func() harness.Result) harness.Result {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := try()
		if r.ExitCode == 0 {
			return r
		}
		if s := (harness.Client{}).Run(t, "inspect", "-f", "{{.State.Status}}", p.name(watched)); s != "running" {
			t.Fatalf("%s: %s stopped (%s); last try:\n%s", what, watched, s, r)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no success within %s; last try:\n%s", what, limit, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// loadBusybox loads the busybox test image into the engine of the
// container's unix socket (without the job's TLS variables, which the 20.10
// CLI would apply to the socket too).
func (p *pod) loadBusybox(t *testing.T, container string) {
	t.Helper()
	if err := harness.Pipe(context.Background(), harness.Client{}, []string{"save", busybox},
		harness.Client{}, []string{"exec", "-i", p.name(container), "env", "-u", "DOCKER_HOST", "-u", "DOCKER_TLS_VERIFY", "-u", "DOCKER_CERT_PATH",
			"docker", "load", "-q"}); err != nil {
		t.Fatalf("load %s into %s: %v", busybox, container, err)
	}
}

// volumeFiles lists the files at the top of a pod volume, as another
// container of the pod would see them.
func (p *pod) volumeFiles(t *testing.T, image, volume string) []string {
	t.Helper()
	out := harness.Client{}.Run(t, "run", "--rm", "-v", p.volumes[volume]+":/v:ro", "--entrypoint", "ls", image, "-A", "/v")
	return strings.Fields(out)
}

// engineHosts are the --host values of the engine running in container, its
// command line read as dockerd reads it (config.ParseEngineArgs).
func (p *pod) engineHosts(t *testing.T, container string) []string {
	t.Helper()
	out := p.sh(t, container, `tr '\0' '\n' </proc/$(cat /var/run/docker.pid)/cmdline`)
	words := strings.Split(strings.TrimSpace(out), "\n")
	flags, err := config.ParseEngineArgs(words[1:])
	if err != nil {
		t.Fatalf("the engine's command line %q: %v", words, err)
	}
	var hosts []string
	for _, f := range flags {
		if f.Name == "host" {
			hosts = append(hosts, f.Value)
		}
	}
	sort.Strings(hosts)
	return hosts
}

// fetch is a bash script that GETs http://127.0.0.1:PORT/ with bash's
// /dev/tcp (the stand-in images have no HTTP client) and prints the answer.
func fetch(port int) string {
	return fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3; cat <&3`, port)
}

// webServer runs a busybox web server inside the engine, publishing port,
// from container's docker CLI (env: DOCKER_HOST and the rest as the
// container has them).
const webServer = `docker run -d --name web -p %d:80 ` + busybox + ` sh -c 'mkdir -p /www && echo %s >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null`

// publishedPort checks that a port published by the engine is reached from
// container over the pod's localhost.
func (p *pod) publishedPort(t *testing.T, container string, port int, word string) {
	t.Helper()
	p.sh(t, container, fmt.Sprintf(webServer, port, word))
	r := p.until(t, container, "the published port from "+container, 30*time.Second, func() harness.Result {
		return p.exec(t, container, nil, "bash", "-c", fetch(port))
	})
	if !strings.Contains(r.Stdout, word) {
		t.Errorf("GET localhost:%d from %s: %q, want %q", port, container, r.Stdout, word)
	}
	p.sh(t, container, "docker rm -f web >/dev/null")
}

// actions-runner-controller's dind mode (examples/kubernetes/arc-values.yaml).
func testARC(t *testing.T, image string) {
	values, err := kubernetes.LoadARCValues(filepath.Join(kubernetes.Dir(), "arc-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := values.Template.Spec
	dind, _ := spec.Container("dind")
	gid := dind.Getenv("DOCKER_GROUP_GID")
	p := newPod(t, image, spec)
	// The runner image's externals, copied into their emptyDir before the
	// sidecar starts: here a marker file.
	p.runToEnd(t, "init-dind-externals", standIn{image: image, command: []string{"sh", "-c", "echo node-externals >/home/runner/tmpDir/marker"}})
	p.start(t, "dind", standIn{image: image})
	p.startupProbe(t, "dind")
	// The runner (actions-runner's user runner is 1001:1001), started once
	// the sidecar's startup probe passed, as the kubelet does.
	runner := standIn{image: image, command: []string{"sleep", "infinity"}, user: "1001:1001"}
	p.start(t, "runner", runner)
	p.loadBusybox(t, "dind")

	t.Run("the engine listens on the chart's socket only", func(t *testing.T) {
		if got := p.engineHosts(t, "dind"); strings.Join(got, " ") != "unix:///var/run/docker.sock" {
			t.Errorf("the engine's hosts: %q, want only unix:///var/run/docker.sock", got)
		}
		if r := p.exec(t, "runner", nil, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2375"); r.ExitCode == 0 {
			t.Error("something accepts on the pod's port 2375: the chart asks for the socket only")
		}
	})
	t.Run("the runner is uid 1001 in the socket's group and uses it", func(t *testing.T) {
		if got := strings.TrimSpace(p.sh(t, "runner", "id -u")); got != "1001" {
			t.Errorf("the runner's uid: %s", got)
		}
		if got := strings.Fields(p.sh(t, "runner", "id -G")); !contains(got, gid) {
			t.Errorf("the runner's groups %v lack the socket's %s", got, gid)
		}
		if got := strings.TrimSpace(p.sh(t, "runner", "stat -c '%g %a' /var/run/docker.sock")); got != gid+" 660" {
			t.Errorf("the socket: group and mode %q, want %s 660", got, gid)
		}
		p.sh(t, "runner", "docker info >/dev/null")
		// The group is what lets the runner in: the same user without it,
		// in another container of the pod on the same socket, is refused.
		r := harness.Client{}.Try(t, "run", "--rm", "--network", "container:"+p.pause, "--user", "1001:1001",
			"-v", p.volumes["dind-sock"]+":/var/run", "--entrypoint", "docker", image, "info")
		if r.ExitCode == 0 || !strings.Contains(r.Stdout+r.Stderr, "permission denied") { // the 20.10 CLI says it on stdout
			t.Errorf("uid 1001 without group %s: want permission denied on the socket\n%s", gid, r)
		}
	})
	t.Run("bind mounts of the work directory and the externals resolve in the sidecar", func(t *testing.T) {
		out := p.sh(t, "runner", `mkdir -p /home/runner/_work/repo && echo from-the-runner >/home/runner/_work/repo/in.txt
docker run --rm -v /home/runner/_work/repo:/src -v /home/runner/externals:/__e:ro `+busybox+` sh -c 'cat /src/in.txt /__e/marker && echo from-a-job-container >/src/out.txt'
cat /home/runner/_work/repo/out.txt`)
		if want := "from-the-runner\nnode-externals\nfrom-a-job-container\n"; out != want {
			t.Errorf("through the work directory's bind mount: %q, want %q", out, want)
		}
	})
	t.Run("a published port is reached from the runner", func(t *testing.T) {
		p.publishedPort(t, "runner", 8080, "hello-from-arc")
	})
	t.Run("the sidecar killed and restarted on the same volumes", func(t *testing.T) {
		p.killLeavingStaleRun(t, image, "dind", "dind-sock")
		p.restartUntilServed(t, "dind", "runner")
		if got := strings.TrimSpace(p.sh(t, "runner", "stat -c '%g %a' /var/run/docker.sock")); got != gid+" 660" {
			t.Errorf("the socket after the restart: %q, want %s 660", got, gid)
		}
		// A new container: the engine's data is new (the chart keeps
		// /var/lib/docker in the container), the work directory is not.
		p.loadBusybox(t, "dind")
		if out := p.sh(t, "runner", "docker run --rm -v /home/runner/_work/repo:/src "+busybox+" cat /src/out.txt"); out != "from-a-job-container\n" {
			t.Errorf("the work directory after the restart: %q", out)
		}
	})
}

// GitLab Runner's Kubernetes executor (examples/kubernetes/gitlab-runner-config.toml
// and gitlab-ci.yml): the job's container and the DinV service in one pod.
func testGitLabKubernetes(t *testing.T, image string) {
	cfg, err := kubernetes.LoadGitLabConfig(filepath.Join(kubernetes.Dir(), "gitlab-runner-config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := kubernetes.LoadGitLabCI(filepath.Join(kubernetes.Dir(), "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	k, job := cfg.Runners[0].Kubernetes, jobs["build"]
	// The pod the executor makes: the build container, one container per
	// service (every container gets the job's variables and the
	// configured volumes), the service's alias mapped to 127.0.0.1.
	var env []kubernetes.EnvVar
	for name, v := range job.Variables {
		env = append(env, kubernetes.EnvVar{Name: name, Value: v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	var mounts []kubernetes.VolumeMount
	var volumes []kubernetes.Volume
	for _, e := range k.Volumes.EmptyDir {
		mounts = append(mounts, kubernetes.VolumeMount{Name: e.Name, MountPath: e.MountPath})
		volumes = append(volumes, kubernetes.Volume{Name: e.Name, EmptyDir: &kubernetes.EmptyDir{Medium: e.Medium}})
	}
	uid := int64(1001)
	spec := kubernetes.PodSpec{
		Volumes: volumes,
		Containers: []kubernetes.Container{
			// Not root: the job reads the client key GitLab's volume holds.
			{Name: "build", Env: env, VolumeMounts: mounts, SecurityContext: &kubernetes.SecurityContext{RunAsUser: &uid}},
			{Name: "svc-0", Env: env, VolumeMounts: mounts, SecurityContext: &kubernetes.SecurityContext{Privileged: k.ServiceContainerSecurityContext.Privileged},
				StartupProbe: &kubernetes.Probe{Exec: &kubernetes.ExecAction{Command: []string{"docker", "info"}}, PeriodSeconds: 1, FailureThreshold: 90}},
		},
	}
	if p := k.ServiceContainerSecurityContext.Privileged; p == nil || !*p {
		t.Fatal("the configuration's service container is not privileged")
	}
	p := newPod(t, image, spec, k.Services[0].Alias+":127.0.0.1")
	p.start(t, "build", standIn{image: image, command: []string{"sleep", "infinity"}})
	p.start(t, "svc-0", standIn{image: image})
	// The job's first line waits for its service by polling docker info.
	r := p.exec(t, "build", nil, "sh", "-ec", waitReady)
	if r.ExitCode != 0 {
		t.Fatalf("the job's wait for its service:\n%s", r)
	}
	p.loadBusybox(t, "svc-0")
	checkNames := func(t *testing.T) {
		t.Helper()
		cert := parsePEMCert(t, []byte(p.sh(t, "svc-0", "cat /certs/server/cert.pem")))
		for _, name := range []string{"localhost", k.Services[0].Alias, "127.0.0.1"} {
			if err := cert.VerifyHostname(name); err != nil {
				t.Errorf("the server certificate does not cover %s: %v (it has %v %v)", name, err, cert.DNSNames, cert.IPAddresses)
			}
		}
		// The job's CLI verifies the server's name: DOCKER_HOST says
		// localhost, and the alias works too.
		for _, host := range []string{job.Variables["DOCKER_HOST"], "tcp://" + k.Services[0].Alias + ":2376"} {
			r := p.exec(t, "build", []string{"-e", "DOCKER_HOST=" + host}, "docker", "version", "--format", "{{.Server.Version}}")
			if r.ExitCode != 0 {
				t.Errorf("the job's docker CLI with DOCKER_HOST=%s over mutual TLS:\n%s", host, r)
			}
		}
	}

	t.Run("the job reaches the service on localhost over mutual TLS, as uid 1001", func(t *testing.T) {
		if got := strings.TrimSpace(p.sh(t, "build", "id -u")); got != "1001" {
			t.Errorf("the job runs as %s", got)
		}
		checkNames(t)
		if got := strings.Fields(p.sh(t, "build", "ls -A /certs/client")); strings.Join(got, " ") != "ca.pem cert.pem key.pem" {
			t.Errorf("the job's /certs/client holds %v", got)
		}
	})
	t.Run("a published port is reached from the job", func(t *testing.T) {
		p.publishedPort(t, "build", 8080, "hello-from-gitlab")
	})
	t.Run("the service killed and restarted on the same volumes", func(t *testing.T) {
		// GitLab's job pods do not restart containers (restartPolicy
		// Never); a restarted service finds the client files of the CA its
		// first run made (gone with its filesystem) on the kept emptyDir.
		p.kill(t, "svc-0")
		p.restartUntilServed(t, "svc-0", "build")
		checkNames(t)
	})
}

// A plain pod with DinV as a native sidecar (examples/kubernetes/pod.yaml).
func testNativeSidecar(t *testing.T, image string) {
	manifest, err := kubernetes.LoadPod(filepath.Join(kubernetes.Dir(), "pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newPod(t, image, manifest.Spec)
	p.start(t, "dinv", standIn{image: image})
	p.startupProbe(t, "dinv")
	// The main container, started once the sidecar's startup probe passed;
	// its steps are run one by one here instead of its command.
	p.start(t, "job", standIn{image: image, command: []string{"sleep", "infinity"}})
	p.loadBusybox(t, "dinv")
	clientFiles := func() string {
		return p.sh(t, "job", "sha256sum /certs/client/ca.pem /certs/client/cert.pem /certs/client/key.pem")
	}
	p.until(t, "job", "docker info in the job", 30*time.Second, func() harness.Result { return p.exec(t, "job", nil, "docker", "info") })
	before := clientFiles()

	t.Run("the job, not root and without capabilities, runs containers over mutual TLS", func(t *testing.T) {
		if got := strings.TrimSpace(p.sh(t, "job", "id -u; grep CapEff /proc/self/status")); !strings.HasPrefix(got, "1001\n") || !strings.HasSuffix(got, "0000000000000000") {
			t.Errorf("the job's user and capabilities: %q, want 1001 and none", got)
		}
		if out := p.sh(t, "job", "docker run --rm "+busybox+" echo hello from the sidecar"); out != "hello from the sidecar\n" {
			t.Errorf("docker run in the job: %q", out)
		}
	})
	t.Run("a published port is reached from the job", func(t *testing.T) {
		p.publishedPort(t, "job", 8080, "hello-from-the-pod")
	})
	t.Run("the sidecar killed and restarted while the job runs", func(t *testing.T) {
		p.killLeavingStaleRun(t, image, "dinv", "dinv-run")
		p.restartUntilServed(t, "dinv", "job")
		// The CA is kept on its emptyDir: the job's client files are the
		// ones it held, byte for byte.
		if after := clientFiles(); after != before {
			t.Errorf("the client files changed under the running job:\nbefore:\n%safter:\n%s", before, after)
		}
		// The engine's data is on its emptyDir too: the image loaded
		// before the kill is still there.
		if out := p.sh(t, "job", "docker run --rm "+busybox+" echo still here"); out != "still here\n" {
			t.Errorf("after the restart: %q", out)
		}
		if s := strings.TrimSpace((harness.Client{}).Run(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", p.name("job"))); s != "running 0" {
			t.Errorf("the job container: %s, want it running all along", s)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

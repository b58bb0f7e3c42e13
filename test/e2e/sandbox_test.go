//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/internal/host"
	"github.com/dinv/dinv/test/harness"
)

// A Docker host that does not hand over the machine: DinV in gVisor's
// sandbox, under the least privileges it runs with, and with the rootless
// engine, each proven as the README's proof asks (the quickstart, -tlsverify
// with generated certificates, an inner container, a build), and the same
// escape attempts from a nested container of each, against a DinV with
// every privilege (--privileged, or its explicit equivalent here).

// sandbox is one way of running DinV.
type sandbox struct {
	name       string
	image      string
	privileges []string
	args       []string // dinv's arguments every start needs
	innerNet   []string // docker run and build options inside (gVisor with the machine's sockets: --network host)
	// network: a user network made in the host first, on which the inner
	// containers and builds run (gVisor without packet writes, engines from 28.0 on).
	network string
	// escapes: which attempts succeed from a nested container (measured).
	escapes map[string]bool
}

// The escape attempts, from a nested --privileged container (escapeScript).
var attempts = []string{"disk", "sysctl", "processes", "module"}

func TestSandboxes(t *testing.T) {
	requireTestImages(t)
	images := dinvImages(t)
	newest := images[len(images)-1]
	full, err := harness.ProbeEvery(newest)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]bool{"disk": true, "sysctl": true, "processes": true, "module": true}
	t.Run("every privilege "+newest, func(t *testing.T) {
		testSandbox(t, sandbox{name: "privileged", image: newest, privileges: full.Options, escapes: all})
	})
	for _, image := range images {
		image := image
		t.Run("least privilege "+image, func(t *testing.T) {
			t.Parallel()
			// Measured: with SYS_ADMIN in the machine's user namespace and
			// /proc unmasked, a nested container (--privileged is refused
			// without the device rule; every capability instead) still
			// writes the machine's sysctls and runs commands on it.
			testSandbox(t, sandbox{name: "least", image: image, privileges: harness.LeastPrivilege,
				escapes: map[string]bool{"sysctl": true, "processes": true}})
		})
	}
	for _, image := range images {
		image := image
		t.Run("gVisor "+image, func(t *testing.T) { t.Parallel(); testGVisor(t, image) })
	}
	t.Run("gVisor "+newest+": a swarm of two hosts", func(t *testing.T) { testGVisorSwarm(t, newest) })
	for _, image := range images {
		if v := engineVersion(t, image); strings.HasPrefix(v, "20.") {
			t.Logf("%s: no rootless variant (Debian bookworm packages rootlesskit 1.x only)", image)
			continue
		}
		image := image + "-rootless"
		t.Run("rootless "+image, func(t *testing.T) { t.Parallel(); testRootless(t, image) })
	}
}

// gvisorRuntime is how the machine's engine runs gVisor (its registration
// of harness.GVisorRuntime in daemon.json).
type gvisorRuntime struct {
	name string
	// hostNetwork: --network=host, the machine kernel's sockets (Debian's
	// 2024 release, scripts/runsc.sh's fallback); otherwise gVisor's own
	// network stack.
	hostNetwork bool
	// packetWrite: --allow-packet-socket-write, which engines from 28.0 on
	// need on the default bridge.
	packetWrite bool
}

func gvisorRegistration(t *testing.T) gvisorRuntime {
	t.Helper()
	name := harness.GVisorRuntime()
	var runtimes map[string]struct {
		Args []string `json:"runtimeArgs"`
	}
	out := harness.Client{}.Run(t, "info", "--format", "{{json .Runtimes}}")
	if err := json.Unmarshal([]byte(out), &runtimes); err != nil {
		t.Fatalf("docker info: %v: %s", err, out)
	}
	r, ok := runtimes[name]
	if !ok {
		t.Fatalf("the machine's engine has no runtime %s (%s): make engine registers runsc (scripts/runsc.sh)", name, out)
	}
	args := " " + strings.Join(r.Args, " ") + " "
	return gvisorRuntime{name: name, hostNetwork: strings.Contains(args, " --network=host "),
		packetWrite: strings.Contains(args, " --allow-packet-socket-write ")}
}

// testGVisor runs DinV in gVisor's sandbox, where the machine can.
func testGVisor(t *testing.T, image string) {
	rt := gvisorRegistration(t)
	if r := (harness.Client{}).Try(t, "run", "--rm", "--runtime="+rt.name, "--network", "none", busybox, "true"); r.ExitCode != 0 {
		t.Skipf("gVisor cannot run a container on this machine: %s", harness.FirstLine(r.Stderr))
	}
	if rt.hostNetwork {
		testGVisorHostNetwork(t, image)
		return
	}
	// Engines from 28.0 on send unsolicited ARP for every container they
	// connect; without packet writes dinv turns that off on the networks
	// the user makes, and the default bridge cannot take a container.
	noDefaultBridge := !rt.packetWrite && engineAtLeast(engineVersion(t, image), 28)
	sb := sandbox{name: "gvisor", image: image, privileges: harness.GVisor, escapes: map[string]bool{}}
	if noDefaultBridge {
		sb.network = "inner"
	}
	testSandbox(t, sb)

	t.Run("networks: default bridge, a user network by name, published ports", func(t *testing.T) {
		testGVisorNetworks(t, image, noDefaultBridge)
	})
	t.Run("dinv gives the engine the settings the sandbox needs and says each once", func(t *testing.T) {
		port := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor, Run: []string{"-p", port + ":2375"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		said := map[string]bool{
			"gVisor's iptables lacks the addrtype match": true,
			"gVisor refuses packet sends":                noDefaultBridge,
			"gVisor sandbox without iptables or bridges": false,
		}
		logs := waitLogs(t, d, "gVisor's iptables lacks the addrtype match")
		for line, want := range said {
			if n := strings.Count(logs, line); n != map[bool]int{true: 1}[want] {
				t.Errorf("%q said %d times, want %v:\n%s", line, n, want, logs)
			}
		}
		cmdline := strings.Join(engineCmdline(t, d), " ")
		flags := map[string]bool{
			"--iptables=false": true, "--ip6tables=false": true, "--bridge=none": false,
			"--default-network-opt=bridge=com.docker.network.advertise_addr_nmsgs=0": noDefaultBridge,
		}
		for flag, want := range flags {
			if strings.Contains(cmdline, flag) != want {
				t.Errorf("the engine's command line has %s: %v, want %v: %s", flag, !want, want, cmdline)
			}
		}
	})
	t.Run("-iptables=false given by the user: dinv gives no iptables flag of its own", func(t *testing.T) {
		port := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor, Run: []string{"-p", port + ":2375"},
			Args: []string{"--iptables=false"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		args := engineCmdline(t, d)
		if n := countArgs(args, "--iptables=false"); n != 1 || !hasArg(args, "--ip6tables=false") {
			t.Errorf("the engine's command line: %q", args)
		}
	})
	t.Run("data on a volume: overlay there, kept across a restart", func(t *testing.T) {
		port := strconv.Itoa(harness.FreePort(t))
		vol := harness.Volume(t, "gvisor-data")
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor,
			Run: []string{"-p", port + ":2375", "-v", vol + ":/var/lib/docker"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		host := harness.Client{Host: "tcp://127.0.0.1:" + port}
		if driver, want := host.Run(t, "info", "--format", "{{.Driver}}"), overlayDriver(engineVersion(t, image)); driver != want {
			t.Errorf("storage driver %q, want %q", driver, want)
		}
		if fs := d.Exec(t, "sh", "-c", "grep ' /var/lib/docker ' /proc/mounts | cut -d' ' -f3").Stdout; strings.TrimSpace(fs) == "tmpfs" {
			t.Errorf("the data root is a tmpfs: %s", fs)
		}
		harness.Load(t, host, busybox)
		host.Run(t, "create", "--name", "kept", "--network", "none", busybox, "echo", "kept")
		harness.Client{}.Run(t, "restart", "-t", "30", d.Name)
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		if out := host.Run(t, "start", "-a", "kept"); out != "kept" {
			t.Errorf("the container made before the restart printed %q", out)
		}
	})
}

// testGVisorNetworks proves the inner networks under gVisor's own network
// stack: a container on the default bridge with an address of its own, two
// containers on a user network reaching each other by name (the engine's
// embedded DNS), a port published inside reached from the DinV container
// and, through a port the DinV container publishes, from the machine, and
// a server beyond the DinV container reached from an inner container. Without the default bridge (noDefaultBridge) it checks that a
// container there fails as dinv said, and publishes on a user network.
func testGVisorNetworks(t *testing.T, image string, noDefaultBridge bool) {
	port, web := strconv.Itoa(harness.FreePort(t)), strconv.Itoa(harness.FreePort(t))
	d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor,
		Run: []string{"-p", port + ":2375", "-p", web + ":8080"}})
	d.WaitReady(t, "127.0.0.1:"+port, nil)
	host := harness.Client{Host: "tcp://127.0.0.1:" + port}
	harness.Load(t, host, busybox)
	dinvIP := strings.TrimSpace(d.Exec(t, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").Stdout)

	r := host.Try(t, "run", "--rm", busybox, "sh", "-c", "ip -4 -o addr show eth0")
	switch {
	case noDefaultBridge:
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "failed to advertise addresses") {
			t.Errorf("a container on the default bridge without packet writes:\n%s", r)
		}
		t.Logf("default bridge without packet writes: %s", harness.FirstLine(r.Stderr))
	case r.ExitCode != 0 || !strings.Contains(r.Stdout, "inet 172.") || dinvIP == "" || strings.Contains(r.Stdout, dinvIP+"/"):
		t.Errorf("a container on the default bridge (the DinV container is %s):\n%s", dinvIP, r)
	}

	host.Run(t, "network", "create", "inner")
	host.Run(t, "run", "-d", "--name", "web1", "--network", "inner", busybox, "httpd", "-f", "-p", "80", "-h", "/etc")
	// busybox's wget dies of SIGSEGV in gVisor (measured): nc speaks HTTP here.
	get := "for i in $(seq 50); do printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc %s %s | tail -1 | grep . && exit 0; usleep 100000; done; exit 1"
	id := host.Run(t, "inspect", "-f", "{{.Config.Hostname}}", "web1")
	if out := host.Run(t, "run", "--rm", "--network", "inner", busybox, "sh", "-c", fmt.Sprintf(get, "web1", "80")); out != id {
		t.Errorf("web1 by name on a user network answered %q, want %q", out, id)
	}

	pubNet := []string{}
	if noDefaultBridge {
		pubNet = []string{"--network", "inner"}
	}
	host.Run(t, append(append([]string{"run", "-d", "--name", "pub1", "-p", "8080:80"}, pubNet...),
		busybox, "httpd", "-f", "-p", "80", "-h", "/etc")...)
	id = host.Run(t, "inspect", "-f", "{{.Config.Hostname}}", "pub1")
	// From the DinV container itself: bash's /dev/tcp.
	fromDinV := "for i in $(seq 50); do (exec 3<>/dev/tcp/%s/8080; printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' >&3; tail -1 <&3) 2>/dev/null | grep . && exit 0; sleep 0.1; done; exit 1"
	for _, addr := range []string{"127.0.0.1", dinvIP} {
		if out := strings.TrimSpace(d.Exec(t, "bash", "-c", fmt.Sprintf(fromDinV, addr)).Stdout); out != id {
			t.Errorf("the published port at %s:8080, from the DinV container, answered %q, want %q", addr, out, id)
		}
	}
	hc := harness.HTTPClient(nil, 5*time.Second)
	code, body, err := harness.Get(context.Background(), hc, "http://127.0.0.1:"+web+"/hostname")
	if err != nil || code != 200 || strings.TrimSpace(body) != id {
		t.Errorf("from the machine, through the DinV container's port %s: %d %q %v", web, code, body, err)
	}
	// Beyond the DinV container: a server on the machine's own network,
	// reached through dinv's SNAT rules (gVisor has no MASQUERADE).
	beyond := harness.Name("gvisor-beyond")
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", beyond) })
	harness.Client{}.Run(t, "run", "-d", "--name", beyond, busybox, "httpd", "-f", "-p", "80", "-h", "/etc")
	beyondIP := harness.Client{}.Run(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", beyond)
	beyondID := harness.Client{}.Run(t, "inspect", "-f", "{{.Config.Hostname}}", beyond)
	if out := host.Run(t, append(append([]string{"run", "--rm"}, pubNet...), busybox, "sh", "-c", fmt.Sprintf(get, beyondIP, "80"))...); out != beyondID {
		t.Errorf("a server on the machine's network (%s), from an inner container, answered %q, want %q", beyondIP, out, beyondID)
	}
	if logs := d.Logs(t); strings.Count(logs, "dinv added SNAT rules (tcp, udp)") != 1 {
		t.Errorf("the SNAT rules are not said once:\n%s", logs)
	}
}

// testGVisorSwarm forms a swarm of two DinV hosts in gVisor's sandbox (a
// manager and a worker joining it by address) that runs a global service
// publishing a host-mode port on each; an overlay network cannot carry a
// task there: gVisor's netlink makes no VXLAN interface. Measured besides:
// the machine engine's DNS (127.0.0.11) does not answer inside gVisor's own
// network stack (its redirect lives in iptables rules of the container's
// namespace, which the sandbox's stack replaces), so a host joins by
// address, not by the manager's name.
func testGVisorSwarm(t *testing.T, image string) {
	if rt := gvisorRegistration(t); rt.hostNetwork {
		t.Skip("gVisor with the machine kernel's sockets (--network=host): no swarm here (its engine has no bridge)")
	}
	network, prefix := harness.SubnetNetwork(t, "gvisor-swarm")
	certs := harness.Volume(t, "gvisor-swarm-certs")
	m1 := newSwarmHost(t, image, network, "m1", prefix+"11", []string{"-swarm-init"}, "-v", certs+":/certs")
	w1 := newSwarmHost(t, image, network, "w1", prefix+"21", []string{"-swarm-join", prefix + "11"}, "-v", certs+":/certs")
	hosts := []*swarmHost{m1, w1}
	start := time.Now()
	for _, h := range hosts {
		h.opts.Privileges = harness.GVisor
		h.run(t)
	}
	waitNodes(t, m1, hosts, "both hosts Ready", func(n map[string]node) string {
		return allReady(n, map[string]bool{"m1": true, "w1": true})
	})
	t.Logf("%s in gVisor: a manager and a worker Ready %.1f s after the first docker run", image, time.Since(start).Seconds())
	if r := m1.d.Exec(t, "getent", "hosts", "w1"); r.ExitCode == 0 {
		t.Logf("the machine's DNS answers inside gVisor now (%s): joining by name would work", strings.TrimSpace(r.Stdout))
	}
	for _, h := range hosts {
		harness.Load(t, h.api(), busybox)
	}
	c := m1.api()
	serve := `hostname >/tmp/index.html; trap "exit 0" TERM; httpd -f -p 80 -h /tmp & wait`
	common := []string{"service", "create", "--detach", "--no-resolve-image", "--endpoint-mode", "dnsrr", "--stop-grace-period", "2s"}
	c.Run(t, append(common, "--name", "edge", "--mode", "global", "--publish", "mode=host,target=80,published=8080",
		"--hostname", "{{.Node.Hostname}}-edge", busybox, "sh", "-c", serve)...)
	waitTasks(t, m1, hosts, "edge", "an edge task on each host", func(on map[string]int) string {
		return onEach(on, map[string]bool{"m1": true, "w1": true}, 1)
	})
	waitEdges(t, hosts)

	c.Run(t, "network", "create", "--driver", "overlay", "e2e-overlay")
	c.Run(t, append(common, "--name", "web", "--replicas", "1", "--network", "e2e-overlay", busybox, "sh", "-c", serve)...)
	var last string
	poll(t, hosts, "a web task rejected for want of VXLAN", func() string {
		last = c.Run(t, "service", "ps", "--no-trunc", "--format", "{{.Error}}", "web")
		if !strings.Contains(last, "error creating vxlan interface") {
			return "web's tasks: " + last
		}
		return ""
	})
	t.Logf("an overlay network in gVisor: %s", harness.FirstLine(last))
}

// testGVisorHostNetwork is gVisor with the machine kernel's sockets (runsc
// --network=host: Debian's 2024 release): the engine goes without bridges
// and iptables, inner containers and builds use --network host, and engines
// whose runc checks procfs run none (that release's /proc root is inode 86).
func testGVisorHostNetwork(t *testing.T, image string) {
	if refuses, runc := runcRefusesGVisor(t, image); refuses {
		// The engine starts, and dinv says why no container will.
		port := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor,
			Run: []string{"-p", port + ":2375"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		if logs := waitLogs(t, d, "refuses gVisor's /proc"); !strings.Contains(logs, "refuses gVisor's /proc") {
			t.Errorf("no warning that runc %s cannot run a container in gVisor:\n%s", runc, logs)
		}
		host := harness.Client{Host: "tcp://127.0.0.1:" + port}
		harness.Load(t, host, busybox)
		r := host.Try(t, "run", "--rm", "--network", "host", busybox, "true")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "unsafe procfs detected") {
			t.Errorf("runc %s in gVisor:\n%s", runc, r)
		}
		t.Logf("%s: runc %s refuses gVisor's /proc (root inode 86): the engine answers, no container runs", image, runc)
		return
	}
	testSandbox(t, sandbox{name: "gvisor", image: image, privileges: harness.GVisor,
		innerNet: []string{"--network", "host"}, escapes: map[string]bool{}})

	t.Run("dinv gives the engine the settings the sandbox needs and says so once", func(t *testing.T) {
		port := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.GVisor, Run: []string{"-p", port + ":2375"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		logs := waitLogs(t, d, "gVisor sandbox without iptables or bridges")
		if n := strings.Count(logs, "gVisor sandbox without iptables or bridges"); n != 1 {
			t.Errorf("the warning appears %d times, want once:\n%s", n, logs)
		}
		cmdline := d.Exec(t, "sh", "-c", "tr '\\0' ' ' < /proc/$(cat /var/run/docker.pid)/cmdline").Stdout
		for _, want := range []string{"--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false"} {
			if !strings.Contains(cmdline, want) {
				t.Errorf("the engine's command line lacks %s: %s", want, cmdline)
			}
		}
	})
}

// engineAtLeast reports whether an engine version ("28.5.2") is major or later.
func engineAtLeast(version string, major int) bool {
	var m int
	_, err := fmt.Sscanf(version, "%d.", &m)
	return err == nil && m >= major
}

// testRootless runs the rootless variant of an image, where there is one.
func testRootless(t *testing.T, image string) {
	if r := (harness.Client{}).Try(t, "image", "inspect", image); r.ExitCode != 0 {
		t.Fatalf("%s missing: make images builds it", image)
	}
	if data, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(data)) == "0" {
		t.Skip("the machine's kernel allows no user namespaces (user.max_user_namespaces = 0)")
	}
	testSandbox(t, sandbox{name: "rootless", image: image, privileges: harness.Rootless, escapes: map[string]bool{}})

	// 26.1 waits out a 1 s gRPC backoff on a containerd it starts itself:
	// there the image's wrapper starts containerd inside rootlesskit first.
	t.Run("the engine's containerd: started before the engine on 26.1 only", func(t *testing.T) {
		port := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: image, Privileges: harness.Rootless, Run: []string{"-p", port + ":2375"}})
		d.WaitReady(t, "127.0.0.1:"+port, nil)
		want := strings.HasPrefix(engineVersion(t, strings.TrimSuffix(image, "-rootless")), "26.")
		if got := countArgs(engineCmdline(t, d), "--containerd=") == 1; got != want {
			t.Errorf("the engine given --containerd once: %v, want %v", got, want)
		}
		log := d.Logs(t)
		booted, starting := strings.Index(log, "containerd successfully booted"), strings.Index(log, `msg="Starting up"`)
		if booted < 0 || starting < 0 || (booted < starting) != want {
			t.Errorf("containerd booted at %d, the engine started at %d in the log: containerd first wanted: %v", booted, starting, want)
		}
	})

	t.Run("docker's defaults: dinv names each option it lacks", func(t *testing.T) {
		name := harness.Name("rootless-defaults")
		t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", name) })
		r := harness.Client{}.Try(t, "run", "--name", name, image)
		for _, want := range []string{"--device /dev/net/tun", "--security-opt seccomp=unconfined", "--security-opt systempaths=unconfined"} {
			if r.ExitCode != 1 || !strings.Contains(r.Stderr, want) {
				t.Errorf("exit %d, no %q:\n%s", r.ExitCode, want, r.Stderr)
			}
		}
	})
}

// testSandbox proves one way of running DinV: the quickstart, an inner
// container, a build, -tlsverify with generated certificates, then the
// escape attempts from a nested container.
func testSandbox(t *testing.T, sb sandbox) {
	port := strconv.Itoa(harness.FreePort(t))
	d := harness.Start(t, harness.Options{Image: sb.image, Privileges: sb.privileges,
		Run: []string{"-p", port + ":2375"}, Args: sb.args})
	ready := d.WaitReady(t, "127.0.0.1:"+port, nil)
	t.Logf("%s %s: ready %d ms after the container started", sb.name, sb.image, ready.Milliseconds())
	host := harness.Client{Host: "tcp://127.0.0.1:" + port}
	if info := host.Run(t, "info", "--format", "{{.ServerVersion}} {{.Driver}}"); !strings.HasPrefix(info, "2") {
		t.Errorf("docker info: %q", info)
	}
	harness.Load(t, host, busybox)
	if sb.network != "" {
		host.Run(t, "network", "create", sb.network)
		sb.innerNet = append(sb.innerNet, "--network", sb.network)
	}

	t.Run("an inner container", func(t *testing.T) {
		args := append(append([]string{"run", "--rm"}, sb.innerNet...), busybox, "echo", "inside")
		if out := host.Run(t, args...); out != "inside" {
			t.Errorf("inner container printed %q", out)
		}
	})
	t.Run("a build", func(t *testing.T) {
		dir := t.TempDir()
		harness.WriteFile(t, dir, "Dockerfile", []byte("FROM "+busybox+"\nRUN echo built-inside > /built\n"), 0o644)
		b := harness.Client{Host: host.Host, Dir: dir, Env: []string{"DOCKER_BUILDKIT=0"}}
		start := time.Now()
		b.Run(t, append(append([]string{"build", "-q", "-t", "e2e-built"}, sb.innerNet...), ".")...)
		t.Logf("%s: a one-step build took %d ms", sb.name, time.Since(start).Milliseconds())
		if out := host.Run(t, append(append([]string{"run", "--rm"}, sb.innerNet...), "e2e-built", "cat", "/built")...); out != "built-inside" {
			t.Errorf("built image printed %q", out)
		}
	})
	t.Run("-tlsverify with generated certificates", func(t *testing.T) {
		tlsPort := strconv.Itoa(harness.FreePort(t))
		d := harness.Start(t, harness.Options{Image: sb.image, Privileges: sb.privileges,
			Run: []string{"-p", tlsPort + ":2376"}, Args: append([]string{"-tlsverify"}, sb.args...)})
		certs := d.ClientCerts(t)
		d.WaitReady(t, "127.0.0.1:"+tlsPort, harness.ClientTLSDir(t, certs))
		if v := (harness.Client{Dir: certs, CertPath: "."}).Run(t, "-H", "127.0.0.1:"+tlsPort, "version", "--format", "{{.Server.Version}}"); v == "" {
			t.Error("no server version over TLS")
		}
	})
	t.Run("escape attempts from a nested privileged container", func(t *testing.T) {
		got := escapeAttempts(t, d, host, sb.innerNet)
		for _, a := range attempts {
			if why := machineRefuses(a); why != "" {
				if got[a] == "ok" {
					t.Errorf("%s succeeded where %s", a, why)
				}
				t.Logf("%s %s: %s; no DinV can here: %s", sb.name, a, got[a], why)
				continue
			}
			if want := sb.escapes[a]; (got[a] == "ok") != want {
				t.Errorf("%s: %s, want success %v", a, got[a], want)
			}
			t.Logf("%s %s: %s", sb.name, a, got[a])
		}
	})
}

// escapeScript is what a nested container runs to reach the machine, one
// attempt a line, each printing "NAME ok" or "NAME fail: why":
//   - disk: read the superblock of the machine's root device (major $1,
//     minor $2) through a device node of its own;
//   - sysctl: write a sysctl of the machine's kernel (kernel.printk_ratelimit,
//     its own value back);
//   - processes: run a command in the machine's namespaces and list its
//     processes: the cgroup v1 release agent of a new named hierarchy, which
//     the kernel runs as the machine's root when the cgroup empties (the
//     program is this container's file, at its path on the machine: the data
//     root's volume $3 and its upper directory); success is the machine
//     engine's pid ($4) among them. It cleans up after itself.
//   - module: load a kernel module (a file that is not one: "invalid module
//     format" would mean the kernel read it).
const escapeScript = `r() { out=$(sh -c "$2" 2>&1) && echo "$1 ok" || echo "$1 fail: $(echo "$out" | tail -1)"; }
r disk "mknod /tmp/disk b $1 $2 && dd if=/tmp/disk of=/tmp/sb bs=1024 skip=1 count=1 && hexdump -C /tmp/sb | grep -q ' 53 ef '"
r sysctl 'v=$(cat /proc/sys/kernel/printk_ratelimit) && echo "$v" > /proc/sys/kernel/printk_ratelimit'
up=$(sed -n 's/.* - overlay [^ ]* .*upperdir=\([^,]*\).*/\1/p' /proc/self/mountinfo | head -1)
host=$3${up#/var/lib/docker}
printf '#!/bin/sh\nps -e -o pid= -o comm= > %s/machine-ps\n' "$host" > /payload && chmod +x /payload
r processes "mkdir -p /tmp/cg && mount -t cgroup -o none,name=dinv-escape cgroup /tmp/cg && mkdir -p /tmp/cg/x &&
  echo 1 > /tmp/cg/x/notify_on_release && echo $host/payload > /tmp/cg/release_agent &&
  sh -c 'echo \$\$ > /tmp/cg/x/cgroup.procs' && sleep 1 && grep -q '^ *$4 ' /machine-ps"
rmdir /tmp/cg/x 2>/dev/null; echo > /tmp/cg/release_agent 2>/dev/null; umount /tmp/cg 2>/dev/null
r module 'head -c 4096 /dev/zero > /tmp/x.ko && insmod /tmp/x.ko'
`

// nested are the nested container's options, tried in order until the
// engine starts one: --privileged; where that is refused (DinV without the
// device rule: runc cannot write devices.allow "a *:* rwm"), every
// capability unconfined; where that is too (runc 1.1.5 refuses a capability
// DinV's container lacks), the capabilities every DinV has, unconfined.
var nested = [][]string{
	{"--privileged"},
	{"--cap-add", "ALL", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--security-opt", "systempaths=unconfined"},
	{"--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined"},
}

// escapeAttempts runs escapeScript in a nested container of d's engine
// (host), with the first options of nested the engine runs, and returns
// what each attempt printed.
func escapeAttempts(t *testing.T, d *harness.DinV, host harness.Client, innerNet []string) map[string]string {
	t.Helper()
	major, minor := rootDevice(t)
	pid := strings.TrimSpace(string(harness.ReadFile(t, "/var/run/docker.pid")))
	data := d.Inspect(t, `{{range .Mounts}}{{if eq .Destination "/var/lib/docker"}}{{.Source}}{{end}}{{end}}`)
	run := func(opts []string) harness.Result {
		args := append(append(append([]string{"run", "--rm"}, opts...), innerNet...), busybox, "sh", "-c", escapeScript,
			"sh", strconv.Itoa(major), strconv.Itoa(minor), data, pid)
		return host.Try(t, args...)
	}
	var r harness.Result
	for i, opts := range nested {
		if r = run(opts); r.ExitCode != 125 {
			if i > 0 {
				t.Logf("nested container with %s", strings.Join(opts, " "))
			}
			break
		}
		t.Logf("nested %s refused: %s", strings.Join(opts, " "), harness.FirstLine(r.Stderr))
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		got[name] = rest
	}
	for _, a := range attempts {
		if got[a] == "" {
			if r.ExitCode == 125 { // no nested container at all: every attempt fails there
				got[a] = "fail: no nested container: " + harness.FirstLine(r.Stderr)
				continue
			}
			t.Fatalf("attempt %s did not report:\n%s", a, r)
		}
	}
	return got
}

// machineRefuses says why no DinV can succeed in an attempt on this machine,
// checked here on the machine itself: its kernel loads no modules, or its
// own root cannot read its disk. "" when the machine allows it.
func machineRefuses(attempt string) string {
	switch attempt {
	case "module":
		if _, err := os.Stat("/proc/modules"); err != nil {
			return "the machine's kernel loads no modules (no /proc/modules)"
		}
	case "disk":
		dev, err := rootDeviceFile()
		if err != nil {
			return err.Error()
		}
		f, err := os.Open(dev)
		if err != nil {
			return "the machine's own root cannot read its disk (" + err.Error() + ")"
		}
		f.Close()
	}
	return ""
}

// rootDeviceFile is the device file of the machine's root filesystem.
func rootDeviceFile() (string, error) {
	data, err := os.ReadFile("/proc/1/mountinfo")
	if err != nil {
		data, err = os.ReadFile("/proc/self/mountinfo")
	}
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "-" && len(f) > i+2 && len(f) > 4 && f[4] == "/" {
				return f[i+2], nil
			}
		}
	}
	return "", fmt.Errorf("no root filesystem in mountinfo")
}

// rootDevice is the device number of the machine's root filesystem.
func rootDevice(t *testing.T) (major, minor int) {
	t.Helper()
	for _, name := range []string{"/proc/1/mountinfo", "/proc/self/mountinfo"} {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[4] == "/" {
				if _, err := fmt.Sscanf(f[2], "%d:%d", &major, &minor); err == nil {
					return major, minor
				}
			}
		}
	}
	t.Fatal("no root filesystem in mountinfo")
	return 0, 0
}

// runcRefusesGVisor reports whether the runc in image refuses gVisor's /proc,
// read as dinv reads it (host.RuncVersion, host.RuncChecksProcfs: the checks
// of runc 1.2.8, 1.3.3, 1.4.0 and later), and its version ("1.3.6").
func runcRefusesGVisor(t *testing.T, image string) (bool, string) {
	t.Helper()
	out := harness.Client{}.Run(t, "run", "--rm", "--entrypoint", "runc", image, "--version")
	v, ok := host.RuncVersion(out)
	if !ok {
		t.Fatalf("runc --version: %q", out)
	}
	return host.RuncChecksProcfs(v[0], v[1], v[2]), fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
}

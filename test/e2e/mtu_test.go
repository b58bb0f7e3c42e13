//go:build e2e

package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// The path MTU reaches every network the engine makes. DinV runs
// on a user-defined network of MTU 1400 (as on an overlay, a VPN or a cloud
// VPC); what a container sees as its interface's MTU is read on the default
// bridge, on a user-defined network, on a compose project's network, in a
// build's RUN step and on a swarm overlay, on every image.

// pathMTU is the MTU of the network DinV runs on in these tests.
const pathMTU = 1400

// noDefaultNetworkOpts names the images whose engine has no
// --default-network-opt (24.0 and later), with what then keeps the engine's
// defaults (the README's Kubernetes and MTU text says the same).
var noDefaultNetworkOpts = map[string]string{
	"20.10": "dockerd 20.10 has no --default-network-opt (engines from 24.0 on): its --mtu reaches the default bridge and builds only; user-defined and compose networks keep 1500, overlays 1450",
}

func TestPathMTU(t *testing.T) {
	requireTestImages(t)
	network := harness.Name("mtu")
	harness.Client{}.Run(t, "network", "create", "-o", "com.docker.network.driver.mtu="+strconv.Itoa(pathMTU), network)
	t.Cleanup(func() { harness.Client{}.Try(t, "network", "rm", network) })
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			t.Run("the path MTU reaches every network", func(t *testing.T) { testPathMTU(t, image, network) })
			t.Run("the user's --mtu replaces it everywhere", func(t *testing.T) { testUserMTU(t, image, network) })
		})
	}
}

// mtuHost is a DinV host on network, ready, with the busybox test image.
type mtuHost struct {
	d    *harness.DinV
	host harness.Client
}

func startMTUHost(t *testing.T, image, network string, args ...string) *mtuHost {
	t.Helper()
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}, Args: args})
	addr := d.IP(t, network) + ":2375"
	d.WaitReady(t, addr, nil)
	h := &mtuHost{d: d, host: harness.Client{Host: "tcp://" + addr}}
	harness.Load(t, h.host, busybox)
	return h
}

// mtu is the MTU of eth0 in a busybox container run inside the host with
// the docker run options opts.
func (h *mtuHost) mtu(t *testing.T, opts ...string) int {
	t.Helper()
	args := append(append([]string{"run", "--rm"}, opts...), busybox, "cat", "/sys/class/net/eth0/mtu")
	return atoi(t, h.host.Run(t, args...))
}

// sh runs a script in the DinV container (its own docker CLI, compose and
// buildx), failing the test unless it exits 0, and returns its stdout.
func (h *mtuHost) sh(t *testing.T, script string) string {
	t.Helper()
	r := h.d.Exec(t, "sh", "-ec", script)
	if r.ExitCode != 0 {
		t.Fatalf("in %s:\n%s\n%s", h.d.Name, script, r)
	}
	return strings.TrimSpace(r.Stdout)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// The MTU a build's RUN step sees (BuildKit: buildx where the image has
// it, else DOCKER_BUILDKIT=1 docker build) and that seen in a compose
// project's default network ("" where the image has no compose).
const (
	mtuBuild = `mkdir -p /tmp/mtu-build && cd /tmp/mtu-build
printf 'FROM ` + busybox + `\nRUN cat /sys/class/net/eth0/mtu >/mtu\nCMD ["cat", "/mtu"]\n' >Dockerfile
if docker buildx version >/dev/null 2>&1; then docker buildx build -q -t mtu-build . >/dev/null
else DOCKER_BUILDKIT=1 docker build -q -t mtu-build . >/dev/null; fi
docker run --rm mtu-build`
	mtuCompose = `mkdir -p /tmp/mtu-compose && cd /tmp/mtu-compose
printf 'services:\n  probe:\n    image: ` + busybox + `\n    command: ["cat", "/sys/class/net/eth0/mtu"]\n' >compose.yaml
docker compose -p mtu run --rm probe 2>/dev/null
docker compose -p mtu down >/dev/null 2>&1`
	// A one-node swarm and an attachable overlay: a standalone container
	// on it sees the overlay's MTU; docker_gwbridge, a task's way out, is
	// the engine's own.
	mtuOverlay = `docker swarm init --advertise-addr eth0 >/dev/null
docker network create -d overlay --attachable mtu-overlay >/dev/null
docker run --rm --network mtu-overlay ` + busybox + ` cat /sys/class/net/eth0/mtu
cat /sys/class/net/docker_gwbridge/mtu`
)

func testPathMTU(t *testing.T, image, network string) {
	version := tag(image)
	why, old := noDefaultNetworkOpts[version]
	h := startMTUHost(t, image, network)
	if got := atoi(t, h.sh(t, "cat /sys/class/net/eth0/mtu")); got != pathMTU {
		t.Fatalf("DinV's own interface has MTU %d, want the network's %d", got, pathMTU)
	}
	// want is the most a container may see where DinV carries the path
	// MTU; the engine's default instead on the images that cannot.
	check := func(where string, got, want, engineDefault int) {
		t.Helper()
		switch {
		case old && engineDefault > 0:
			if got != engineDefault {
				t.Errorf("%s: MTU %d; %s: want its default %d (or the README and noDefaultNetworkOpts are out of date)", where, got, why, engineDefault)
			} else {
				t.Logf("%s: %s: MTU %d, the engine's default (the stated exception)", image, where, got)
			}
		case got > want:
			t.Errorf("%s: MTU %d, want at most %d", where, got, want)
		default:
			t.Logf("%s: %s: MTU %d", image, where, got)
		}
	}
	check("a container on the default bridge", h.mtu(t), pathMTU, 0)
	h.host.Run(t, "network", "create", "user")
	check("a container on a user-defined network", h.mtu(t, "--network", "user"), pathMTU, 1500)
	check("a RUN step of a BuildKit build", atoi(t, h.sh(t, mtuBuild)), pathMTU, 0)
	if why, ok := noPlugins[version]; ok {
		if r := h.d.Exec(t, "docker", "compose", "version"); r.ExitCode == 0 {
			t.Errorf("%s has compose after all: update noPlugins and the README\n%s", image, r)
		}
		t.Logf("%s: no compose network to measure (%s)", image, why)
	} else {
		check("a container on a compose project's network", atoi(t, h.sh(t, mtuCompose)), pathMTU, 1500)
	}
	out := strings.Fields(h.sh(t, mtuOverlay))
	if len(out) != 2 {
		t.Fatalf("overlay and docker_gwbridge MTUs: %q", out)
	}
	check("a container on a swarm overlay network (VXLAN: 50 bytes less)", atoi(t, out[0]), pathMTU-50, 1450)
	// docker_gwbridge is made by the engine itself, without the default
	// network options, on every engine measured: the README says so.
	if gw := atoi(t, out[1]); gw != 1500 {
		t.Errorf("docker_gwbridge has MTU %d: the engine now gives it the path MTU; update the README", gw)
	}
	h.sh(t, "docker swarm leave --force >/dev/null")
}

// docker run IMAGE --mtu=1300: the user's MTU wins over the path's, on the
// default bridge and, where the engine takes default network options, on
// every network.
func testUserMTU(t *testing.T, image, network string) {
	const mine = 1300
	h := startMTUHost(t, image, network, "--mtu="+strconv.Itoa(mine))
	if got := h.mtu(t); got != mine {
		t.Errorf("a container on the default bridge: MTU %d, want the user's %d", got, mine)
	}
	h.host.Run(t, "network", "create", "user")
	want := mine
	if _, old := noDefaultNetworkOpts[tag(image)]; old {
		want = 1500
	}
	if got := h.mtu(t, "--network", "user"); got != want {
		t.Errorf("a container on a user-defined network: MTU %d, want %d", got, want)
	}
	cmdline := engineCmdline(t, h.d)
	if n := countArgs(cmdline, "--mtu="); n != 1 || !hasArg(cmdline, "--mtu=1300") {
		t.Errorf("the engine's command line has %d --mtu=, want only the user's: %q", n, cmdline)
	}
}

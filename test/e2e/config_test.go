//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// TestConfiguration proves on every image that what dinv reports is what
// the engine serves when the user's own engine settings join dinv's: a
// user's --host adds a listener, and the health check, the ready line and
// the image's own docker CLI stay right; a user's unix socket replaces
// dinv's everywhere; the engine's socket, bound by dinv, answers IPv6.
func TestConfiguration(t *testing.T) {
	requireTestImages(t)
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			t.Run("a user's --host=tcp://0.0.0.0:2380 is added to dinv's listeners", func(t *testing.T) { testUserTCPHost(t, image) })
			t.Run("a user's unix socket replaces dinv's everywhere", func(t *testing.T) { testUserUnixSocket(t, image) })
			t.Run("an IPv6 client reaches the activated engine", func(t *testing.T) { testIPv6Client(t, image) })
		})
	}
}

func testUserTCPHost(t *testing.T, image string) {
	network := harness.Network(t, "userhost")
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}, Args: []string{"--host=tcp://0.0.0.0:2380"}})
	ip := d.IP(t, network)
	d.WaitReady(t, ip+":2375", nil)
	d.WaitReady(t, ip+":2380", nil)
	line := readyLine(t, d)
	if !strings.Contains(line, "DOCKER_HOST=tcp://"+ip+":2375") || !strings.Contains(line, "also=tcp://0.0.0.0:2380") {
		t.Errorf("the ready line does not name both listeners:\n%s", line)
	}
	waitHealthy(t, d)
	if r := d.Exec(t, "docker", "ps"); r.ExitCode != 0 {
		t.Errorf("docker exec %s docker ps: %v", d.Name, r)
	}
	if out := (harness.Client{Host: "tcp://" + ip + ":2380"}).Run(t, "version", "--format", "{{.Server.Version}}"); out == "" {
		t.Error("the user's listener served no version")
	}
}

func testUserUnixSocket(t *testing.T, image string) {
	network := harness.Network(t, "usersock")
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}, Args: []string{"--", "-Hunix:///run/user/docker.sock"}})
	d.WaitReady(t, d.IP(t, network)+":2375", nil)
	waitHealthy(t, d)
	if r := d.Exec(t, "docker", "-H", "unix:///run/user/docker.sock", "ps"); r.ExitCode != 0 {
		t.Errorf("the user's socket: %v", r)
	}
	if r := d.Exec(t, "docker", "ps"); r.ExitCode != 0 {
		t.Errorf("the image's docker CLI on its default socket: %v", r)
	}
	cmdline := engineCmdline(t, d)
	if hasArg(cmdline, "--host=unix:///var/run/docker.sock") || !hasArg(cmdline, "--host=unix:///run/user/docker.sock") {
		t.Errorf("the engine's command line: %q, want the user's socket instead of dinv's", cmdline)
	}
	if r := d.Exec(t, "cat", "/run/dinv/client.json"); !strings.Contains(r.Stdout, `"socket": "/run/user/docker.sock"`) {
		t.Errorf("client.json does not name the user's socket: %v", r)
	}
}

// testIPv6Client: dinv binds the engine's port on every address, as the
// engine's own --host=tcp://0.0.0.0:PORT would: a client on the network's
// IPv6 address and one on the container's ::1 are served.
func testIPv6Client(t *testing.T, image string) {
	network := harness.Name("v6")
	subnet := fmt.Sprintf("fd42:d1e:%04x::/64", rand.IntN(1<<16))
	harness.Client{}.Run(t, "network", "create", "--ipv6", "--subnet", subnet, network)
	t.Cleanup(func() { harness.Client{}.Try(t, "network", "rm", network) })
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}})
	d.WaitReady(t, d.IP(t, network)+":2375", nil)
	v6 := d.Inspect(t, `{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}`)
	if net.ParseIP(v6) == nil {
		t.Fatalf("the container has no IPv6 address on %s: %q", network, v6)
	}
	r := harness.Client{}.Try(t, "run", "--rm", "--network", network, "--entrypoint", "docker", image,
		"-H", "tcp://"+net.JoinHostPort(v6, "2375"), "version", "--format", "{{.Server.Version}}")
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("a client on %s: %v", v6, r)
	}
	if r := d.Exec(t, "docker", "-H", "tcp://[::1]:2375", "version", "--format", "{{.Server.Version}}"); r.ExitCode != 0 {
		t.Errorf("a client on ::1 in the container: %v", r)
	}
}

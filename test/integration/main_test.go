//go:build integration

// Package integration runs the real dinv binary on this machine against
// Debian's dockerd (20.10), with every placement flag pointing into a
// temporary directory and a free port, so it never meets the machine's own
// engine. The stage list drops cgroups, mounts and iptables: they change the
// host (its cgroups, the propagation of /, the engine's PATH) and are unit-tested
// with fakes and exercised for real by the end-to-end suite in containers.
// The engine gets a bridge of the test's own and --iptables=false after --
// for the same reason: docker0 and the DOCKER chains belong to the host
// engine (and --bridge=none would make dockerd delete docker0).
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// suite holds the dinv binary built for this run and the record of what the
// tests make on the host (the runs' directories, with the dinv, dockerd and
// containerd processes started in them and the engines' mounts, their
// bridges, the netns of the nftables test), so that the next run removes
// what a killed one left; see harness.HostRecord.
var suite *harness.HostSuite

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("dockerd"); err != nil {
		fmt.Fprintln(os.Stderr, "integration: dockerd not found: run `make engine` (installs docker.io)")
		return 1
	}
	var err error
	if suite, err = harness.OpenHostSuite("integration"); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	code := m.Run()
	if !suite.Close() {
		code = max(code, 1)
	}
	return code
}

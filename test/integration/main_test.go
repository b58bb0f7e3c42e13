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
	"path/filepath"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// dinvBin is the dinv binary built for this run.
var dinvBin string

// hostRecord lists what the tests make on the host (the runs' directories,
// with the dinv, dockerd and containerd processes started in them and the
// engines' mounts, their bridges, the netns of the nftables test), so that
// the next run removes what a killed one left; see harness.HostRecord.
var hostRecord *harness.HostRecord

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("dockerd"); err != nil {
		fmt.Fprintln(os.Stderr, "integration: dockerd not found: run `make engine` (installs docker.io)")
		return 1
	}
	var err error
	if hostRecord, err = harness.OpenHostRecord("integration"); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	code := runTests(m)
	if found, err := hostRecord.Close(); err != nil || len(found) > 0 {
		fmt.Fprintf(os.Stderr, "integration: the tests left on the host (removed now): %q %v\n", found, err)
		code = max(code, 1)
	}
	return code
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dinvit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := hostRecord.Add(harness.HostDir, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dinvBin = filepath.Join(dir, "dinv")
	build := exec.Command("go", "build", "-o", dinvBin, "github.com/dinv/dinv/cmd/dinv")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: build dinv:", err)
		return 1
	}
	return m.Run()
}

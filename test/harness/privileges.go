package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Privileged is what DinV needs on an ordinary host.
var Privileged = []string{"--privileged"}

// Explicit is the documented equivalent of --privileged for engines that
// refuse it (their capability bounding set lacks one that --privileged asks
// for): every capability but the missing one, no seccomp, AppArmor or masked
// /proc paths, and access to all devices. DinV itself makes the cgroup
// hierarchies writable.
func Explicit(missingCaps ...string) []string {
	opts := []string{"--cap-add", "ALL"}
	for _, c := range missingCaps {
		opts = append(opts, "--cap-drop", c)
	}
	return append(opts,
		"--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined",
		"--security-opt", "systempaths=unconfined",
		"--device-cgroup-rule", "a *:* rwm",
	)
}

// LeastPrivilege is the smallest docker run option set with which DinV runs
// its end-to-end suite here (measured one option at a time: docs/security.md):
// docker's default capabilities plus mounts and namespaces (SYS_ADMIN) and
// bridges and firewall rules (NET_ADMIN), the system calls docker's seccomp
// profile refuses even with those capabilities (runc's session keyring), and
// an unmasked /proc for the inner containers' sysctls. No device rule: the
// default one lets runc make the inner containers' device nodes.
// DINV_E2E_PRIVILEGES=least runs the whole suite with it.
var LeastPrivilege = []string{
	"--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
	"--security-opt", "seccomp=unconfined",
	"--security-opt", "systempaths=unconfined",
}

// Rootless is what the dinv:<version>-rootless images need, and no
// capability beyond docker's default set: user namespaces (docker's seccomp
// profile refuses unshare(CLONE_NEWUSER) without SYS_ADMIN), a /proc the
// engine's user namespace may mount again, and slirp4netns's tun device.
var Rootless = []string{
	"--security-opt", "seccomp=unconfined",
	"--security-opt", "systempaths=unconfined",
	"--device", "/dev/net/tun",
}

// GVisorRuntimeEnv names the machine engine's runtime the tests and the
// benchmark run gVisor with: "runsc" (scripts/runsc.sh registers it) unless
// it says another, e.g. a build registered beside it while it is developed
// (RUNSC_NAME=runsc-dev RUNSC_BIN=... scripts/runsc.sh).
const GVisorRuntimeEnv = "DINV_GVISOR_RUNTIME"

// GVisorRuntime is the runtime gVisor's tests use (GVisorRuntimeEnv).
func GVisorRuntime() string {
	if r := os.Getenv(GVisorRuntimeEnv); r != "" {
		return r
	}
	return "runsc"
}

// GVisor runs DinV in gVisor's sandbox: the runtime GVisorRuntime with the
// capabilities DinV checks for. They are the sandbox's, not the machine's:
// gVisor's kernel grants them inside.
var GVisor = []string{"--runtime=" + GVisorRuntime(), "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN"}

// candidates are tried in order by the probe: the first the engine runs wins.
// SYS_RESOURCE is the capability that machines refusing --privileged lack
// (see NOTES-docker.md); a candidate is only used when the engine accepts it.
func candidates() [][]string {
	return [][]string{Privileged, Explicit(), Explicit("SYS_RESOURCE")}
}

// Privileges holds the outcome of the probe.
type Privileges struct {
	Options []string // the docker run options that give DinV what it needs
	Refused []string // what the engine refused before, one line each
}

// Privileged reports whether the engine grants --privileged itself.
func (p Privileges) Privileged() bool {
	return len(p.Options) == 1 && p.Options[0] == "--privileged"
}

var (
	probeOnce sync.Once
	probed    Privileges
	probeErr  error

	everyOnce sync.Once
	every     Privileges
	everyErr  error
)

// ProbeEvery is Probe without DINV_E2E_PRIVILEGES: the set of every
// privilege the engine grants (--privileged or an explicit equivalent),
// for the tests that compare the sandboxes with it.
func ProbeEvery(image string) (Privileges, error) {
	everyOnce.Do(func() { every, everyErr = probe(context.Background(), Client{}, image, candidates()) })
	return every, everyErr
}

// PrivilegesEnv chooses the option set of every DinV container a suite
// starts: "least" for LeastPrivilege; unset for the probed full set.
const PrivilegesEnv = "DINV_E2E_PRIVILEGES"

// Probe asks the machine's engine, once per process, which option set it runs
// a container of image with: --privileged first, then the explicit sets; with
// DINV_E2E_PRIVILEGES=least, LeastPrivilege, if the engine runs it.
func Probe(image string) (Privileges, error) {
	probeOnce.Do(func() {
		switch v := os.Getenv(PrivilegesEnv); v {
		case "":
			probed, probeErr = probe(context.Background(), Client{}, image, candidates())
		case "least":
			probed, probeErr = probe(context.Background(), Client{}, image, [][]string{LeastPrivilege})
		default:
			probeErr = fmt.Errorf("%s=%q: want least or nothing", PrivilegesEnv, v)
		}
	})
	return probed, probeErr
}

func probe(ctx context.Context, c Client, image string, sets [][]string) (Privileges, error) {
	var p Privileges
	for _, opts := range sets {
		// No network: the probe asks about privileges only, and must not
		// depend on the default bridge.
		args := append([]string{"run", "--rm", "--network", "none", "--entrypoint", "true"}, opts...)
		r, err := c.Exec(ctx, nil, append(args, image)...)
		if err != nil {
			return p, err
		}
		if r.ExitCode == 0 {
			p.Options = opts
			return p, nil
		}
		p.Refused = append(p.Refused, fmt.Sprintf("%s: %s", strings.Join(opts, " "), FirstLine(r.Stderr)))
	}
	return p, fmt.Errorf("the engine runs %s with none of the option sets:\n%s", image, strings.Join(p.Refused, "\n"))
}

// FirstLine is the first line of s without surrounding space.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

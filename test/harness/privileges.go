package harness

import (
	"context"
	"fmt"
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
)

// Probe asks the machine's engine, once per process, which option set it runs
// a container of image with: --privileged first, then the explicit sets.
func Probe(image string) (Privileges, error) {
	probeOnce.Do(func() { probed, probeErr = probe(context.Background(), Client{}, image) })
	return probed, probeErr
}

func probe(ctx context.Context, c Client, image string) (Privileges, error) {
	var p Privileges
	for _, opts := range candidates() {
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

// Package args is the args stage: it builds the command lines that run the
// engine (State.Commands: the engine's last, containerd's before it on
// profile 1.12) from the resolved configuration, the profile and what the
// stages before it filled (buildCommands), and checks the insecure
// registries before anything runs. It changes nothing, and runs under
// -dry-run too: -dry-run prints what it built.
package args

import (
	"context"
	"fmt"
	"strings"

	"github.com/dinv/dinv/core"
)

type stage struct{}

// New returns the "args" stage.
func New() core.Stage { return stage{} }

func (stage) Name() string { return "args" }

// Requires the pki stage when TCP is served with TLS: it fills the TLS files.
func (stage) Requires(cfg *core.Config) []string {
	if cfg.UsesTLS() {
		return []string{"pki"}
	}
	return nil
}

// Validate rejects insecure registries dockerd would not take, naming each.
func (stage) Validate(cfg *core.Config, p *core.Profile) error {
	var bad []string
	for _, r := range cfg.Engine.InsecureRegistries.Value {
		if err := checkRegistry(r); err != nil {
			bad = append(bad, fmt.Sprintf("%s %q: %v (want host[:port] or a CIDR)", registrySource(cfg.Engine.InsecureRegistries.From), r, err))
		}
	}
	if len(bad) > 0 {
		return core.Usagef("%s", strings.Join(bad, "; "))
	}
	return nil
}

func (stage) Run(ctx context.Context, s *core.State) error {
	s.Commands = buildCommands(&s.Config, s.Profile, s)
	core.Log(ctx).Debug("built", "engine", s.Commands[len(s.Commands)-1].Args)
	return nil
}

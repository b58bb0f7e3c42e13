package swarm

import (
	"github.com/dinv/dinv/core"
)

// checkFirewall refuses a host that takes part in a swarm (-swarm-init,
// -swarm-join) when the engine's firewall backend is nftables: Docker 29
// then refuses swarm mode itself ("--firewall-backend=nftables is
// incompatible with swarm mode", moby daemon/config IsSwarmCompatible), and
// the host would start only to fail at `docker swarm init`. The engine
// allows it where it adds no firewall rules (--iptables=false) or with its
// experimental feature swarm-nftables; so does this. The settings are the
// user's, from the resolved configuration: dinv sets none of them.
func checkFirewall(cfg *core.Config) error {
	e := &cfg.Engine
	if !cfg.Swarm.Enabled() || e.FirewallBackend.Value != "nftables" || !e.IPTables.Value {
		return nil
	}
	if f, ok := e.Features["swarm-nftables"]; ok && f.Value {
		return nil
	}
	return core.Usagef("-swarm-init/-swarm-join: the engine's firewall backend is nftables (%s), "+
		"and the engine refuses swarm mode with it: leave firewall-backend at iptables (the default) for a swarm host",
		e.FirewallBackend.From)
}

package swarm

import (
	"strconv"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/engineopt"
)

// CheckFirewall refuses a host that takes part in a swarm (-swarm-init,
// -swarm-join) when the engine's firewall backend is nftables: Docker 29
// then refuses swarm mode itself ("--firewall-backend=nftables is
// incompatible with swarm mode", moby daemon/config IsSwarmCompatible), and
// the host would start only to fail at `docker swarm init`. The engine
// allows it where it adds no firewall rules (--iptables=false) or with its
// experimental feature swarm-nftables; so does this. The settings are the
// user's (cfg.ExtraArgs for the engine, cfg.DaemonConfig): DinV sets none of
// them.
func CheckFirewall(cfg *core.Config) error {
	if !cfg.Swarm.Enabled() {
		return nil
	}
	fw, set, err := engineopt.Lookup(cfg.ExtraArgs, cfg.DaemonConfig, "firewall-backend", "firewall-backend")
	if err != nil {
		return core.Usagef("%v", err)
	}
	if !set || fw.Value != "nftables" {
		return nil
	}
	if ipt, set, err := engineopt.Lookup(cfg.ExtraArgs, cfg.DaemonConfig, "iptables", "iptables"); err != nil {
		return core.Usagef("%v", err)
	} else if set && ipt.Value != "" {
		if on, err := strconv.ParseBool(ipt.Value); err == nil && !on {
			return nil
		}
	}
	if on, set, _, err := engineopt.Feature(cfg.ExtraArgs, cfg.DaemonConfig, "swarm-nftables"); err != nil {
		return core.Usagef("%v", err)
	} else if set && on {
		return nil
	}
	return core.Usagef("-swarm-init/-swarm-join: the engine's firewall backend is nftables (firewall-backend in %s), "+
		"and the engine refuses swarm mode with it: leave firewall-backend at iptables (the default) for a swarm host", fw.Source)
}

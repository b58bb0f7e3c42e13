package iptables

import (
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/internal/host"
)

// sandboxNetFlags are what the engine needs where the container has neither
// iptables nor the right to make network interfaces (gVisor with
// --network=host): no firewall, no bridge, no forwarding of its own.
var sandboxNetFlags = []string{"--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false"}

// gvisorNetworkFlags returns the engine flags this gVisor sandbox needs.
// gVisor's network stack has iptables (runsc --net-raw); with runsc
// --network=host the sandbox uses the host kernel's sockets instead, which
// have neither iptables tables nor bridges nor veth pairs (netlink's
// RTM_NEWLINK: "Operation not supported"), and the engine refuses to start
// ("failed to create NAT chain DOCKER") unless it is told to do without
// them. A nat table that iptables can list means the stack has iptables:
// nothing is needed. Otherwise sandboxNetFlags, said once with what it costs.
func gvisorNetworkFlags(log hclog.Logger, sys host.System, variant string) []string {
	if _, err := sys.Output("iptables-"+variant, "-t", "nat", "-S"); err == nil {
		return nil
	}
	log.Warn("gVisor sandbox without iptables or bridges (runsc --network=host): the engine runs "+
		"without networking of its own; inner containers and builds need --network host",
		"engine_flags", strings.Join(sandboxNetFlags, " "))
	return sandboxNetFlags
}

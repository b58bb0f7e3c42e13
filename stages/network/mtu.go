package network

import (
	"strconv"

	"github.com/dinv/dinv/core"
)

// The path MTU and the engine's networks. The args stage gives the engine
// --mtu when the container's interface is below 1500, and --mtu reaches the
// default bridge only: a network made by `docker network create` or by
// compose gets 1500, and large packets from its containers are dropped on the
// way out (moby #36659, docker-library/docker #102). Engines from 24.0 on take
// default driver options for the networks they make (--default-network-opt,
// daemon.json's default-network-opts), which reach user-defined bridge
// networks, compose networks and swarm overlays. BuildKit's build containers
// (a RUN step) join the default bridge, which --mtu reaches on every engine.

// The overlay driver takes com.docker.network.driver.mtu as the MTU of the
// path its VXLAN packets travel, and gives the overlay's interfaces that less
// VXLAN's 50 bytes (outer Ethernet 14, IPv4 20, UDP 8, VXLAN 8), as its
// default of 1450 on a 1500 path is (measured on 26.1 and 28.5: the option
// 1400 gives a task's interface 1350). So both options carry the path MTU
// itself.

// mtuFlags returns the engine flags, beyond --mtu, that carry the MTU to every
// network the engine makes, for an engine of profile version (major.minor)
// in a container whose main interface has pathMTU (0: unknown), given the
// user's own MTU (userMTU, 0 when none; it replaces the path MTU):
//
//	--default-network-opt=bridge=com.docker.network.driver.mtu=N
//	--default-network-opt=overlay=com.docker.network.driver.mtu=N
//
// (an overlay's interfaces then get N-50, its VXLAN encapsulation less).
// N is the user's MTU when they give one, else the path MTU when it is below
// 1500 (as for --mtu; at 1500 and above the engine's defaults fit). Nothing
// for engines before 24.0, which have no such flag (their user-defined
// networks and swarm overlays keep 1500 and 1450); the args stage passes
// none when the user gives default network options of their own.
func mtuFlags(pathMTU, userMTU int, version string) []string {
	if core.Major(version) < 24 { // --default-network-opt came in 24.0
		return nil
	}
	mtu := userMTU
	if mtu == 0 && pathMTU > 0 && pathMTU < 1500 {
		mtu = pathMTU
	}
	if mtu <= 0 {
		return nil
	}
	n := strconv.Itoa(mtu)
	return []string{
		"--default-network-opt=bridge=com.docker.network.driver.mtu=" + n,
		"--default-network-opt=overlay=com.docker.network.driver.mtu=" + n,
	}
}

package network

import (
	"encoding/json"
	"strconv"
	"strings"
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

// MTUSettings are the MTU settings the user gives the engine directly.
type MTUSettings struct {
	// MTU is the user's --mtu or daemon.json "mtu", 0 when none. It replaces
	// the path MTU for every network DinV sets.
	MTU int
	// Unreadable: the user gives an MTU DinV could not read (DinV then sets
	// none of its own: the user's wins).
	Unreadable bool
	// DefaultNetworkOpts: the user gives --default-network-opt or
	// daemon.json's default-network-opts; DinV then gives none.
	DefaultNetworkOpts bool
}

// MTUFlags returns the engine flags, beyond --mtu, that carry the MTU to every
// network the engine makes, for an engine of profile version (major.minor)
// in a container whose main interface has pathMTU (0: unknown):
//
//	--default-network-opt=bridge=com.docker.network.driver.mtu=N
//	--default-network-opt=overlay=com.docker.network.driver.mtu=N
//
// (an overlay's interfaces then get N-50, its VXLAN encapsulation less).
// N is the user's MTU when they give one, else the path MTU when it is below
// 1500 (as for --mtu; at 1500 and above the engine's defaults fit). Nothing
// for engines before 24.0, which have no such flag (their user-defined
// networks and swarm overlays keep 1500 and 1450), nor when the user gives
// default network options of their own.
func MTUFlags(pathMTU int, user MTUSettings, version string) []string {
	if user.DefaultNetworkOpts || user.Unreadable || !hasDefaultNetworkOpts(version) {
		return nil
	}
	mtu := user.MTU
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

// hasDefaultNetworkOpts reports whether an engine of profile version
// (major.minor) takes --default-network-opt: 24.0 and later.
func hasDefaultNetworkOpts(version string) bool {
	major, _, ok := strings.Cut(version, ".")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(major)
	return err == nil && n >= 24
}

// UserMTU finds the MTU settings the user gives the engine: set maps dockerd's
// long flag names to where the user gives them ("arguments", or the path of
// the engine's configuration file; Config.EngineSet), args are the engine's
// arguments (Config.ExtraArgs), read reads the configuration file.
func UserMTU(set map[string]string, args []string, read func(string) ([]byte, error)) MTUSettings {
	u := MTUSettings{DefaultNetworkOpts: set["default-network-opt"] != ""}
	switch src := set["mtu"]; src {
	case "":
	case "arguments":
		u.MTU = mtuArg(args)
	default:
		u.MTU = mtuKey(src, read)
	}
	u.Unreadable = set["mtu"] != "" && u.MTU <= 0
	return u
}

// mtuArg is the value of the last --mtu among the engine's arguments
// (--mtu=N or --mtu N), 0 when there is none or it is not a number.
func mtuArg(args []string) int {
	mtu := 0
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "mtu" || !strings.HasPrefix(a, "-") {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		n, err := strconv.Atoi(value)
		if err != nil {
			n = 0
		}
		mtu = n
	}
	return mtu
}

// mtuKey is the "mtu" of the engine's configuration file at path, 0 when it
// cannot be read or is not a number.
func mtuKey(path string, read func(string) ([]byte, error)) int {
	b, err := read(path)
	if err != nil {
		return 0
	}
	var file struct {
		MTU json.Number `json:"mtu"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return 0
	}
	n, err := strconv.Atoi(file.MTU.String())
	if err != nil {
		return 0
	}
	return n
}

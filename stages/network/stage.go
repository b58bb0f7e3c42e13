// Package network is the network stage: it finds the container's addresses,
// hostname and MTU, what the certificates must cover and what the engine's
// --mtu must be (State.Addrs, ContainerIP, Hostname and MTU), and adds to
// State.EngineFlags the flags that carry the MTU to the networks --mtu does
// not reach (mtuFlags). It changes nothing, and runs under -dry-run too.
package network

import (
	"context"
	"net"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

type stage struct{ sys host.System }

// New returns the network stage on the real kernel.
func New() core.Stage { return &stage{sys: host.OS()} }

// Name is "network".
func (*stage) Name() string { return "network" }

// Run finds the addresses, the main interface's MTU and the hostname.
func (st *stage) Run(ctx context.Context, s *core.State) error {
	ifaces, err := st.sys.Interfaces()
	if err != nil {
		return err
	}
	route, err := st.sys.DefaultRoute()
	if err != nil {
		return err
	}
	hostname, err := st.sys.Hostname()
	if err != nil {
		return err
	}
	f := discover(ifaces, route)
	s.Addrs, s.ContainerIP, s.MTU, s.Hostname = f.Addrs, f.ContainerIP, f.MTU, hostname
	core.Log(ctx).Debug("found", "addrs", f.Addrs, "ip", ipString(f.ContainerIP), "interface", f.Main,
		"default_route", route != "", "mtu", f.MTU, "hostname", hostname)
	if s.Profile != nil {
		user := s.Config.Engine.MTU.Value
		flags := mtuFlags(f.MTU, user, s.Profile.Version)
		s.EngineFlags = append(s.EngineFlags, flags...)
		core.Log(ctx).Debug("network mtu", "user_mtu", user, "engine", s.Profile.Version, "flags", flags)
	}
	return nil
}

// ipString is ip for the log ("" when nil): hclog prints a bare net.IP as bytes.
func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

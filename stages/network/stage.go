package network

import (
	"context"
	"net"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
)

// Stage fills State.Addrs, ContainerIP, Hostname and MTU, and adds to
// State.EngineFlags the flags that carry the MTU to the networks --mtu does
// not reach (MTUFlags). It changes nothing.
type Stage struct {
	Sys host.System
}

// New returns the network stage on the real kernel.
func New() core.Stage { return &Stage{Sys: host.OS()} }

// Name is "network".
func (*Stage) Name() string { return "network" }

// Run finds the addresses, the main interface's MTU and the hostname.
func (st *Stage) Run(ctx context.Context, s *core.State) error {
	ifaces, err := st.Sys.Interfaces()
	if err != nil {
		return err
	}
	route, err := st.Sys.DefaultRoute()
	if err != nil {
		return err
	}
	host, err := st.Sys.Hostname()
	if err != nil {
		return err
	}
	f := Discover(ifaces, route)
	s.Addrs, s.ContainerIP, s.MTU, s.Hostname = f.Addrs, f.ContainerIP, f.MTU, host
	core.Log(ctx).Debug("found", "addrs", f.Addrs, "ip", ipString(f.ContainerIP), "interface", f.Main,
		"default_route", route != "", "mtu", f.MTU, "hostname", host)
	if s.Profile != nil {
		user := s.Config.Engine.MTU.Value
		flags := MTUFlags(f.MTU, user, s.Profile.Version)
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

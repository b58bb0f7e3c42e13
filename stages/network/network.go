// Package network finds the container's addresses, hostname and MTU: what the
// certificates must cover and what the engine's --mtu must be.
package network

import (
	"net"
)

// Interface is one network interface as the stage sees it.
type Interface struct {
	Name  string
	Up    bool // administratively up (IFF_UP)
	MTU   int
	Addrs []net.IP
}

// System is the network of the container; the real one reads the kernel,
// unit tests use a fake.
type System interface {
	// Interfaces lists the interfaces in index order.
	Interfaces() ([]Interface, error)
	// DefaultRoute names the interface holding the default route (IPv4 first,
	// else IPv6), or "" when there is none.
	DefaultRoute() (string, error)
	Hostname() (string, error)
}

// Facts are what the stage finds.
type Facts struct {
	Addrs       []net.IP // global-scope addresses of up interfaces, in interface order
	ContainerIP net.IP   // first IPv4 of the main interface; nil when it has none
	MTU         int      // the main interface's MTU; 0 when there is no main interface
	Main        string   // the main interface, "" when none
}

// Discover picks the container's addresses and its main interface. The main
// interface is the one holding the default route (named by route); without a
// default route (an internal network) it is the first up interface with a
// global address, so that the container IP and MTU still mean something.
// Loopback, link-local, multicast and unspecified addresses are skipped, as
// are interfaces that are down.
func Discover(ifaces []Interface, route string) Facts {
	var f Facts
	var main *Interface
	for i := range ifaces {
		in := &ifaces[i]
		if !in.Up {
			continue
		}
		global := 0
		for _, ip := range in.Addrs {
			if ip.IsGlobalUnicast() {
				f.Addrs = append(f.Addrs, ip)
				global++
			}
		}
		if route != "" && in.Name == route {
			main = in
		}
		if route == "" && main == nil && global > 0 {
			main = in
		}
	}
	if main == nil {
		return f
	}
	f.Main = main.Name
	f.MTU = main.MTU
	for _, ip := range main.Addrs {
		if v4 := ip.To4(); v4 != nil && ip.IsGlobalUnicast() {
			f.ContainerIP = v4
			break
		}
	}
	return f
}

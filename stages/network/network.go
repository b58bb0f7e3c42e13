package network

import (
	"net"

	"github.com/dinv/dinv/internal/host"
)

// facts are what the stage finds.
type facts struct {
	Addrs       []net.IP // global-scope addresses of up interfaces, in interface order
	ContainerIP net.IP   // first IPv4 of the main interface; nil when it has none
	MTU         int      // the main interface's MTU; 0 when there is no main interface
	Main        string   // the main interface, "" when none
}

// discover picks the container's addresses and its main interface. The main
// interface is the one holding the default route (named by route); without a
// default route (an internal network) it is the first up interface with a
// global address, so that the container IP and MTU still mean something.
// Loopback, link-local, multicast and unspecified addresses are skipped, as
// are interfaces that are down.
func discover(ifaces []host.Interface, route string) facts {
	var f facts
	var main *host.Interface
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

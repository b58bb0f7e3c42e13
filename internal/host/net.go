package host

import (
	"io"
	"net"
	"os"

	"github.com/pkg/errors"
)

// kernel is the real System: the net package and /proc/net.
type kernel struct {
	route, route6 string // /proc/net/route and /proc/net/ipv6_route
}

// Kernel returns the System of the running machine.
func Kernel() System {
	return kernel{route: "/proc/net/route", route6: "/proc/net/ipv6_route"}
}

func (kernel) Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, errors.Wrap(err, "list interfaces")
	}
	out := make([]Interface, 0, len(ifs))
	for _, in := range ifs {
		addrs, err := in.Addrs()
		if err != nil {
			return nil, errors.Wrapf(err, "list addresses of %s", in.Name)
		}
		it := Interface{Name: in.Name, Up: in.Flags&net.FlagUp != 0, MTU: in.MTU}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				it.Addrs = append(it.Addrs, n.IP)
			}
		}
		out = append(out, it)
	}
	return out, nil
}

func (k kernel) DefaultRoute() (string, error) {
	for _, t := range []struct {
		path  string
		parse func(io.Reader) (string, error)
	}{{k.route, defaultRouteV4}, {k.route6, defaultRouteV6}} {
		f, err := os.Open(t.path)
		if os.IsNotExist(err) {
			continue // a kernel without IPv6, say
		}
		if err != nil {
			return "", errors.Wrap(err, "read routes")
		}
		name, err := t.parse(f)
		f.Close()
		if err != nil {
			return "", errors.Wrapf(err, "read routes %s", t.path)
		}
		if name != "" {
			return name, nil
		}
	}
	return "", nil
}

func (kernel) Hostname() (string, error) {
	h, err := os.Hostname()
	return h, errors.Wrap(err, "read hostname")
}

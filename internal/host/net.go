package host

import (
	"io"
	"net"
	"os"

	"github.com/pkg/errors"
)

// Interface is one network interface as the stages see it.
type Interface struct {
	Name  string
	Up    bool // administratively up (IFF_UP)
	MTU   int
	Addrs []net.IP
}

// The kernel's routing tables, IPv4 and IPv6.
const (
	procRoute  = "/proc/net/route"
	procRoute6 = "/proc/net/ipv6_route"
)

func (osSystem) Interfaces() ([]Interface, error) {
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

func (osSystem) DefaultRoute() (string, error) {
	for _, t := range []struct {
		path  string
		parse func(io.Reader) (string, error)
	}{{procRoute, defaultRouteV4}, {procRoute6, defaultRouteV6}} {
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

func (osSystem) Hostname() (string, error) {
	h, err := os.Hostname()
	return h, errors.Wrap(err, "read hostname")
}

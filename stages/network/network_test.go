package network

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host"
	"github.com/dinv/dinv/internal/host/hosttest"
)

func ips(ss ...string) []net.IP {
	out := make([]net.IP, 0, len(ss))
	for _, s := range ss {
		out = append(out, net.ParseIP(s))
	}
	return out
}

var lo = host.Interface{Name: "lo", Up: true, MTU: 65536, Addrs: ips("127.0.0.1", "::1")}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name   string
		ifaces []host.Interface
		route  string
		want   facts
	}{
		{
			name: "the default route's interface gives the IP and MTU; link-local and loopback are skipped",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("fe80::1", "172.18.0.2", "fd00::2")},
			},
			route: "eth0",
			want:  facts{Addrs: ips("172.18.0.2", "fd00::2"), ContainerIP: net.ParseIP("172.18.0.2").To4(), MTU: 1500, Main: "eth0"},
		},
		{
			name: "the IP is the default route's even when another interface comes first",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("10.0.0.5")},
				{Name: "eth1", Up: true, MTU: 1450, Addrs: ips("192.168.9.3", "192.168.9.4")},
			},
			route: "eth1",
			want:  facts{Addrs: ips("10.0.0.5", "192.168.9.3", "192.168.9.4"), ContainerIP: net.ParseIP("192.168.9.3").To4(), MTU: 1450, Main: "eth1"},
		},
		{
			name: "an overlay network's MTU 1450 is reported",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: true, MTU: 1450, Addrs: ips("10.0.1.7")},
			},
			route: "eth0",
			want:  facts{Addrs: ips("10.0.1.7"), ContainerIP: net.ParseIP("10.0.1.7").To4(), MTU: 1450, Main: "eth0"},
		},
		{
			name: "without a default route the first up interface with a global address is the main one",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: false, MTU: 1500, Addrs: ips("10.9.9.9")},
				{Name: "eth1", Up: true, MTU: 1500, Addrs: ips("fe80::7")},
				{Name: "eth2", Up: true, MTU: 9000, Addrs: ips("172.30.0.4")},
			},
			route: "",
			want:  facts{Addrs: ips("172.30.0.4"), ContainerIP: net.ParseIP("172.30.0.4").To4(), MTU: 9000, Main: "eth2"},
		},
		{
			name: "IPv6 only: addresses and MTU but no container IP",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("fe80::2", "2001:db8::2")},
			},
			route: "eth0",
			want:  facts{Addrs: ips("2001:db8::2"), MTU: 1500, Main: "eth0"},
		},
		{
			name: "down interfaces contribute no addresses",
			ifaces: []host.Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("172.17.0.3")},
				{Name: "eth1", Up: false, MTU: 1500, Addrs: ips("10.1.1.1")},
			},
			route: "eth0",
			want:  facts{Addrs: ips("172.17.0.3"), ContainerIP: net.ParseIP("172.17.0.3").To4(), MTU: 1500, Main: "eth0"},
		},
		{
			name:   "only loopback (network none): nothing is found",
			ifaces: []host.Interface{lo},
			route:  "",
			want:   facts{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := discover(tt.ifaces, tt.route)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("discover() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStageFillsState(t *testing.T) {
	f := hosttest.New()
	f.Ifaces = []host.Interface{lo, {Name: "eth0", Up: true, MTU: 1450, Addrs: ips("10.0.1.7", "fd00::7")}}
	f.Route = "eth0"
	f.Host = "dinv-1"
	st := &stage{sys: f}
	var s core.State
	if err := st.Run(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Addrs, ips("10.0.1.7", "fd00::7")) || !s.ContainerIP.Equal(net.ParseIP("10.0.1.7")) ||
		s.MTU != 1450 || s.Hostname != "dinv-1" {
		t.Errorf("state = addrs %v ip %v mtu %d hostname %q", s.Addrs, s.ContainerIP, s.MTU, s.Hostname)
	}
}

func TestStageReturnsTheSystemsError(t *testing.T) {
	boom := errors.New("netlink: permission denied")
	f := hosttest.New()
	f.InterfacesErr = boom
	st := &stage{sys: f}
	if err := st.Run(context.Background(), &core.State{}); !errors.Is(err, boom) {
		t.Errorf("Run() = %v, want %v", err, boom)
	}
}

package network

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
)

func ips(ss ...string) []net.IP {
	out := make([]net.IP, 0, len(ss))
	for _, s := range ss {
		out = append(out, net.ParseIP(s))
	}
	return out
}

var lo = Interface{Name: "lo", Up: true, MTU: 65536, Addrs: ips("127.0.0.1", "::1")}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name   string
		ifaces []Interface
		route  string
		want   Facts
	}{
		{
			name: "the default route's interface gives the IP and MTU; link-local and loopback are skipped",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("fe80::1", "172.18.0.2", "fd00::2")},
			},
			route: "eth0",
			want:  Facts{Addrs: ips("172.18.0.2", "fd00::2"), ContainerIP: net.ParseIP("172.18.0.2").To4(), MTU: 1500, Main: "eth0"},
		},
		{
			name: "the IP is the default route's even when another interface comes first",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("10.0.0.5")},
				{Name: "eth1", Up: true, MTU: 1450, Addrs: ips("192.168.9.3", "192.168.9.4")},
			},
			route: "eth1",
			want:  Facts{Addrs: ips("10.0.0.5", "192.168.9.3", "192.168.9.4"), ContainerIP: net.ParseIP("192.168.9.3").To4(), MTU: 1450, Main: "eth1"},
		},
		{
			name: "an overlay network's MTU 1450 is reported",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: true, MTU: 1450, Addrs: ips("10.0.1.7")},
			},
			route: "eth0",
			want:  Facts{Addrs: ips("10.0.1.7"), ContainerIP: net.ParseIP("10.0.1.7").To4(), MTU: 1450, Main: "eth0"},
		},
		{
			name: "without a default route the first up interface with a global address is the main one",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: false, MTU: 1500, Addrs: ips("10.9.9.9")},
				{Name: "eth1", Up: true, MTU: 1500, Addrs: ips("fe80::7")},
				{Name: "eth2", Up: true, MTU: 9000, Addrs: ips("172.30.0.4")},
			},
			route: "",
			want:  Facts{Addrs: ips("172.30.0.4"), ContainerIP: net.ParseIP("172.30.0.4").To4(), MTU: 9000, Main: "eth2"},
		},
		{
			name: "IPv6 only: addresses and MTU but no container IP",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("fe80::2", "2001:db8::2")},
			},
			route: "eth0",
			want:  Facts{Addrs: ips("2001:db8::2"), MTU: 1500, Main: "eth0"},
		},
		{
			name: "down interfaces contribute no addresses",
			ifaces: []Interface{lo,
				{Name: "eth0", Up: true, MTU: 1500, Addrs: ips("172.17.0.3")},
				{Name: "eth1", Up: false, MTU: 1500, Addrs: ips("10.1.1.1")},
			},
			route: "eth0",
			want:  Facts{Addrs: ips("172.17.0.3"), ContainerIP: net.ParseIP("172.17.0.3").To4(), MTU: 1500, Main: "eth0"},
		},
		{
			name:   "only loopback (network none): nothing is found",
			ifaces: []Interface{lo},
			route:  "",
			want:   Facts{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Discover(tt.ifaces, tt.route)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Discover() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaultRouteV4(t *testing.T) {
	const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	tests := []struct {
		name, table, want string
	}{
		{"the default route's interface is found", header +
			"eth1\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
			"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", "eth0"},
		{"no default route gives nothing", header +
			"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", ""},
		{"a rejecting default route is skipped", header +
			"eth0\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n", ""},
		{"an empty table gives nothing", header, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultRouteV4(strings.NewReader(tt.table))
			if err != nil || got != tt.want {
				t.Errorf("defaultRouteV4() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDefaultRouteV6(t *testing.T) {
	const (
		linkLocal   = "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
		dflt        = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
		unreachable = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	)
	tests := []struct {
		name, table, want string
	}{
		{"the default route's interface is found", linkLocal + dflt, "eth0"},
		{"the kernel's unreachable default on lo is not a route", unreachable + linkLocal, ""},
		{"no default route gives nothing", linkLocal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultRouteV6(strings.NewReader(tt.table))
			if err != nil || got != tt.want {
				t.Errorf("defaultRouteV6() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

type fakeSystem struct {
	ifaces   []Interface
	route    string
	hostname string
	err      error
}

func (f fakeSystem) Interfaces() ([]Interface, error) { return f.ifaces, f.err }
func (f fakeSystem) DefaultRoute() (string, error)    { return f.route, nil }
func (f fakeSystem) Hostname() (string, error)        { return f.hostname, nil }

func TestStageFillsState(t *testing.T) {
	st := &Stage{Sys: fakeSystem{
		ifaces:   []Interface{lo, {Name: "eth0", Up: true, MTU: 1450, Addrs: ips("10.0.1.7", "fd00::7")}},
		route:    "eth0",
		hostname: "dinv-1",
	}}
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
	st := &Stage{Sys: fakeSystem{err: boom}}
	if err := st.Run(context.Background(), &core.State{}); !errors.Is(err, boom) {
		t.Errorf("Run() = %v, want %v", err, boom)
	}
}

func TestKernelFindsLoopback(t *testing.T) {
	ifs, err := Kernel().Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ifs {
		if in.Name == "lo" && in.Up && len(in.Addrs) > 0 {
			return
		}
	}
	t.Errorf("no up loopback with addresses in %+v", ifs)
}

package host

import (
	"strings"
	"testing"
)

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

func TestOSFindsLoopback(t *testing.T) {
	ifs, err := OS().Interfaces()
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

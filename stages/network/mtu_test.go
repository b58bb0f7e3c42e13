package network

import (
	"context"
	"reflect"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config/configtest"
	"github.com/dinv/dinv/internal/host"
	"github.com/dinv/dinv/internal/host/hosttest"
)

const (
	bridge1400  = "--default-network-opt=bridge=com.docker.network.driver.mtu=1400"
	overlay1400 = "--default-network-opt=overlay=com.docker.network.driver.mtu=1400"
)

func TestMTUFlags(t *testing.T) {
	tests := []struct {
		name    string
		path    int
		user    int
		version string
		want    []string
	}{
		{"a 1400 path on 28.5: bridge and overlay networks get 1400 (the overlay driver takes 50 off)", 1400, 0, "28.5", []string{bridge1400, overlay1400}},
		{"a 1400 path on 26.1: the same", 1400, 0, "26.1", []string{bridge1400, overlay1400}},
		{"the 29 profile (a major alone) takes the flag too", 1450, 0, "29",
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1450", "--default-network-opt=overlay=com.docker.network.driver.mtu=1450"}},
		{"20.10 has no --default-network-opt: nothing (--mtu still reaches its default bridge)", 1400, 0, "20.10", nil},
		{"1.13 and 1.12 neither", 1400, 0, "1.13", nil},
		{"a 1500 path needs nothing: the engine's defaults fit", 1500, 0, "28.5", nil},
		{"a jumbo path (9000) is left to the engine, as --mtu is", 9000, 0, "28.5", nil},
		{"an unknown MTU (no main interface) gives nothing", 0, 0, "28.5", nil},
		{"the user's --mtu replaces the path MTU on every network", 1400, 1300, "28.5",
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1300", "--default-network-opt=overlay=com.docker.network.driver.mtu=1300"}},
		{"the user's --mtu counts even on a 1500 path", 1500, 1400, "26.1", []string{bridge1400, overlay1400}},
		{"a version that names no engine gives nothing", 1400, 0, "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mtuFlags(tt.path, tt.user, tt.version); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mtuFlags(%d, %d, %q) = %q, want %q", tt.path, tt.user, tt.version, got, tt.want)
			}
		})
	}
}

func TestStageAddsTheMTUFlagsForTheProfile(t *testing.T) {
	sys := hosttest.New()
	sys.Ifaces = []host.Interface{lo, {Name: "eth0", Up: true, MTU: 1400, Addrs: ips("10.0.1.7")}}
	sys.Route, sys.Host = "eth0", "h"
	profile := func(v string) *core.Profile { return configtest.Profile(t, v) }
	tests := []struct {
		name  string
		state core.State
		want  []string
	}{
		{"28.5: appended after what a stage before added", core.State{Profile: profile("28.5"), EngineFlags: []string{"--iptables=false"}},
			[]string{"--iptables=false", bridge1400, overlay1400}},
		{"20.10: nothing", core.State{Profile: profile("20.10")}, nil},
		{"no profile (a stage list run without one): nothing", core.State{}, nil},
		{"the user's --mtu=1300 on 26.1", core.State{Profile: profile("26.1"),
			Config: core.Config{Engine: core.EngineConfig{MTU: core.Setting[int]{Value: 1300, From: core.Source{Kind: core.FromArg, Name: "--mtu=1300"}}}}},
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1300", "--default-network-opt=overlay=com.docker.network.driver.mtu=1300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.state
			if err := (&stage{sys: sys}).Run(context.Background(), &s); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.EngineFlags, tt.want) {
				t.Errorf("EngineFlags = %q, want %q", s.EngineFlags, tt.want)
			}
		})
	}
}

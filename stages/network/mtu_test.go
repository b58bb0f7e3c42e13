package network

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/dinv/dinv/core"
)

const (
	bridge1400  = "--default-network-opt=bridge=com.docker.network.driver.mtu=1400"
	overlay1400 = "--default-network-opt=overlay=com.docker.network.driver.mtu=1400"
)

func TestMTUFlags(t *testing.T) {
	tests := []struct {
		name    string
		path    int
		user    MTUSettings
		version string
		want    []string
	}{
		{"a 1400 path on 28.5: bridge and overlay networks get 1400 (the overlay driver takes 50 off)", 1400, MTUSettings{}, "28.5", []string{bridge1400, overlay1400}},
		{"a 1400 path on 26.1: the same", 1400, MTUSettings{}, "26.1", []string{bridge1400, overlay1400}},
		{"an engine newer than every profile (29.0) takes the flag too", 1450, MTUSettings{}, "29.0",
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1450", "--default-network-opt=overlay=com.docker.network.driver.mtu=1450"}},
		{"20.10 has no --default-network-opt: nothing (--mtu still reaches its default bridge)", 1400, MTUSettings{}, "20.10", nil},
		{"1.13 and 1.12 neither", 1400, MTUSettings{}, "1.13", nil},
		{"a 1500 path needs nothing: the engine's defaults fit", 1500, MTUSettings{}, "28.5", nil},
		{"a jumbo path (9000) is left to the engine, as --mtu is", 9000, MTUSettings{}, "28.5", nil},
		{"an unknown MTU (no main interface) gives nothing", 0, MTUSettings{}, "28.5", nil},
		{"the user's --mtu replaces the path MTU on every network", 1400, MTUSettings{MTU: 1300}, "28.5",
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1300", "--default-network-opt=overlay=com.docker.network.driver.mtu=1300"}},
		{"the user's --mtu counts even on a 1500 path", 1500, MTUSettings{MTU: 1400}, "26.1", []string{bridge1400, overlay1400}},
		{"the user's own default network options: DinV gives none", 1400, MTUSettings{DefaultNetworkOpts: true}, "28.5", nil},
		{"a user MTU DinV cannot read: DinV gives none, the user's wins", 1400, MTUSettings{Unreadable: true}, "28.5", nil},
		{"a version without a dot gives nothing", 1400, MTUSettings{}, "28", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MTUFlags(tt.path, tt.user, tt.version); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MTUFlags(%d, %+v, %q) = %q, want %q", tt.path, tt.user, tt.version, got, tt.want)
			}
		})
	}
}

func TestUserMTU(t *testing.T) {
	const file = "/etc/docker/daemon.json"
	files := map[string]string{
		file:          `{"mtu": 1300, "debug": true}`,
		"/string.json": `{"mtu": "big"}`,
		"/none.json":   `{"debug": true}`,
	}
	read := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return []byte(b), nil
		}
		return nil, os.ErrNotExist
	}
	tests := []struct {
		name string
		set  map[string]string
		args []string
		want MTUSettings
	}{
		{"nothing given", nil, nil, MTUSettings{}},
		{"--mtu=1300 among the engine's arguments", map[string]string{"mtu": "arguments"}, []string{"--debug", "--mtu=1300"}, MTUSettings{MTU: 1300}},
		{"--mtu 1300, the value as the next word", map[string]string{"mtu": "arguments"}, []string{"--mtu", "1300", "--debug"}, MTUSettings{MTU: 1300}},
		{"the last --mtu counts, as for the engine", map[string]string{"mtu": "arguments"}, []string{"--mtu=1200", "--mtu=1300"}, MTUSettings{MTU: 1300}},
		{"daemon.json's mtu", map[string]string{"mtu": file}, nil, MTUSettings{MTU: 1300}},
		{"a daemon.json mtu that is not a number is unreadable", map[string]string{"mtu": "/string.json"}, nil, MTUSettings{Unreadable: true}},
		{"a daemon.json that went away is unreadable", map[string]string{"mtu": "/gone.json"}, nil, MTUSettings{Unreadable: true}},
		{"--mtu without a number is unreadable", map[string]string{"mtu": "arguments"}, []string{"--mtu=x"}, MTUSettings{Unreadable: true}},
		{"the user's --default-network-opt", map[string]string{"default-network-opt": "arguments"}, []string{"--default-network-opt=bridge=x=y"},
			MTUSettings{DefaultNetworkOpts: true}},
		{"daemon.json's default-network-opts", map[string]string{"default-network-opt": file}, nil, MTUSettings{DefaultNetworkOpts: true}},
		{"a value that merely looks like the flag is not one", map[string]string{"mtu": "arguments"}, []string{"--label", "mtu=1", "--mtu=1300"}, MTUSettings{MTU: 1300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UserMTU(tt.set, tt.args, read); got != tt.want {
				t.Errorf("UserMTU(%v, %q) = %+v, want %+v", tt.set, tt.args, got, tt.want)
			}
		})
	}
}

func TestStageAddsTheMTUFlagsForTheProfile(t *testing.T) {
	sys := fakeSystem{ifaces: []Interface{lo, {Name: "eth0", Up: true, MTU: 1400, Addrs: ips("10.0.1.7")}}, route: "eth0", hostname: "h"}
	noFile := func(string) ([]byte, error) { return nil, errors.New("no file expected") }
	profile := func(v string) *core.Profile {
		p, err := core.FindProfile(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
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
			Config: core.Config{ExtraArgs: []string{"--mtu=1300"}, EngineSet: map[string]string{"mtu": "arguments"}}},
			[]string{"--default-network-opt=bridge=com.docker.network.driver.mtu=1300", "--default-network-opt=overlay=com.docker.network.driver.mtu=1300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.state
			if err := (&Stage{Sys: sys, ReadFile: noFile}).Run(context.Background(), &s); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.EngineFlags, tt.want) {
				t.Errorf("EngineFlags = %q, want %q", s.EngineFlags, tt.want)
			}
		})
	}
}

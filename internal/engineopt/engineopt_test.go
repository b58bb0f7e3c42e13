package engineopt

import (
	"os"
	"path/filepath"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "daemon.json")
	if body != "" {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		want         Setting
		ok           bool
	}{
		{"nothing given", "", nil, Setting{}, false},
		{"a flag with =", "", []string{"--firewall-backend=nftables"}, Setting{"nftables", "arguments"}, true},
		{"a flag and its value as two words", "", []string{"--firewall-backend", "nftables"}, Setting{"nftables", "arguments"}, true},
		{"the last flag wins, as in dockerd", "", []string{"--firewall-backend=iptables", "--firewall-backend=nftables"}, Setting{"nftables", "arguments"}, true},
		{"the file's string", `{"firewall-backend": "nftables"}`, nil, Setting{"nftables", "FILE"}, true},
		{"the file's boolean, as written", `{"iptables": false}`, nil, Setting{"false", "FILE"}, true},
		{"the arguments before the file", `{"firewall-backend": "iptables"}`, []string{"--firewall-backend=nftables"}, Setting{"nftables", "arguments"}, true},
		{"another flag's value is not taken", "", []string{"--log-level", "firewall-backend"}, Setting{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.config)
			key := "firewall-backend"
			if tc.name == "the file's boolean, as written" {
				key = "iptables"
			}
			got, ok, err := Lookup(tc.args, path, key, key)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Source == "FILE" {
				tc.want.Source = path
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFeature(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		on, set      bool
		err          bool
	}{
		{"not given: the engine's default", "", nil, false, false, false},
		{"--feature NAME turns it on", "", []string{"--feature", "containerd-snapshotter"}, true, true, false},
		{"--feature=NAME=false turns it off", "", []string{"--feature=containerd-snapshotter=false"}, false, true, false},
		{"another feature says nothing", "", []string{"--feature=swarm-nftables"}, false, false, false},
		{"the file's features object", `{"features": {"containerd-snapshotter": false}}`, nil, false, true, false},
		{"the arguments before the file", `{"features": {"containerd-snapshotter": false}}`, []string{"--feature=containerd-snapshotter=true"}, true, true, false},
		{"a file whose features are not booleans is an error", `{"features": {"containerd-snapshotter": "no"}}`, nil, false, false, true},
		{"a value that is not a boolean is an error", "", []string{"--feature=containerd-snapshotter=maybe"}, false, false, true},
		{"a file that is not JSON is an error", `{"features": `, nil, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on, set, _, err := Feature(tc.args, writeConfig(t, tc.config), "containerd-snapshotter")
			if (err != nil) != tc.err {
				t.Fatalf("error = %v, want one: %v", err, tc.err)
			}
			if on != tc.on || set != tc.set {
				t.Errorf("on=%v set=%v, want on=%v set=%v", on, set, tc.on, tc.set)
			}
		})
	}
}

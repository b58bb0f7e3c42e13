package swarm

import (
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
)

// TestCheckFirewall: a swarm host whose engine uses the nftables firewall
// backend is refused before anything starts, as the engine itself would
// refuse `docker swarm init`; the engine's own exceptions stand.
func TestCheckFirewall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		swarm  core.Swarm
		args   []string
		config string // daemon.json; "" for none
		want   string // part of the usage error; "": accepted
	}{
		{"a swarm host with no firewall setting is accepted", core.Swarm{Init: true}, nil, "", ""},
		{"a swarm host with the iptables backend is accepted", core.Swarm{Init: true}, []string{"--firewall-backend=iptables"}, "", ""},
		{"nftables without a swarm is accepted", core.Swarm{}, []string{"--firewall-backend=nftables"}, "", ""},
		{"-swarm-init with --firewall-backend=nftables is refused", core.Swarm{Init: true},
			[]string{"--firewall-backend=nftables"}, "", "firewall backend is nftables (--firewall-backend=nftables (engine argument))"},
		{"-swarm-join with --firewall-backend nftables (two words) is refused", core.Swarm{Join: "m1"},
			[]string{"--log-level", "warn", "--firewall-backend", "nftables"}, "", "engine refuses swarm mode"},
		{"-swarm-init with nftables in daemon.json is refused, naming the file", core.Swarm{Init: true},
			nil, `{"firewall-backend": "nftables"}`, "daemon.json"},
		{"nftables with the engine's iptables off is accepted (no rules to clash)", core.Swarm{Init: true},
			[]string{"--firewall-backend=nftables", "--iptables=false"}, "", ""},
		{"nftables with iptables off in daemon.json is accepted", core.Swarm{Init: true},
			nil, `{"firewall-backend": "nftables", "iptables": false}`, ""},
		{"nftables with the experimental swarm-nftables feature is accepted", core.Swarm{Init: true},
			[]string{"--firewall-backend=nftables", "--feature", "swarm-nftables"}, "", ""},
		{"nftables with swarm-nftables on in daemon.json is accepted", core.Swarm{Init: true},
			nil, `{"firewall-backend": "nftables", "features": {"swarm-nftables": true}}`, ""},
		{"nftables with swarm-nftables off is refused", core.Swarm{Init: true},
			[]string{"--firewall-backend=nftables", "--feature=swarm-nftables=false"}, "", "firewall backend is nftables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var file []byte
			if tc.config != "" {
				file = []byte(tc.config)
			}
			cfg, err := configtest.TryFile(func(f *config.Flags) { f.Swarm.Init, f.Swarm.Join = tc.swarm.Init, tc.swarm.Join }, nil, file, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			err = checkFirewall(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				return
			}
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want a usage error with %q", err, tc.want)
			}
		})
	}
}

// The stage's validator runs the check: the refusal comes before anything
// starts.
func TestStageValidateRefusesSwarmWithNftables(t *testing.T) {
	cfg := configtest.Resolve(t, func(f *config.Flags) { f.Swarm.Init = true }, nil, "--firewall-backend=nftables")
	err := New().(core.Validator).Validate(&cfg, nil)
	if err == nil || !core.IsUsage(err) {
		t.Fatalf("error = %v, want a usage error", err)
	}
}

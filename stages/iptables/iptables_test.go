package iptables

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/host/hosttest"
)

var nolog = hclog.NewNullLogger()

func TestChooseIptables(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	rules := "*filter\n:INPUT ACCEPT [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j ACCEPT\nCOMMIT\n"
	cases := []struct {
		name     string
		programs map[string]string
		legacy   *string // iptables-legacy-save's output; nil: it fails
		nftRules int
		noNft    bool
		forced   string
		want     string
	}{
		{"DINV_IPTABLES forces a variant", both, nil, 2, false, "legacy", "legacy"},
		{"the variant holding rules wins: legacy", both, &rules, 1, false, "", "legacy"},
		{"the variant holding rules wins: nft", both, ptr(""), 2, false, "", "nft"},
		{"legacy rules win when nf_tables is unavailable", both, &rules, 0, true, "", "legacy"},
		{"a tie in rules goes to nft when the kernel has it", both, &rules, 2, false, "", "nft"},
		{"without rules nft is chosen when the kernel has it", both, ptr(""), 0, false, "", "nft"},
		{"without rules and without nf_tables legacy is chosen", both, ptr(""), 0, true, "", "legacy"},
		{"a single installed variant is used: legacy", map[string]string{"iptables-legacy-save": "/x"}, nil, 5, false, "", "legacy"},
		{"a single installed variant is used: nft", map[string]string{"iptables-nft-save": "/x"}, &rules, 0, true, "", "nft"},
		{"no variants installed means no choice", nil, nil, 0, false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs, f.NftRuleCount, f.NoNft = c.programs, c.nftRules, c.noNft
			f.Files[ipTablesNames] = "filter\n"
			if c.legacy != nil {
				f.Outputs["iptables-legacy-save"] = *c.legacy
			}
			got, why, err := chooseIptables(f, c.forced)
			if err != nil || got != c.want || (got != "" && why == "") {
				t.Errorf("got %q (%q), %v; want %q", got, why, err, c.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestChooseIptablesSkipsLegacySaveWhenNoLegacyTableExists(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	rules := "-A FORWARD -j ACCEPT\n"
	cases := []struct {
		name   string
		tables string
		want   string
	}{
		{"no legacy table: legacy holds no rules, its save output is not read", "", "nft"},
		{"a legacy table exists: its rules are counted", "filter\nnat\n", "legacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs = both
			// Were it read, legacy's output would win.
			f.Outputs = map[string]string{"iptables-legacy-save": rules + rules}
			f.NftRuleCount = 1
			f.Files[ipTablesNames] = c.tables
			if got, _, err := chooseIptables(f, ""); err != nil || got != c.want {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestChooseIptablesFailsWhenLegacyRulesCannotBeCounted(t *testing.T) {
	both := map[string]string{"iptables-legacy-save": "/usr/sbin/iptables-legacy-save", "iptables-nft-save": "/usr/sbin/iptables-nft-save"}
	cases := []struct {
		name   string
		tables *string // ip_tables_names; nil: unreadable
	}{
		{"a failing legacy save where legacy tables exist is an error naming the program", ptr("filter\n")},
		{"a failing legacy save where the legacy tables cannot be listed is an error naming the program", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			f.Programs, f.NftRuleCount = both, 1 // iptables-legacy-save has no output: it fails
			if c.tables != nil {
				f.Files[ipTablesNames] = *c.tables
			}
			got, _, err := chooseIptables(f, "")
			if err == nil || got != "" {
				t.Fatalf("got %q, %v; want an error and no variant", got, err)
			}
			for _, part := range []string{"count legacy iptables rules", "iptables-legacy-save: failed", "DINV_IPTABLES"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestIptablesStageFailsWhenLegacyRulesCannotBeCountedUnlessAVariantIsForced(t *testing.T) {
	cases := []struct {
		name    string
		forced  string
		wantErr bool
	}{
		{"without DINV_IPTABLES the stage fails and changes nothing", "", true},
		{"DINV_IPTABLES=nft chooses without counting", "nft", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-legacy", "iptables-legacy-save"} {
				f.Programs[p] = "/usr/sbin/" + p
			}
			f.Files[ipTablesNames] = "filter\n" // and iptables-legacy-save fails
			st := &stage{sys: f, getenv: func(string) string { return c.forced }, dir: "/run/dinv/iptables"}
			s := &core.State{EngineEnv: []string{"PATH=/usr/bin"}}
			err := st.Run(core.WithLog(context.Background(), nolog), s)
			if !c.wantErr {
				if err != nil || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/run/dinv/iptables:/usr/bin"}) {
					t.Errorf("error %v, env %q", err, s.EngineEnv)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "iptables-legacy-save") {
				t.Errorf("error %v, want one naming iptables-legacy-save", err)
			}
			if len(f.Calls) != 0 || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/usr/bin"}) {
				t.Errorf("calls %q, env %q: want nothing changed", f.Calls, s.EngineEnv)
			}
		})
	}
}

func TestIptablesStagePutsTheVariantFirstInTheEnginesPATH(t *testing.T) {
	f := hosttest.New()
	for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-nft-restore", "ip6tables-nft", "iptables-legacy-save"} {
		f.Programs[p] = "/usr/sbin/" + p
	}
	f.NftRuleCount = 1
	f.Outputs["iptables-legacy-save"] = ""
	st := &stage{sys: f, getenv: func(string) string { return "" }, dir: "/run/dinv/iptables"}
	s := &core.State{EngineEnv: []string{"A=1", "PATH=/usr/bin:/bin"}}
	if err := st.Run(core.WithLog(context.Background(), nolog), s); err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "PATH=/run/dinv/iptables:/usr/bin:/bin"}; !reflect.DeepEqual(s.EngineEnv, want) {
		t.Errorf("env %q, want %q", s.EngineEnv, want)
	}
	want := []string{"mkdir /run/dinv/iptables",
		"link /run/dinv/iptables/iptables -> /usr/sbin/iptables-nft",
		"link /run/dinv/iptables/iptables-save -> /usr/sbin/iptables-nft-save",
		"link /run/dinv/iptables/iptables-restore -> /usr/sbin/iptables-nft-restore",
		"link /run/dinv/iptables/ip6tables -> /usr/sbin/ip6tables-nft"}
	if !reflect.DeepEqual(f.Calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.Calls, want)
	}
}

func TestIptablesStageReplacesEveryLinkOfAnEarlierStart(t *testing.T) {
	f := hosttest.New()
	for _, tool := range iptablesTools {
		f.Files["/run/dinv/iptables/"+tool] = "" // legacy links of the last start
	}
	for _, p := range []string{"iptables-nft", "iptables-nft-save", "iptables-nft-restore"} {
		f.Programs[p] = "/usr/sbin/" + p
	}
	st := &stage{sys: f, getenv: func(string) string { return "nft" }, dir: "/run/dinv/iptables"}
	if err := st.Run(core.WithLog(context.Background(), nolog), &core.State{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"mkdir /run/dinv/iptables",
		"remove /run/dinv/iptables/iptables", "remove /run/dinv/iptables/iptables-save", "remove /run/dinv/iptables/iptables-restore",
		"remove /run/dinv/iptables/ip6tables", "remove /run/dinv/iptables/ip6tables-save", "remove /run/dinv/iptables/ip6tables-restore",
		"link /run/dinv/iptables/iptables -> /usr/sbin/iptables-nft",
		"link /run/dinv/iptables/iptables-save -> /usr/sbin/iptables-nft-save",
		"link /run/dinv/iptables/iptables-restore -> /usr/sbin/iptables-nft-restore"}
	if !reflect.DeepEqual(f.Calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.Calls, want)
	}
}

func TestIptablesStageFailsWhenTheForcedVariantIsNotInstalled(t *testing.T) {
	cases := []struct {
		name     string
		forced   string
		programs []string
		missing  string
	}{
		{"legacy forced where only nft is installed", "legacy", []string{"iptables-nft", "iptables-nft-save", "iptables-legacy-save"}, "iptables-legacy"},
		{"nft forced where only legacy is installed", "nft", []string{"iptables-legacy", "iptables-legacy-save"}, "iptables-nft"},
		{"legacy forced where no iptables is installed", "legacy", nil, "iptables-legacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := hosttest.New()
			for _, p := range c.programs {
				f.Programs[p] = "/usr/sbin/" + p
			}
			st := &stage{sys: f, getenv: func(string) string { return c.forced }, dir: "/run/dinv/iptables"}
			s := &core.State{EngineEnv: []string{"PATH=/usr/bin"}}
			err := st.Run(core.WithLog(context.Background(), nolog), s)
			if err == nil || !strings.Contains(err.Error(), c.missing+" is not installed") {
				t.Errorf("error %v, want one naming %s", err, c.missing)
			}
			if len(f.Calls) != 0 || !reflect.DeepEqual(s.EngineEnv, []string{"PATH=/usr/bin"}) {
				t.Errorf("calls %q, env %q: want nothing changed", f.Calls, s.EngineEnv)
			}
		})
	}
}

func TestIptablesStageRejectsAnUnknownDINV_IPTABLES(t *testing.T) {
	for _, v := range []string{"legacy", "nft", ""} {
		st := &stage{getenv: func(string) string { return v }}
		if err := st.Validate(nil, nil); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	st := &stage{getenv: func(string) string { return "nftables" }}
	if err := st.Validate(nil, nil); err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), "nftables") {
		t.Errorf("error %v", err)
	}
}

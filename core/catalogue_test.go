package core

import (
	"errors"
	"strings"
	"testing"
)

func testCatalogue() *Catalogue {
	return NewCatalogue(
		&fakeStage{name: "network"},
		&fakeStage{name: "pki"},
		requiringStage{&fakeStage{name: "args", needs: []string{"pki"}}},
		phasedStage{requiringStage{&fakeStage{name: "engine", needs: []string{"args"}}}, Start},
		validatingStage{&fakeStage{name: "picky", invalid: errors.New("-storage: unknown driver \"zfsx\"")}},
		phasedStage{requiringStage{&fakeStage{name: "ready"}}, Running},
		phasedStage{requiringStage{&fakeStage{name: "engine2"}}, Start},
	)
}

// phasedStage is a stage of another phase than Prepare.
type phasedStage struct {
	requiringStage
	phase Phase
}

func (p phasedStage) Phase() Phase { return p.phase }

func TestResolveKeepsTheEnginesPhasesInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		list []string
		want string // "" for a list that resolves
	}{
		{"prepare, start, running resolves", []string{"pki", "args", "engine", "ready"}, ""},
		{"a stage that prepares after the engine started is refused", []string{"pki", "args", "engine", "network"},
			`stage "network" (prepare) is listed after the engine started: it must come before "engine"`},
		{"a stage that needs the engine running with none started is refused", []string{"ready"},
			`stage "ready" needs the engine running, and no stage before it starts it`},
		{"a running stage before the engine is refused", []string{"pki", "args", "ready", "engine"},
			`stage "ready" needs the engine running, and no stage before it starts it`},
		{"two stages that start the engine are refused", []string{"pki", "args", "engine", "engine2"},
			`stages "engine" and "engine2" both start the engine`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testCatalogue().Resolve(tc.list, "", &Config{}, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want a usage error with %q", err, tc.want)
			}
		})
	}
}

func TestResolveReturnsStagesInListOrder(t *testing.T) {
	stages, err := testCatalogue().Resolve([]string{"pki", "network", "args", "engine"}, "", &Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stages {
		names = append(names, s.Name())
	}
	if got := strings.Join(names, ","); got != "pki,network,args,engine" {
		t.Errorf("order %q, want the list's", got)
	}
}

func TestResolveRejectsBadListsWhole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		list  []string
		wants []string
	}{
		{"an unknown name lists the known ones", []string{"network", "netwrk"},
			[]string{`unknown stage "netwrk" (known: args, engine, engine2, network, picky, pki, ready)`}},
		{"a duplicate is an error", []string{"network", "pki", "network"},
			[]string{`stage "network" is listed twice`}},
		{"a missing prerequisite names both stages", []string{"network", "args"},
			[]string{`stage "args" needs stage "pki", which is not in the list`}},
		{"a prerequisite after its dependent is an error", []string{"args", "pki"},
			[]string{`stage "args" needs stage "pki" before it`}},
		{"a validator's complaint is reported", []string{"picky"},
			[]string{`-storage: unknown driver "zfsx"`}},
		{"every problem is reported at once", []string{"nope", "pki", "pki", "engine"},
			[]string{`unknown stage "nope"`, `stage "pki" is listed twice`, `stage "engine" needs stage "args", which is not in the list`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testCatalogue().Resolve(tc.list, "", &Config{}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !IsUsage(err) {
				t.Errorf("%v is not a usage error", err)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestResolveNamesTheFileOfABadListButNotOfABadFlag(t *testing.T) {
	_, err := testCatalogue().Resolve([]string{"netwrk", "picky"}, "/etc/dinv/stages.yaml", &Config{}, nil)
	want := `/etc/dinv/stages.yaml: unknown stage "netwrk" (known: args, engine, engine2, network, picky, pki, ready); -storage: unknown driver "zfsx"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	_, err = testCatalogue().Resolve([]string{"picky"}, "/etc/dinv/stages.yaml", &Config{}, nil)
	if err == nil || strings.Contains(err.Error(), "stages.yaml") {
		t.Errorf("a flag's problem is blamed on the file: %v", err)
	}
}

func TestNewCataloguePanicsOnTwoStagesWithOneName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewCatalogue(&fakeStage{name: "pki"}, &fakeStage{name: "pki"})
}

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
		requiringStage{&fakeStage{name: "engine", needs: []string{"args"}}},
		validatingStage{&fakeStage{name: "picky", invalid: errors.New("-storage: unknown driver \"zfsx\"")}},
	)
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
			[]string{`unknown stage "netwrk" (known: args, engine, network, picky, pki)`}},
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
	want := `/etc/dinv/stages.yaml: unknown stage "netwrk" (known: args, engine, network, picky, pki); -storage: unknown driver "zfsx"`
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

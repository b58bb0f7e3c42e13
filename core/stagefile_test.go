package core

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStageFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		yaml   string
		engine string
		stages []string
		err    string
	}{
		{"a flow list with an engine", "engine: \"26.1\"\nstages: [network, pki, args]\n", "26.1", []string{"network", "pki", "args"}, ""},
		{"an unquoted engine version keeps its digits", "engine: 20.10\nstages: [args]\n", "20.10", []string{"args"}, ""},
		{"a block list without an engine", "stages:\n  - network\n  - args\n", "", []string{"network", "args"}, ""},
		{"a syntax error reports its line", "engine: \"26.1\"\nstages:\n  - network\n  - args\n bad\n", "", nil, "f.yaml: line 4: did not find expected key"},
		{"a tab in the indentation reports the tab's line", "engine: \"26.1\"\nstages:\n  - network\n\t- args\n", "", nil, "f.yaml: line 4: a tab in the indentation"},
		{"a wrong type reports its line", "engine: \"26.1\"\nstages: {network: 1}\n", "", nil, "f.yaml: line 2: cannot unmarshal !!map into []string"},
		{"a stage that is not a name", "stages: [network, [args]]\n", "", nil, "f.yaml: line 1: cannot unmarshal !!seq into string"},
		{"an unknown key names the known ones", "engine: \"26.1\"\nstagez: [args]\n", "", nil, "f.yaml: line 2: field stagez is not a known key (known: engine, stages)"},
		{"an empty file", "", "", nil, "f.yaml: empty file"},
		{"an empty list", "stages: []\n", "", nil, "f.yaml: no stages listed"},
		{"an empty name", "stages: [network, \"\"]\n", "", nil, "f.yaml: stage 2 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseStageFile("f.yaml", []byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !IsUsage(err) {
					t.Fatalf("error = %v, want usage error containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Engine != tc.engine || !reflect.DeepEqual(f.Stages, tc.stages) {
				t.Errorf("got %+v", f)
			}
		})
	}
}

func TestReadStageFileNamesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stages.yaml")
	_, err := ReadStageFile(path)
	if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), path+": no such file") {
		t.Errorf("error = %v", err)
	}
	if err := os.WriteFile(path, []byte("stages: [args]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadStageFile(path); err != nil || f.Stages[0] != "args" {
		t.Errorf("ReadStageFile = %+v, %v", f, err)
	}
}

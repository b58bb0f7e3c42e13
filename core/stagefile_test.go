package core

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
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
		{"an unknown key names the known ones", "engine: \"26.1\"\nstagez: [args]\n", "", nil, "f.yaml: line 2: field stagez is not a known key (known: engine, stages, swarm)"},
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

func TestTheStageFileCarriesSwarmKeys(t *testing.T) {
	f, err := ParseStageFile("s.yaml", []byte("swarm:\n  join: mgr:2377\n  role: manager\n  timeout: 90s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Swarm == nil || f.Swarm.Join != "mgr:2377" || f.Swarm.Role != "manager" || f.Swarm.Timeout != 90*time.Second || len(f.Stages) != 0 {
		t.Errorf("parsed %+v", f)
	}
	_, err = ParseStageFile("s.yaml", []byte("swarm:\n  joins: mgr\n"))
	if err == nil || !strings.Contains(err.Error(), `s.yaml: line 2: field joins is not a known swarm key (known: init, join, role, advertise, token-file, timeout)`) {
		t.Errorf("error %v", err)
	}
}

func TestASecretNeverReachesALogLine(t *testing.T) {
	for _, json := range []bool{false, true} {
		var buf bytes.Buffer
		log := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: json, Level: hclog.Debug})
		s := Swarm{Join: "m", Token: "SWMTKN-1-secret"}
		log.Debug("joining", "token", s.Token, "swarm", s, "swarm_ptr", &s)
		log.Debug(fmt.Sprintf("%v %+v %#v %s", s.Token, s, s, s.Token))
		if strings.Contains(buf.String(), "SWMTKN") || !strings.Contains(buf.String(), "REDACTED") {
			t.Errorf("json=%v: log %s", json, buf.String())
		}
	}
	if (Secret("x")).Value() != "x" {
		t.Error("Value does not give the secret")
	}
}

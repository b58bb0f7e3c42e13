package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets a test run the whole of dinv in a child process (the
// supervisor reaps every child of its process, which a test binary must not
// share): DINV_TEST_ARGS holds the JSON arguments.
func TestMain(m *testing.M) {
	if args := os.Getenv("DINV_TEST_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Exit(run(append([]string{"/dinv"}, argv...), os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestAnEngineThatEndsBeforeAnsweringGivesDinvItsStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		code   int
		logs   []string
		not    []string
	}{
		{"a crash at start-up: its status and its last error", "echo 'failed to start daemon: listen tcp: address already in use' >&2; exit 3", 3,
			[]string{"start-up failed", "address already in use", `exiting: reason="engine exited with status 3" code=3`}, nil},
		{"a clean exit before answering: status 0, no failure logged", "exit 0", 0,
			[]string{`exiting: reason="engine exited with status 0" code=0`}, []string{"start-up failed"}},
		{"killed by a signal: 128+N", "kill -KILL $$", 137,
			[]string{"engine killed by signal 9", "code=137"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "dockerd"), []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			list := filepath.Join(dir, "stages.yaml")
			if err := os.WriteFile(list, []byte("stages: [args, engine, ready]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			argv, _ := json.Marshal(append([]string{"-engine-version", "26.1", "-config", list, "-local"}, placed(dir)...))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DINV_TEST_ARGS="+string(argv), "PATH="+bin+":"+os.Getenv("PATH"))
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", got, tc.code, out)
			}
			for _, want := range tc.logs {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, unwanted := range tc.not {
				if strings.Contains(string(out), unwanted) {
					t.Errorf("output has %q:\n%s", unwanted, out)
				}
			}
		})
	}
}

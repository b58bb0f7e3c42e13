package reaper

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run real processes through the process-wide reaper: nothing
// else in this test binary may wait for a child.

func procs(t *testing.T) Procs {
	t.Helper()
	p, _ := Default()
	t.Cleanup(func() {
		for _, pid := range p.Strays() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return p
}

func TestStraysAreTheChildrenTheReaperDidNotStart(t *testing.T) {
	p := procs(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// sh starts sleep and exits: sleep is reparented to this process (a
	// child subreaper), which did not start it.
	proc, err := p.Start(Cmd{Args: []string{"sh", "-c", `sleep 100 & echo $! > "$1"`, "x", pidFile}})
	if err != nil {
		t.Fatal(err)
	}
	<-proc.Done()
	b, _ := os.ReadFile(pidFile)
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	deadline := time.Now().Add(30 * time.Second)
	for !contains(p.Strays(), pid) {
		if time.Now().After(deadline) {
			t.Fatalf("stray %d not listed: %v", pid, p.Strays())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !proc.SignalGroup(syscall.SIGKILL) {
		t.Error("the exited shell's group, where sleep still is, got nothing")
	}
	for contains(p.Strays(), pid) {
		if time.Now().After(deadline) {
			t.Fatalf("stray %d still there after SIGKILL to its group", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if proc.SignalGroup(0) {
		t.Error("the group is still there once its last member is gone")
	}
}

func contains(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

func TestStatusReadsAsAShellWould(t *testing.T) {
	cases := []struct {
		name string
		st   Status
		code int
		text string
	}{
		{"a clean exit is 0", Status{}, 0, "exited with status 0"},
		{"an exit code is kept", Status{Code: 3}, 3, "exited with status 3"},
		{"a signal is 128 plus its number", Status{Signal: syscall.SIGTERM}, 143, "killed by signal 15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.st.ExitCode() != c.code || c.st.String() != c.text {
				t.Errorf("got %d %q", c.st.ExitCode(), c.st.String())
			}
		})
	}
}

func TestLookPathUsesTheEnginesPATH(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "iptables")
	os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755)
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"the env's PATH is searched first to last", []string{"PATH=" + dir + ":/usr/sbin"}, prog},
		{"the last PATH entry of the env counts", []string{"PATH=/nonexistent", "PATH=" + dir}, prog},
		{"a name not on the env's PATH is not found", []string{"PATH=/nonexistent"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LookPath("iptables", c.env)
			if got != c.want || (c.want == "") != (err != nil) {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

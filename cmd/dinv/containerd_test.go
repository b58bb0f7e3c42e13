package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// On profile 26.1 dinv starts the engine's containerd first
// (args.OwnContainerd): the tests that run dinv with a fake engine get a
// fake containerd too, this test binary (fakeContainerd).

// shortTempDir is a temporary directory whose name is short enough for
// unix sockets in it (a sun_path holds 108 bytes; containerd takes 104):
// t.TempDir's names carry the test's.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dinv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// writeFakeContainerd puts a containerd in bin that is this test binary as
// fakeContainerd.
func writeFakeContainerd(t *testing.T, bin string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nDINV_TEST_FAKE_CONTAINERD=1 exec " + self + ` "$@"` + "\n"
	if err := os.WriteFile(filepath.Join(bin, "containerd"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeContainerd serves the socket beside its --config file, as the
// containerd dinv configures serves its gRPC API there, until SIGTERM, after
// $DINV_TEST_CONTAINERD_BOOT. With $MARK set it appends what it does to that
// file.
func fakeContainerd() int {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	config := argValue("--config=")
	if _, err := os.Stat(config); err != nil {
		fmt.Fprintln(os.Stderr, "fake containerd: no configuration:", err)
		return 1
	}
	socket := filepath.Join(filepath.Dir(config), "containerd.sock")
	if d, err := time.ParseDuration(os.Getenv("DINV_TEST_CONTAINERD_BOOT")); err == nil {
		time.Sleep(d) // loading its plugins
	}
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake containerd:", err)
		return 1
	}
	mark("containerd serving")
	<-signals
	mark("containerd stopped")
	l.Close()
	return 0
}

// argValue is the value of the last of this process's arguments that starts
// with prefix ("--config="), "" when none does.
func argValue(prefix string) string {
	v := ""
	for _, a := range os.Args[1:] {
		if s, ok := strings.CutPrefix(a, prefix); ok {
			v = s
		}
	}
	return v
}

// mark appends line to $MARK, when set.
func mark(line string) {
	if path := os.Getenv("MARK"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

// fakeEngineNeedingContainerd is an engine given --containerd: it connects
// to it once (containerd serves before the engine starts), then runs until
// SIGTERM.
func fakeEngineNeedingContainerd() int {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	socket := argValue("--containerd=")
	c, err := net.Dial("unix", socket)
	if err != nil {
		mark("engine: containerd not serving: " + err.Error())
		return 7
	}
	c.Close()
	mark("engine: containerd serving")
	<-signals
	mark("engine stopped")
	return 0
}

func TestDinvStartsTheEnginesContainerdFirstAndStopsItLast(t *testing.T) {
	list := filepath.Join(t.TempDir(), "stages.yaml")
	if err := os.WriteFile(list, []byte("stages: [args, engine]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// containerd takes a while to serve: an engine started meanwhile would
	// find no socket.
	cmd, out, markFile := startDinvWith(t, []string{"DINV_TEST_CONTAINERD_BOOT=300ms"},
		"DINV_TEST_FAKE_ENGINE_CONTAINERD=1 exec "+self+` "$@"`, "-engine-version", "26.1", "-config", list, "-local")
	waitFor(t, "the engine to see containerd", func() bool {
		b, _ := os.ReadFile(markFile)
		return strings.Contains(string(b), "engine:")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, cmd); code != 0 {
		t.Errorf("exit code %d, want 0; output:\n%s", code, out)
	}
	b, _ := os.ReadFile(markFile)
	want := "containerd serving\nengine: containerd serving\nengine stopped\ncontainerd stopped\n"
	if string(b) != want {
		t.Errorf("what happened:\n%s\nwant:\n%s\noutput:\n%s", b, want, out)
	}
}

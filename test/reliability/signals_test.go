//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/test/harness"
)

// Signals during start-up: a SIGTERM at any moment of dinv's start
// ends it promptly with 128+15, before the engine starts (nothing later runs),
// or, once the engine runs, as the engine ends (its clean 0). Each case holds
// dinv in one place it cannot leave by itself, so that the signal lands there
// and nowhere else.

// promptly bounds the time from a stop signal to dinv's exit before the
// engine runs: the runner gives a stage 2 s to return once stopped.
const promptly = 3 * time.Second

// startHost starts dinv with h's flags, then args, with env added (see
// harness.HostDinv.Start); with detect, without -engine-version.
func startHost(t *testing.T, h *harness.HostDinv, detect bool, env []string, args ...string) *harness.HostProc {
	t.Helper()
	if detect {
		h.EngineVersion = ""
	}
	h.Env = env
	return h.Start(t, args...)
}

// stagesAfter lists the stages that started after the line holding mark.
func stagesAfter(log, mark string) []string {
	var out []string
	seen := false
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, mark) {
			seen = true
			continue
		}
		if i := strings.Index(l, "[DEBUG] dinv."); seen && i >= 0 && strings.HasSuffix(l, ": start") {
			out = append(out, strings.TrimSuffix(l[i+len("[DEBUG] dinv."):], ": start"))
		}
	}
	return out
}

// writeStages writes the host cases' stage list and returns its path.
func writeStages(t *testing.T, h *harness.HostDinv) string {
	t.Helper()
	path := filepath.Join(h.Dir, "signal-stages.yaml")
	if err := os.WriteFile(path, []byte(harness.HostStages), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkStopped checks a stop before the engine: exit 143 within promptly, the
// stop and the reason logged, no engine, and nothing written to the
// certificate directory since before.
func checkStopped(t *testing.T, h *harness.HostDinv, p *harness.HostProc, at time.Time, before map[string]string) {
	t.Helper()
	code := p.Exit(t, 30*time.Second)
	took := p.Ended().Sub(at)
	figures.Time("SIGTERM to exit before the engine, host", took)
	log := p.Output()
	if code != 143 {
		t.Errorf("exit %d, want 143 (128+SIGTERM)", code)
	}
	if took > promptly {
		t.Errorf("dinv took %s to exit after SIGTERM, want at most %s", took.Round(time.Millisecond), promptly)
	}
	for _, want := range []string{"stop signal received: signal=SIGTERM", "stopped by SIGTERM before the engine started"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if later := stagesAfter(log, "stop signal received"); len(later) > 0 {
		t.Errorf("stages started after the stop signal: %v", later)
	}
	for _, p := range []string{h.Socket, h.Pidfile} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("an engine started: %s exists", p)
		}
	}
	if d := diffSnapshots(before, snapshot(t, h.Certs)); len(d) > 0 {
		t.Errorf("the certificate directory changed after the stop: %s", strings.Join(d, "; "))
	}
}

func TestSignalDuringStartOnTheHost(t *testing.T) {
	debug := []string{"DEBUG=true"}

	// The lock of the certificate directory, held by this test (another
	// process): dinv says once that it waits, for which file, and stops
	// waiting on SIGTERM.
	t.Run("SIGTERM while waiting for .dinv.lock held by another process", func(t *testing.T) {
		figures.Case(t, "signal during start-up")
		h := suite.NewDinv(t)
		writeCerts(t, h.Certs, nil)
		lock, err := os.OpenFile(filepath.Join(h.Certs, ".dinv.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, h.Certs)
		p := startHost(t, h, false, debug, "-config", writeStages(t, h), "-tlsverify")
		line := p.WaitLine(t, "waiting for the certificate directory's lock", 30*time.Second)
		if !strings.Contains(line, filepath.Join(h.Certs, ".dinv.lock")) {
			t.Errorf("the waiting line does not name the lock file:\n%s", line)
		}
		checkStopped(t, h, p, p.Signal(t, syscall.SIGTERM), before)
		if n := strings.Count(p.Output(), "waiting for the certificate directory's lock"); n != 1 {
			t.Errorf("said %d times that it waits, want once", n)
		}
	})

	// No -engine-version, no image version: dinv asks `dockerd --version`,
	// which hangs (a wrapper script whose child holds its output).
	t.Run("SIGTERM during the engine version detection, dockerd --version hung", func(t *testing.T) {
		figures.Case(t, "signal during start-up")
		h := suite.NewDinv(t)
		bin := filepath.Join(h.Dir, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Fatal(err)
		}
		// The child is a copy of sleep under h.Dir: a leftover is found by
		// its path (h's cleanup kills it, as the next run kills a killed
		// run's).
		child := filepath.Join(bin, "hung-child")
		if out, err := exec.Command("cp", sleep, child).CombinedOutput(); err != nil {
			t.Fatalf("cp sleep: %v %s", err, out)
		}
		childPID := filepath.Join(h.Dir, "child.pid")
		harness.WriteFile(t, bin, "dockerd", []byte(fmt.Sprintf("#!/bin/sh\n%s 600 &\necho $! >%s\nwait\necho 'Docker version 20.10.24'\n", child, childPID)), 0o755)
		before := snapshot(t, h.Certs)
		p := startHost(t, h, true, append(debug, "PATH="+bin+":"+os.Getenv("PATH")), "-config", writeStages(t, h))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(childPID); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the fake dockerd --version never ran:\n%s", p.Output())
			}
			time.Sleep(10 * time.Millisecond)
		}
		checkStopped(t, h, p, p.Signal(t, syscall.SIGTERM), before)
		b, _ := os.ReadFile(childPID)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			end := time.Now().Add(2 * time.Second)
			for harness.Alive(pid) && time.Now().Before(end) {
				time.Sleep(10 * time.Millisecond)
			}
			if harness.Alive(pid) {
				t.Errorf("the hung `dockerd --version`'s child (pid %d) outlives dinv", pid)
			}
		}
	})

	// A stage that does not watch for signals, held in place: the stale
	// stage reads the docker*.pid files beside the engine's pid file, here
	// one that is a FIFO, which blocks until the test writes to it. The SIGTERM arrives while it is held; the FIFO
	// is fed once dinv has logged the stop, so the stage then returns
	// without error: no later stage may run (storage would make the data
	// root, pki the certificates).
	t.Run("SIGTERM during a stage that returns normally afterwards: no later stage runs", func(t *testing.T) {
		figures.Case(t, "signal during start-up")
		h, fifo := heldStale(t)
		before := snapshot(t, h.Certs)
		p := startHost(t, h, false, debug, "-config", writeStages(t, h), "-tlsverify")
		p.WaitLine(t, "dinv.stale: start", 30*time.Second)
		at := p.Signal(t, syscall.SIGTERM)
		p.WaitLine(t, "stop signal received", 10*time.Second)
		feedFIFO(t, fifo, 5*time.Second)
		checkStopped(t, h, p, at, before)
		if _, err := os.Stat(filepath.Join(h.Dir, "data")); err == nil {
			t.Error("the storage stage ran after the stop signal: it made the data root")
		}
	})

	// The same stage held for good: the runner stops waiting for it after
	// its grace period and exits.
	t.Run("SIGTERM during a stage that never returns: left behind after the stage wait", func(t *testing.T) {
		figures.Case(t, "signal during start-up")
		h, fifo := heldStale(t)
		// Whatever the outcome, the FIFO's reader is let go at the end.
		t.Cleanup(func() { feedFIFO(t, fifo, 0) })
		before := snapshot(t, h.Certs)
		p := startHost(t, h, false, debug, "-config", writeStages(t, h), "-tlsverify")
		p.WaitLine(t, "dinv.stale: start", 30*time.Second)
		checkStopped(t, h, p, p.Signal(t, syscall.SIGTERM), before)
		if !strings.Contains(p.Output(), "stage still running after its context ended") {
			t.Error("no warning that the stale stage was left behind")
		}
	})
}

// heldStale is a place to run dinv, with a certificate directory, whose
// stale stage blocks until the test feeds the FIFO it returns: a
// docker*.pid beside the engine's pid file, which the stage reads.
func heldStale(t *testing.T) (*harness.HostDinv, string) {
	t.Helper()
	h := suite.NewDinv(t)
	writeCerts(t, h.Certs, nil)
	fifo := filepath.Join(filepath.Dir(h.Pidfile), "docker-held.pid")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	return h, fifo
}

// feedFIFO writes a pid of no process to the FIFO at path once a reader has
// it open (it has, or gets it within the time given); a FIFO gone or without
// a reader is left alone.
func feedFIFO(t *testing.T, path string, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil { // ENXIO: no reader (yet); ENOENT: removed
			if time.Now().After(end) {
				return
			}
			continue
		}
		f.WriteString("2147483646\n")
		f.Close()
		return
	}
}

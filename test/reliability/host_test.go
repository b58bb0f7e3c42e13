//go:build reliability

package reliability

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// hostDirs is one run of the real dinv binary on the host, with every
// placement flag in a temporary directory: a run that wrongly got through
// would start an engine whose socket or pid file appears there.
type hostDirs struct {
	dir, certs, socket, pidfile string
	port                        int
}

func newHostDirs(t *testing.T) *hostDirs {
	t.Helper()
	dir := t.TempDir()
	// The test's temporary directory (dir's parent): a run killed with a
	// dinv still running leaves it, with the processes and mounts in it.
	if err := hostRecord.Add(harness.HostDir, filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	h := &hostDirs{
		dir:     dir,
		certs:   filepath.Join(dir, "certs"),
		socket:  filepath.Join(dir, "run", "docker.sock"),
		pidfile: filepath.Join(dir, "run", "docker.pid"),
		port:    harness.FreePort(t),
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A dinv killed in the storage stage leaves its probe's overlay mount
	// under the data root: unmount whatever is under dir before it is removed.
	t.Cleanup(func() { harness.UnmountUnder(dir) })
	return h
}

// flags are the placement flags, and a fixed engine version (the host's
// engine is 20.10) so that no case depends on detection.
func (h *hostDirs) flags() []string {
	return append([]string{"-engine-version", "20.10"}, h.placement()...)
}

// placement are the flags that put everything dinv and an engine touch in
// h's directory.
func (h *hostDirs) placement() []string {
	return []string{
		"-certs", h.certs,
		"-data-root", filepath.Join(h.dir, "data"),
		"-exec-root", filepath.Join(h.dir, "exec"),
		"-pidfile", h.pidfile,
		"-socket", h.socket,
		"-port", strconv.Itoa(h.port),
	}
}

// hostResult is how one run of dinv ended.
type hostResult struct {
	code           int
	stdout, stderr string
	engineSeen     string // the socket or pid file that appeared, "" when none did
	timedOut       bool
	took           time.Duration
}

// run runs dinv with h's flags, then args, until it exits or timeout passes
// (then it is stopped and timedOut set), watching for the engine's socket and
// pid file all along.
func (h *hostDirs) run(t *testing.T, timeout time.Duration, env []string, args ...string) hostResult {
	t.Helper()
	// An engine a case wrongly started must not touch the host engine's
	// default bridge or rules: it gets a bridge of its own (never
	// --bridge=none: dockerd then deletes docker0) and no iptables.
	args = append(append(h.flags(), args...), "--", "--bridge="+ownBridge(t), "--iptables=false")
	cmd := exec.Command(dinvBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var r hostResult
	watch := func() {
		for _, p := range []string{h.socket, h.pidfile} {
			if _, err := os.Lstat(p); err == nil && r.engineSeen == "" {
				r.engineSeen = p
			}
		}
	}
	deadline := time.After(timeout)
	var err error
wait:
	for {
		watch()
		select {
		case err = <-done:
			break wait
		case <-deadline:
			r.timedOut = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				err = <-done
			}
			break wait
		case <-time.After(5 * time.Millisecond):
		}
	}
	watch()
	h.killEngine()
	r.took = time.Since(start)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// killEngine stops an engine a wrongly accepted case left behind.
func (h *hostDirs) killEngine() {
	b, err := os.ReadFile(h.pidfile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// errorLines are the lines of dinv's log at ERROR level.
func errorLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "[ERROR]") || strings.Contains(l, `"@level":"error"`) {
			out = append(out, l)
		}
	}
	return out
}

// snapshot is every entry under dir: its path, kind, mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == dir {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		entry := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entry += " " + string(b)
		}
		snap[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// diffSnapshots lists what changed between two snapshots.
func diffSnapshots(before, after map[string]string) []string {
	var out []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			out = append(out, p+": removed")
		case a != b:
			out = append(out, p+": changed")
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, p+": appeared")
		}
	}
	sort.Strings(out)
	return out
}

// mountReadOnlyTmpfs mounts an empty tmpfs on dir and remounts it read-only
// (root ignores file modes, not a read-only mount), unmounted when t ends.
func mountReadOnlyTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount %s read-only: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
		t.Fatalf("%s is still writable after the read-only remount", dir)
	}
}

// expand replaces {certs}, {config} and {dir} in s.
func (h *hostDirs) expand(s string) string {
	return strings.NewReplacer("{certs}", h.certs, "{config}", filepath.Join(h.dir, "stages.yaml"), "{dir}", h.dir).Replace(s)
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// pemDER returns the DER bytes of the first PEM block.
func pemDER(t testing.TB, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

var (
	bridgeOnce sync.Once
	bridgeName string
	bridgeErr  error
)

// ownBridge is a bridge made for the engines of the host cases (one for the
// whole run, removed at its end by TestMain).
func ownBridge(t testing.TB) string {
	t.Helper()
	bridgeOnce.Do(func() {
		name := fmt.Sprintf("dinvrel%d", os.Getpid()%100000)
		if bridgeErr = hostRecord.Add(harness.HostBridge, name); bridgeErr != nil {
			return
		}
		if out, err := exec.Command("ip", "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
			bridgeErr = fmt.Errorf("ip link add %s: %v: %s", name, err, out)
			return
		}
		bridgeName = name
	})
	if bridgeErr != nil {
		t.Fatal(bridgeErr)
	}
	return bridgeName
}

// removeOwnBridge removes the bridge ownBridge made, if any.
func removeOwnBridge() {
	if bridgeName != "" {
		exec.Command("ip", "link", "del", bridgeName).Run()
	}
}

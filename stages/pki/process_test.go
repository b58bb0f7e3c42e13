package pki

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests below re-run this test binary as separate dinv-like processes on
// one directory: PKI_HELPER says what the child does.
const helperEnv = "PKI_HELPER"

// TestHelperProcess is the child's body, not a test of its own.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	dir := os.Getenv("PKI_DIR")
	if at, err := strconv.ParseInt(os.Getenv("PKI_START_AT"), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, at)))
	}
	st := slowStore(50 * time.Millisecond)
	if mode == "crash" {
		st = osStore{afterTemps: func() { os.Exit(3) }}
	}
	res, err := ensure(context.Background(), request{Dir: dir, Layout: os.Getenv("PKI_LAYOUT"), Verify: true, Hosts: testHosts, store: st})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res.Generated)
	os.Exit(0)
}

func helper(mode, dir string, startAt time.Time) *exec.Cmd {
	return helperIn(mode, dir, "", startAt)
}

// helperIn is helper for a directory of the given layout.
func helperIn(mode, dir, layout string, startAt time.Time) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "PKI_DIR="+dir, "PKI_LAYOUT="+layout,
		"PKI_START_AT="+strconv.FormatInt(startAt.UnixNano(), 10))
	return cmd
}

// TestConcurrentProcessesMintOneCA: four processes started at the same
// moment on one empty directory end with exactly one CA, minted once, and
// every process reports the same server certificate chain; in both layouts.
func TestConcurrentProcessesMintOneCA(t *testing.T) {
	for _, lay := range []layout{flatLayout, dindLayout} {
		t.Run(lay.name, func(t *testing.T) { concurrentProcesses(t, lay) })
	}
}

func concurrentProcesses(t *testing.T, lay layout) {
	dir := t.TempDir()
	const n = 4
	startAt := time.Now().Add(300 * time.Millisecond)
	var wg sync.WaitGroup
	outs := make([][]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := helperIn("ensure", dir, lay.name, startAt).Output()
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
				return
			}
			errs[i] = json.Unmarshal(out, &outs[i])
		}(i)
	}
	wg.Wait()
	minted := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if contains(outs[i], lay.caCert) {
			minted++
		}
	}
	if minted != 1 {
		t.Errorf("%d processes minted a CA (%v), want exactly 1", minted, outs)
	}
	if err := verifyWith(t, dir, lay.clientTrust(), lay.serverCert, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Error(err)
	}
	if err := verifyWith(t, dir, lay.engineCA(), lay.clientCert, x509.ExtKeyUsageClientAuth, time.Now()); err != nil {
		t.Error(err)
	}
}

// TestKilledDuringGeneration: a process killed between writing its temp
// files and renaming them leaves nothing the next start reads as valid.
func TestKilledDuringGeneration(t *testing.T) {
	dir := t.TempDir()
	err := helper("crash", dir, time.Now()).Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child exit: %v, want the crash hook's status 3", err)
	}
	for n := range snapshot(t, dir) {
		if flatLayout.isFile(n) {
			t.Fatalf("%s visible after the kill", n)
		}
	}
	res := mustEnsure(t, dir, true, testHosts, time.Now())
	if len(res.Generated) != 6 {
		t.Errorf("generated %v after the kill, want all six", res.Generated)
	}
	for n := range snapshot(t, dir) {
		if strings.HasPrefix(n, tempPrefix) {
			t.Errorf("temp file %s left", n)
		}
	}
}

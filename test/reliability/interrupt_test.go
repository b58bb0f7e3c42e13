//go:build reliability

package reliability

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// interruptTries is how many generations fault 7 kills.
const interruptTries = 60

// Fault 7: a write to the certificate directory interrupted.
//
// dinv runs a cold -tlsverify generation (a real start whose stage list ends
// with pki: certsOnly) under strace, which delays every fsync and rename by 25
// ms, so that the generation (six temp files written and synced, six renames,
// a directory sync) takes about 0.35 s instead of 1 ms. The whole process
// group is killed with SIGKILL at a uniformly random moment in the first
// 0.5 s. Then dinv runs again on the same directory without strace.
//
// What it proves: over the tries, kills land before, during and after the
// writes (the figures show how many left 0 to 6 final files and how many left
// temp files); no file under a final name is ever partial (every present file
// parses whole), and a next start that succeeds serves a consistent set
// (keys match their certificates, the server and client chain to ca.crt). A
// next start that refuses the directory is counted and reported: the case
// "the next start recovers" fails on it, since a DinV host killed during its
// first start must not stay broken.
//
// What it does not prove: a power loss (the kernel's page cache survives a
// SIGKILL), nor a kill landing between two renames more than by chance.
func TestFaultInterruptedCertificateWrite(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("strace is needed to widen the write window: apt-get install strace")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	finals := map[int]int{}
	var withTemps, recovered, complete int
	var refused []string
	t.Run("no partial file is read as valid", func(t *testing.T) {
		figures.Case(t, "fault")
		for i := 0; i < interruptTries; i++ {
			h := suite.NewDinv(t)
			delay := time.Duration(rng.Intn(500)) * time.Millisecond
			killDuringGeneration(t, h, delay)
			present, temps := listCertDir(t, h.Certs)
			finals[len(present)]++
			if temps > 0 {
				withTemps++
			}
			if len(present) == 6 && temps == 0 {
				complete++
			}
			for _, f := range present {
				if err := parsesWhole(filepath.Join(h.Certs, f)); err != nil {
					t.Errorf("try %d (kill at %s): %s is partial: %v", i, delay, f, err)
				}
			}
			r := h.Run(t, 30*time.Second, "-config", certsOnly(t, h), "-tlsverify")
			if r.Code != 0 {
				lines := errorLines(r.Output)
				refused = append(refused, fmt.Sprintf("kill at %s left %v: exit %d: %s", delay, present, r.Code, strings.Join(lines, " ")))
				continue
			}
			recovered++
			if _, left := listCertDir(t, h.Certs); left > 0 {
				t.Errorf("try %d (kill at %s): the next start left %d temp files behind", i, delay, left)
			}
			if err := consistentSet(h.Certs); err != nil {
				t.Errorf("try %d (kill at %s, left %v): the next start accepted an inconsistent set: %v", i, delay, present, err)
			}
		}
	})
	keys := make([]int, 0, len(finals))
	for k := range finals {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var dist []string
	for _, k := range keys {
		dist = append(dist, fmt.Sprintf("%d files: %d", k, finals[k]))
	}
	figures.Note("interrupted generation: %d kills (%s; %d left temp files; %d complete); next start recovered %d, refused %d",
		interruptTries, strings.Join(dist, ", "), withTemps, complete, recovered, len(refused))
	t.Logf("final files left by the kills: %s; with temp files: %d", strings.Join(dist, ", "), withTemps)
	t.Run("the next start recovers", func(t *testing.T) {
		figures.Case(t, "fault")
		for _, r := range refused {
			t.Error(r)
		}
	})
}

// certsOnly writes a stage list that makes the certificates and starts no
// engine (-dry-run writes nothing), and returns its path.
func certsOnly(t *testing.T, h *harness.HostDinv) string {
	t.Helper()
	path := filepath.Join(h.Dir, "certs-only.yaml")
	if err := os.WriteFile(path, []byte("stages: [network, pki]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// killDuringGeneration runs a cold -tlsverify generation of dinv under strace
// (fsync and rename delayed) and kills its process group after delay.
func killDuringGeneration(t *testing.T, h *harness.HostDinv, delay time.Duration) {
	t.Helper()
	args := append([]string{"-f", "-qq", "-o", "/dev/null",
		"-e", "trace=fsync,rename,renameat,renameat2",
		"-e", "inject=fsync,rename,renameat,renameat2:delay_enter=25000",
		suite.Dinv}, h.Flags()...)
	args = append(args, "-config", certsOnly(t, h), "-tlsverify")
	cmd := exec.Command("strace", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(delay):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// listCertDir returns the final certificate files in dir and the number of
// dinv's temp files.
func listCertDir(t *testing.T, dir string) (present []string, temps int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasPrefix(n, ".dinv-tmp-"):
			temps++
		case n == "ca.crt" || n == "ca-key.pem" || n == "docker.crt" || n == "docker.key" ||
			n == "docker-client.crt" || n == "docker-client.key":
			present = append(present, n)
		}
	}
	return present, temps
}

// parsesWhole reports whether a certificate or key file parses completely.
func parsesWhole(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, rest := pem.Decode(b)
	if block == nil {
		return fmt.Errorf("no whole PEM block (%d bytes)", len(b))
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return fmt.Errorf("%d bytes after the PEM block", len(rest))
	}
	if strings.HasSuffix(block.Type, "PRIVATE KEY") {
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			return nil
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return nil
		}
		_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		return err
	}
	_, err = x509.ParseCertificate(block.Bytes)
	return err
}

// consistentSet checks a full -tlsverify set: each key matches its
// certificate, the CA key matches ca.crt, server and client chain to it.
func consistentSet(dir string) error {
	read := func(n string) []byte { b, _ := os.ReadFile(filepath.Join(dir, n)); return b }
	if ca, err := tls.X509KeyPair(read("ca.crt"), read("ca-key.pem")); err != nil {
		return fmt.Errorf("CA: %v", err)
	} else if c, err := x509.ParseCertificate(ca.Certificate[0]); err != nil || !c.IsCA {
		return fmt.Errorf("CA: ca.crt is not a CA certificate (%v)", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(read("ca.crt"))
	for _, p := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{
		{"docker.crt", "docker.key", x509.ExtKeyUsageServerAuth},
		{"docker-client.crt", "docker-client.key", x509.ExtKeyUsageClientAuth},
	} {
		pair, err := tls.X509KeyPair(read(p.cert), read(p.key))
		if err != nil {
			return fmt.Errorf("%s/%s: %v", p.cert, p.key, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return err
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{p.usage}}); err != nil {
			return fmt.Errorf("%s does not chain to ca.crt: %v", p.cert, err)
		}
	}
	return nil
}

// containerKillTries is how many DinV containers fault 7 kills during start-up.
const containerKillTries = 8

// Fault 7 through real containers: a DinV container generating a cold
// -tlsverify set with RSA 3072 keys (about a second of key generation) is
// killed with docker kill at a random moment of its first two seconds; a new
// DinV container on the same /certs volume either serves a consistent set or
// refuses the directory with a clear error. Most kills land in key generation
// (nothing written yet) or after it: the write window itself is milliseconds,
// which the host variant above widens with strace.
func TestFaultContainerKilledDuringGeneration(t *testing.T) {
	figures.Case(t, "fault")
	img := image(t)
	network := harness.Network(t, "gen-kill")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	outcomes := map[string]int{}
	for i := 0; i < containerKillTries; i++ {
		vol := harness.Volume(t, "certs")
		run := []string{"-v", vol + ":/certs"}
		d := startDinV(t, img, network, run, "-tlsverify", "-key-type", "rsa3072")
		delay := time.Duration(rng.Intn(2000)) * time.Millisecond
		time.Sleep(delay)
		harness.Client{}.Try(t, "kill", d.Name)
		dir := copyCerts(t, d)
		present, temps := listCertDir(t, dir)
		outcomes[fmt.Sprintf("%d files", len(present))]++
		if temps > 0 {
			outcomes["temp files"]++
		}
		for _, f := range present {
			if err := parsesWhole(filepath.Join(dir, f)); err != nil {
				t.Errorf("try %d (kill at %s): %s is partial: %v", i, delay, f, err)
			}
		}
		d.Remove(t)
		d2 := startDinV(t, img, network, run, "-tlsverify", "-key-type", "rsa3072")
		if !startsOrRefuses(t, d2, network) {
			outcomes["refused"]++
			t.Errorf("try %d (kill at %s left %v): the next start refused the directory:\n%s", i, delay, present, tail(d2.Logs(t), 3))
			continue
		}
		if err := consistentSet(copyCerts(t, d2)); err != nil {
			t.Errorf("try %d (kill at %s left %v): the next start serves an inconsistent set: %v", i, delay, present, err)
		}
		d2.Remove(t)
	}
	figures.Note("DinV containers killed during RSA 3072 generation: %d tries, %v", containerKillTries, outcomes)
}

// startsOrRefuses waits until d serves -tlsverify with its generated client
// certificate (true) or stops (false).
func startsOrRefuses(t *testing.T, d *harness.DinV, network string) bool {
	t.Helper()
	deadline := time.Now().Add(harness.ReadyTimeout)
	for {
		if s := d.Inspect(t, "{{.State.Status}}"); s != "running" {
			return false
		}
		dir := t.TempDir()
		if d.TryClientCerts(t, dir) {
			d.WaitReady(t, addr(t, d, network, "2376"), harness.ClientTLSDir(t, dir))
			return true
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s neither served nor stopped within %s", d.Name, harness.ReadyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

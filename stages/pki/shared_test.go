package pki

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// hostsOf is what the server certificate of the DinV host with address
// 172.27.0.<i> must cover.
func hostsOf(i int) []string {
	return serverHosts([]net.IP{net.ParseIP(fmt.Sprintf("172.27.0.%d", i))}, fmt.Sprintf("dinv-%d", i), nil)
}

// TestSharedVolumeReissue: DinV hosts sharing one certificate directory,
// each with its own addresses, end with one docker.crt that covers them all,
// re-issued with the same docker.key; then restarts rewrite nothing.
func TestSharedVolumeReissue(t *testing.T) {
	dir := t.TempDir()
	mustEnsure(t, dir, true, hostsOf(1), t0)
	first := snapshot(t, dir)
	for i := 2; i <= 4; i++ {
		res := mustEnsure(t, dir, true, hostsOf(i), t0)
		if res.Reissued != "addresses" || !sameStrings(res.Generated, []string{serverCertFile}) {
			t.Errorf("host %d: re-issued %q, generated %v; want docker.crt alone for its addresses", i, res.Reissued, res.Generated)
		}
		srv := readCert(t, filepath.Join(dir, serverCertFile))
		for j := 1; j <= i; j++ {
			if u := uncovered(srv, hostsOf(j)); len(u) != 0 {
				t.Errorf("after host %d: docker.crt no longer covers host %d's %v", i, j, u)
			}
		}
	}
	settled := snapshot(t, dir)
	for _, f := range []string{caCertFile, caKeyFile, serverKeyFile, clientCertFile, clientKeyFile} {
		if settled[f] != first[f] {
			t.Errorf("%s changed: only docker.crt may", f)
		}
	}
	if _, _, err := loadPair(dir, serverCertFile, serverKeyFile); err != nil {
		t.Error(err)
	}
	if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
		t.Error(err)
	}
	for round := 0; round < 5; round++ {
		for i := 1; i <= 4; i++ {
			_, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: hostsOf(i),
				Now: clock(t0.Add(time.Duration(round) * time.Hour)), store: failStore{t}})
			if err != nil {
				t.Fatalf("restart of host %d: %v", i, err)
			}
		}
	}
	after := snapshot(t, dir)
	for n, st := range settled {
		if after[n] != st {
			t.Errorf("%s changed on a restart with covered addresses", n)
		}
	}
}

// TestReissueKeepsKeyAndCoverage: near expiry docker.crt is re-issued for
// what it covered and the current hosts, with the same key; a key of another
// type than -key-type asks for is replaced.
func TestReissueKeepsKeyAndCoverage(t *testing.T) {
	dir := t.TempDir()
	mustEnsure(t, dir, true, hostsOf(1), t0)
	mustEnsure(t, dir, true, hostsOf(2), t0)
	before := snapshot(t, dir)
	now := readCert(t, filepath.Join(dir, serverCertFile)).NotAfter.Add(-24 * time.Hour)
	res := mustEnsure(t, dir, true, hostsOf(3), now)
	srv := readCert(t, filepath.Join(dir, serverCertFile))
	if res.Reissued != "expiry" || srv.NotAfter.Sub(now) < renewBefore {
		t.Errorf("re-issued %q, valid until %v", res.Reissued, srv.NotAfter)
	}
	for i := 1; i <= 3; i++ {
		if u := uncovered(srv, hostsOf(i)); len(u) != 0 {
			t.Errorf("re-issued docker.crt does not cover host %d's %v", i, u)
		}
	}
	if after := snapshot(t, dir); after[serverKeyFile] != before[serverKeyFile] {
		t.Error("docker.key changed on re-issue")
	}

	rsa := keySpec{RSA: true, Bits: 2048}
	res, err := ensure(context.Background(), request{Dir: dir, Verify: true, Key: rsa, Hosts: hostsOf(4), Now: clock(now)})
	if err != nil {
		t.Fatal(err)
	}
	if !sameStrings(res.Generated, []string{serverKeyFile, serverCertFile}) {
		t.Errorf("generated %v, want a new RSA pair", res.Generated)
	}
	p, _, err := loadPair(dir, serverCertFile, serverKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !(issuer{spec: rsa}).fits(p.key) {
		t.Errorf("docker.key is not %v", rsa)
	}
	for i := 1; i <= 4; i++ {
		if u := uncovered(p.cert, hostsOf(i)); len(u) != 0 {
			t.Errorf("docker.crt does not cover host %d's %v", i, u)
		}
	}
}

// TestConcurrentHostsShareOneCertificate: four hosts with their own
// addresses start at once on one empty directory; whichever wins, the
// docker.crt left covers all four, and every host's result names a pair
// that matches.
func TestConcurrentHostsShareOneCertificate(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, errs[i] = ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: hostsOf(i + 1),
				store: slowStore(10 * time.Millisecond)})
		}(i)
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("host %d: %v", i+1, err)
		}
	}
	srv := readCert(t, filepath.Join(dir, serverCertFile))
	for i := 1; i <= 4; i++ {
		if u := uncovered(srv, hostsOf(i)); len(u) != 0 {
			t.Errorf("docker.crt does not cover host %d's %v", i, u)
		}
	}
	if _, _, err := loadPair(dir, serverCertFile, serverKeyFile); err != nil {
		t.Error(err)
	}
}

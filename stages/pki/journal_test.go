package pki

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crashAt is a store that dies (panics) before rename number n of its
// commit, its journal in place; n == the number of files is after the last.
func crashAt(n int) osStore {
	return osStore{atRename: func(done int) {
		if done == n {
			panic("killed")
		}
	}}
}

// crashed runs Ensure with st and reports whether it died in a hook.
func crashed(t *testing.T, req request) (died bool) {
	t.Helper()
	defer func() { died = recover() != nil }()
	if _, err := ensure(context.Background(), req); err != nil {
		t.Fatalf("Ensure before the crash: %v", err)
	}
	return false
}

// checkSet checks that dir holds a consistent -tlsverify set: each key
// matches its certificate, the CA key ca.crt, the leaves chain to ca.crt and
// the server covers hosts; and no temp file or journal is left.
func checkSet(t *testing.T, dir string, hosts []string) {
	t.Helper()
	if _, _, err := loadPair(dir, caCertFile, caKeyFile); err != nil {
		t.Error(err)
	}
	for _, p := range [][2]string{{serverCertFile, serverKeyFile}, {clientCertFile, clientKeyFile}} {
		if _, _, err := loadPair(dir, p[0], p[1]); err != nil {
			t.Error(err)
		}
	}
	if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
		t.Error(err)
	}
	if err := verifyChain(t, dir, clientCertFile, x509.ExtKeyUsageClientAuth, t0); err != nil {
		t.Error(err)
	}
	if u := uncovered(readCert(t, filepath.Join(dir, serverCertFile)), hosts); len(u) != 0 {
		t.Errorf("docker.crt does not cover %v", u)
	}
	for n := range snapshot(t, dir) {
		if strings.HasPrefix(n, tempPrefix) || n == journalFile {
			t.Errorf("%s left", n)
		}
	}
}

// TestCrashBetweenRenames kills a commit before each of its renames and
// after the last one: the next start finishes that commit (rolls its journal
// forward) and serves a complete, consistent set with the CA of the killed
// run, without an error, without minting anything, and without touching a
// file it did not write.
func TestCrashBetweenRenames(t *testing.T) {
	set := fullSet(t)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	cases := []struct {
		name    string
		files   map[string][]byte // in the directory before the killed run
		user    []string          // of those, the files the user brought
		key     keySpec           // the killed run's -key-type
		hosts   []string          // the killed run's and the next one's
		renames int
	}{
		{"a first start generating all six", nil, nil, keySpec{}, testHosts, 6},
		{"a start issuing the leaves from a CA the user brought", subset(set, caPair...), caPair, keySpec{}, testHosts, 4},
		{"a start issuing the client pair", subset(set, cat(caPair, serverPair)...), nil, keySpec{}, testHosts, 2},
		{"a start re-issuing docker.crt for a new address", subset(set, allFiles...), nil, keySpec{}, moved, 1},
		{"a start re-issuing docker.crt and docker.key for another key type", subset(set, allFiles...), nil,
			keySpec{RSA: true, Bits: 2048}, moved, 2},
	}
	for _, c := range cases {
		for n := 0; n <= c.renames; n++ {
			at := fmt.Sprintf("killed before rename %d of %d", n+1, c.renames)
			if n == c.renames {
				at = "killed after the last rename"
			}
			t.Run(c.name+", "+at, func(t *testing.T) {
				dir := t.TempDir()
				writeFiles(t, dir, c.files)
				before := snapshot(t, dir)
				req := request{Dir: dir, Verify: true, Key: c.key, Hosts: c.hosts, Now: clock(t0), store: crashAt(n)}
				if !crashed(t, req) {
					t.Fatalf("not %s: the commit has fewer renames", at)
				}
				if _, err := os.Stat(filepath.Join(dir, journalFile)); err != nil {
					t.Fatalf("no journal in a run %s: %v", at, err)
				}
				req.store = nil
				res, err := ensure(context.Background(), req)
				if err != nil {
					t.Fatalf("the start after a run %s: %v", at, err)
				}
				if len(res.Generated) != 0 || res.Reissued != "" {
					t.Errorf("the start after the crash generated %v (re-issued %q), want the killed run's files",
						res.Generated, res.Reissued)
				}
				checkSet(t, dir, c.hosts)
				after := snapshot(t, dir)
				for _, f := range c.user {
					if after[f] != before[f] {
						t.Errorf("the user's %s was touched", f)
					}
				}
				if c.files != nil && after[caCertFile] != before[caCertFile] {
					t.Errorf("ca.crt changed: not the same CA")
				}
			})
		}
	}
}

// TestJournalSendsStartsToTheLock: a journal beside a set that looks
// complete still sends the start onto the locked path, which rolls it
// forward; a journal dinv did not write is an error and nothing is touched.
func TestJournalSendsStartsToTheLock(t *testing.T) {
	set := fullSet(t)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	dir := t.TempDir()
	writeFiles(t, dir, subset(set, allFiles...))
	if !crashed(t, request{Dir: dir, Verify: true, Hosts: moved, Now: clock(t0), store: crashAt(0)}) {
		t.Fatal("no crash")
	}
	// The old set is complete and valid for testHosts: only the journal
	// says that docker.crt is being replaced.
	res := mustEnsure(t, dir, true, testHosts, t0)
	if len(res.Generated) != 0 {
		t.Errorf("generated %v", res.Generated)
	}
	checkSet(t, dir, moved)

	bad := t.TempDir()
	writeFiles(t, bad, subset(set, allFiles...))
	writeFiles(t, bad, map[string][]byte{
		tempPrefix + "x": []byte("not a certificate"),
		journalFile:      []byte(journalHead + "\n" + tempPrefix + "x ../docker.crt\n" + journalTail + "\n"),
	})
	before := snapshot(t, bad)
	if _, err := ensureAt(t, bad, true, testHosts, t0); err == nil || !strings.Contains(err.Error(), "commit journal") {
		t.Errorf("error = %v, want one naming the commit journal", err)
	}
	after := snapshot(t, bad)
	for n, st := range before {
		if after[n] != st {
			t.Errorf("%s touched", n)
		}
	}
}

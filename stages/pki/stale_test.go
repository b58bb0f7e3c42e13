package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// readSet reads names back from dir, by name.
func readSet(t *testing.T, dir string, names ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		out[n] = readBytes(t, dir, n)
	}
	return out
}

// chains fails the test unless dir's dind set lets its clients and the
// engine accept each other: server/cert.pem chains to client/ca.pem for
// every host, client/cert.pem to server/ca.pem.
func chains(t *testing.T, dir string) {
	t.Helper()
	if err := verifyWith(t, dir, dindClientCAFile, dindServerCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
		t.Errorf("clients refuse server/cert.pem: %v", err)
	}
	if err := verifyWith(t, dir, dindServerCAFile, dindClientCertFile, x509.ExtKeyUsageClientAuth, t0); err != nil {
		t.Errorf("the engine refuses client/cert.pem: %v", err)
	}
	if u := uncovered(readCert(t, filepath.Join(dir, dindServerCertFile)), testHosts); len(u) != 0 {
		t.Errorf("server/cert.pem does not cover %v", u)
	}
}

// restartWritesNothing runs Ensure again on dir, as a restart of the same
// service does: nothing is written, every file keeps its bytes.
func restartWritesNothing(t *testing.T, dir string) {
	t.Helper()
	before := snapshotTree(t, dir)
	res, err := ensureDind(t, dir, true, testHosts, t0)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if len(res.Generated) != 0 || len(res.Replaced) != 0 {
		t.Errorf("restart generated %v, replaced %v; want nothing", res.Generated, res.Replaced)
	}
	unchangedTree(t, dir, before)
}

// TestDindKeptClientVolume is GitLab's runner with volumes =
// ["/certs/client", "/cache"]: each job's service starts with a new /certs
// holding only the previous job's client/. Each start makes a new CA and
// issues every file, replacing the client files (reported with the reason),
// and the set it leaves lets client and engine accept each other; a
// restart of the same service then writes nothing.
func TestDindKeptClientVolume(t *testing.T) {
	var kept map[string][]byte // the runner's /certs/client volume
	for job := 1; job <= 3; job++ {
		dir := t.TempDir() // the job's service container's /certs
		writeTree(t, dir, kept)
		res, err := ensureDind(t, dir, true, testHosts, t0)
		if err != nil {
			t.Fatalf("job %d: %v", job, err)
		}
		if !sameStrings(res.Generated, dindAll) {
			t.Errorf("job %d: generated %v, want all eight", job, res.Generated)
		}
		wantReplaced := []string(nil)
		if job > 1 {
			wantReplaced = dindClient
			if !strings.Contains(res.ReplaceReason, "ca/ is absent: client/ is left from another CA") {
				t.Errorf("job %d: reason %q", job, res.ReplaceReason)
			}
			if bytes.Equal(readBytes(t, dir, dindClientCertFile), kept[dindClientCertFile]) {
				t.Errorf("job %d: client/cert.pem is the previous job's", job)
			}
		}
		if !sameStrings(res.Replaced, wantReplaced) {
			t.Errorf("job %d: replaced %v, want %v", job, res.Replaced, wantReplaced)
		}
		chains(t, dir)
		restartWritesNothing(t, dir)
		kept = readSet(t, dir, dindClient...)
	}
}

// TestDindLeftoverClientFiles: whatever client/ holds beside no ca/ and no
// server/ (a part of a bundle, files that do not parse) is never a refusal:
// every file is issued, those there replaced. Under -dry-run that is said
// and nothing written. With -tls (no client bundle) client/ is left alone.
func TestDindLeftoverClientFiles(t *testing.T) {
	set := dindSet(t)
	cases := []struct {
		name  string
		files map[string][]byte
	}{
		{"client/cert.pem alone", subset(set, dindClientCertFile)},
		{"client/ca.pem alone", subset(set, dindClientCAFile)},
		{"the client pair without client/ca.pem", subset(set, dindClientPair...)},
		{"client files that are not PEM", map[string][]byte{dindClientCAFile: []byte("junk"), dindClientCertFile: []byte("junk"),
			dindClientKeyFile: []byte("junk")}},
	}
	for _, c := range cases {
		var names []string
		for _, f := range dindLayout.files {
			if _, ok := c.files[f]; ok {
				names = append(names, f)
			}
		}
		t.Run(c.name+" is replaced", func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			res, err := ensureDind(t, dir, true, testHosts, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameStrings(res.Generated, dindAll) || !sameStrings(res.Replaced, names) {
				t.Errorf("generated %v, replaced %v; want all eight, replacing %v", res.Generated, res.Replaced, names)
			}
			chains(t, dir)
			restartWritesNothing(t, dir)
		})
		t.Run(c.name+" under -dry-run: said, nothing written", func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			before := snapshotTree(t, dir)
			res, err := ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: testHosts, Now: clock(t0), DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if !sameStrings(res.WouldGenerate, dindAll) || !sameStrings(res.Replaced, names) {
				t.Errorf("would generate %v, replace %v", res.WouldGenerate, res.Replaced)
			}
			unchangedTree(t, dir, before)
		})
	}
	t.Run("-tls leaves client/ alone", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, subset(set, dindClient...))
		res, err := ensureDind(t, dir, false, testHosts, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Replaced) != 0 || !sameStrings(res.Generated, []string{dindServerKeyFile, dindServerCertFile}) {
			t.Errorf("generated %v, replaced %v", res.Generated, res.Replaced)
		}
		for n, data := range subset(set, dindClient...) {
			if !bytes.Equal(readBytes(t, dir, n), data) {
				t.Errorf("%s changed", n)
			}
		}
	})
}

// TestDindReplacesWhatAnotherCAIssued: with dinv's CA (ca/cert.pem and
// ca/key.pem), what in server/ and client/ does not chain to it (files of
// another CA, a copy of another CA, an expired or unreadable client pair) is
// issued anew from it, in one commit, and reported; every other file keeps
// its bytes, and a restart writes nothing.
func TestDindReplacesWhatAnotherCAIssued(t *testing.T) {
	set, old := dindSet(t), dindSet(t) // two DinV sets: two CAs
	mine, err := loadTestCA(set[dindCACertFile], set[dindCAKeyFile])
	if err != nil {
		t.Fatal(err)
	}
	expired, expiredKey, err := mine.issueClient(mintOptions{NotBefore: t0.AddDate(-2, 0, 0), NotAfter: t0.AddDate(-1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	mix := func(ours []string, theirs map[string][]byte) map[string][]byte {
		out := subset(set, ours...)
		for n, b := range theirs {
			out[n] = b
		}
		return out
	}
	cases := []struct {
		name     string
		files    map[string][]byte
		generate []string // in write order
		reissued string   // Result.Reissued
	}{
		{"client/ of another CA beside ca/ and server/: client/ is issued anew", mix(cat(dindCA, dindServer), subset(old, dindClient...)),
			[]string{dindClientCAFile, dindClientKeyFile, dindClientCertFile}, ""},
		{"ca/ and client/ of another CA: server/ is issued and client/ anew", mix(dindCA, subset(old, dindClient...)),
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile, dindClientCAFile, dindClientKeyFile, dindClientCertFile}, ""},
		{"a client pair of another CA beside the CA's client/ca.pem: the pair is issued anew", mix(cat(dindCA, dindServer, []string{dindClientCAFile}),
			subset(old, dindClientPair...)), []string{dindClientKeyFile, dindClientCertFile}, ""},
		{"a client/ca.pem of another CA beside the CA's pair: the copy alone is made anew", mix(cat(dindCA, dindServer, dindClientPair),
			subset(old, dindClientCAFile)), []string{dindClientCAFile}, ""},
		{"an expired client certificate of the CA is issued anew", mix(cat(dindCA, dindServer, []string{dindClientCAFile}),
			map[string][]byte{dindClientCertFile: expired, dindClientKeyFile: expiredKey}), []string{dindClientKeyFile, dindClientCertFile}, ""},
		{"a client/cert.pem that is not PEM is issued anew", mix(cat(dindCA, dindServer, dindClient),
			map[string][]byte{dindClientCertFile: []byte("junk")}), []string{dindClientKeyFile, dindClientCertFile}, ""},
		{"a server/ca.pem of another CA is made anew", mix(cat(dindCA, dindServerPair, dindClient), subset(old, dindServerCAFile)),
			[]string{dindServerCAFile}, ""},
		{"server/ of another CA beside ca/: server/ is issued anew", mix(cat(dindCA, dindClient), subset(old, dindServer...)),
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile}, "issuer"},
		{"server/ and client/ of another CA beside ca/: both are issued anew", mix(dindCA, subset(old, cat(dindServer, dindClient)...)),
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile, dindClientCAFile, dindClientKeyFile, dindClientCertFile}, "issuer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			var replaced []string
			for _, f := range dindLayout.files {
				if _, ok := c.files[f]; ok && contains(c.generate, f) {
					replaced = append(replaced, f)
				}
			}
			res, err := ensureDind(t, dir, true, testHosts, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameStrings(res.Generated, c.generate) || !sameStrings(res.Replaced, replaced) || res.Reissued != c.reissued {
				t.Errorf("generated %v, replaced %v, reissued %q; want %v, %v, %q",
					res.Generated, res.Replaced, res.Reissued, c.generate, replaced, c.reissued)
			}
			if res.ReplaceReason == "" || res.ClientRefused != "" {
				t.Errorf("reason %q, client refused %q", res.ReplaceReason, res.ClientRefused)
			}
			for n, data := range c.files {
				if !contains(c.generate, n) && !bytes.Equal(readBytes(t, dir, n), data) {
					t.Errorf("%s changed", n)
				}
			}
			chains(t, dir)
			restartWritesNothing(t, dir)
		})
	}
}

// TestDindUsersSetIsNeverTouched: a set without ca/key.pem is the user's
// (their CA): nothing in it is written, even a client pair the engine
// refuses (only warned about), byte for byte.
func TestDindUsersSetIsNeverTouched(t *testing.T) {
	set, old := dindSet(t), dindSet(t)
	users := subset(set, cat([]string{dindCACertFile}, dindServer, dindClient)...)
	stale := subset(set, cat([]string{dindCACertFile}, dindServer, []string{dindClientCAFile})...)
	for n, b := range subset(old, dindClientPair...) {
		stale[n] = b
	}
	for _, c := range []struct {
		name    string
		files   map[string][]byte
		refused bool
	}{
		{"the user's complete set", users, false},
		{"the user's set with a client pair of another CA", stale, true},
		{"the user's server/ alone", subset(set, dindServer...), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			before := snapshotTree(t, dir)
			res, err := ensureDind(t, dir, true, testHosts, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Generated) != 0 || len(res.Replaced) != 0 || (res.ClientRefused != "") != c.refused {
				t.Errorf("generated %v, replaced %v, client refused %q", res.Generated, res.Replaced, res.ClientRefused)
			}
			unchangedTree(t, dir, before)
		})
	}
}

// TestRunLogsReplacedFiles: the stage says in one line which files it
// replaces and why.
func TestRunLogsReplacedFiles(t *testing.T) {
	set := dindSet(t)
	dir := t.TempDir()
	writeTree(t, dir, subset(set, dindClient...))
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &logs}).Named("pki")
	s := &core.State{Config: core.Config{Certs: core.TLSVerify, CertDir: dir, CertLayout: layoutDind}, Hostname: "dinvhost"}
	if err := New().Run(core.WithLog(context.Background(), log), s); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, "replaced") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "[INFO]  dinv.pki: certificate files replaced: dir="+dir) ||
		!strings.Contains(lines[0], `files=["client/ca.pem", "client/cert.pem", "client/key.pem"]`) ||
		!strings.Contains(lines[0], `reason="ca/ is absent: client/ is left from another CA`) {
		t.Errorf("log:\n%s\nwant one line naming the replaced files and why", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, dindCAKeyFile)); err != nil {
		t.Error(err)
	}
}

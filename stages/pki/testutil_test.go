package pki

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

var testHosts = serverHosts(nil, "dinvhost", nil)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// ensureAt runs ensure on dir at time now for hosts.
func ensureAt(t *testing.T, dir string, verify bool, hosts []string, now time.Time) (*result, error) {
	t.Helper()
	return ensure(context.Background(), request{Dir: dir, Verify: verify, Hosts: hosts, Now: clock(now)})
}

func mustEnsure(t *testing.T, dir string, verify bool, hosts []string, now time.Time) *result {
	t.Helper()
	res, err := ensureAt(t, dir, verify, hosts, now)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return res
}

// fileState is one directory entry as a test compares it: its bytes, mode,
// inode (a rename gives a new inode even with the same bytes) and mtime.
type fileState struct {
	data  string
	mode  os.FileMode
	inode uint64
	mtime time.Time
}

// snapshot records every entry of dir; a link as its target.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		switch {
		case fi.Mode().IsRegular():
			data, err = os.ReadFile(p)
		case fi.Mode()&os.ModeSymlink != 0:
			var target string
			target, err = os.Readlink(p)
			data = []byte(target)
		}
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fileState{string(data), fi.Mode(), fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()}
	}
	return out
}

// unchanged fails the test when dir's entries differ from before.
func unchanged(t *testing.T, dir string, before map[string]fileState) {
	t.Helper()
	after := snapshot(t, dir)
	if !sameStrings(names(before), names(after)) {
		t.Errorf("entries changed: %v -> %v", names(before), names(after))
	}
	for n, st := range before {
		if after[n] != st {
			t.Errorf("%s changed", n)
		}
	}
}

func names(m map[string]fileState) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if data == nil { // a directory in the file's place
			if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyChain checks that the certificate at path chains to dir's ca.crt
// for usage u at now.
func verifyChain(t *testing.T, dir, name string, u x509.ExtKeyUsage, now time.Time) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, filepath.Join(dir, caCertFile)))
	_, err := readCert(t, filepath.Join(dir, name)).Verify(x509.VerifyOptions{
		Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{u},
	})
	return err
}

func sameStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// snapshotTree is snapshot for dir and its subdirectories, each entry by
// its path relative to dir ("server/cert.pem"); a directory is recorded too
// (its mode, inode and mtime: an entry added or removed changes it).
func snapshotTree(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	var walk func(rel string)
	walk = func(rel string) {
		for name, st := range snapshot(t, filepath.Join(dir, rel)) {
			p := filepath.Join(rel, name)
			out[p] = st
			if st.mode.IsDir() {
				walk(p)
			}
		}
	}
	if fi, err := os.Lstat(dir); err == nil {
		out["."] = fileState{"", fi.Mode(), fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()}
		walk(".")
	}
	return out
}

// unchangedTree fails the test when dir's tree differs from before.
func unchangedTree(t *testing.T, dir string, before map[string]fileState) {
	t.Helper()
	after := snapshotTree(t, dir)
	if !sameStrings(names(before), names(after)) {
		t.Errorf("entries changed: %v -> %v", names(before), names(after))
	}
	for n, st := range before {
		if after[n] != st {
			t.Errorf("%s changed", n)
		}
	}
}

// writeTree is writeFiles for names in subdirectories ("server/cert.pem"),
// made as needed.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string][]byte{name: data})
	}
}

// verifyWith checks that the certificate in dir's file name chains to the
// certificates in dir's file roots for usage u at now.
func verifyWith(t *testing.T, dir, roots, name string, u x509.ExtKeyUsage, now time.Time) error {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, roots))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("%s: no certificate", roots)
	}
	_, err = readCert(t, filepath.Join(dir, name)).Verify(x509.VerifyOptions{
		Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{u},
	})
	return err
}

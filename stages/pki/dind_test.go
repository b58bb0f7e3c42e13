package pki

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

var (
	dindCA         = []string{dindCACertFile, dindCAKeyFile}
	dindServer     = []string{dindServerCAFile, dindServerCertFile, dindServerKeyFile}
	dindServerPair = []string{dindServerCertFile, dindServerKeyFile}
	dindClient     = []string{dindClientCAFile, dindClientCertFile, dindClientKeyFile}
	dindClientPair = []string{dindClientCertFile, dindClientKeyFile}
	// dindAll is every file of the layout, in the order dinv writes them.
	dindAll = []string{dindCAKeyFile, dindCACertFile, dindServerCAFile, dindServerKeyFile, dindServerCertFile,
		dindClientCAFile, dindClientKeyFile, dindClientCertFile}
)

// dindSet is a complete dind set as dinv generates it with -tlsverify for
// testHosts at t0, read back as bytes per file name.
func dindSet(t *testing.T) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, err := ensureDind(t, dir, true, testHosts, t0); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range dindLayout.files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// ensureDind runs Ensure on dir in the dind layout at time now for hosts.
func ensureDind(t *testing.T, dir string, verify bool, hosts []string, now time.Time) (*result, error) {
	t.Helper()
	return ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: verify, Hosts: hosts, Now: clock(now)})
}

// dindFiles is what Ensure reports for a dind directory: the engine's
// files, and the client bundle when there is one.
func dindFiles(dir string, verify, client bool) core.TLSFiles {
	p := func(n string) string { return filepath.Join(dir, n) }
	f := core.TLSFiles{ServerCert: p(dindServerCertFile), ServerKey: p(dindServerKeyFile)}
	if verify {
		f.CACert = p(dindServerCAFile)
	}
	if client {
		f.ClientCA, f.ClientCert, f.ClientKey = p(dindClientCAFile), p(dindClientCertFile), p(dindClientKeyFile)
	}
	return f
}

// TestDindPresenceRules runs the dind layout's presence combinations
// through Ensure: what it generates, that files already there keep their
// bytes, which combinations are errors naming what is present and missing,
// and which files the engine and its clients get.
func TestDindPresenceRules(t *testing.T) {
	set := dindSet(t)
	cases := []struct {
		name     string
		verify   bool
		present  []string
		generate []string // in write order
		client   bool     // a client bundle is reported
		wantErr  string
	}{
		{"an empty directory gets all eight files", true, nil, dindAll, true, ""},
		{"ca/ alone: the server and client files are issued from it, with the copies of the CA", true, dindCA,
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile, dindClientCAFile, dindClientKeyFile, dindClientCertFile}, true, ""},
		{"ca/ and client/ (docker:dind's documented volumes): server/ is issued from the same CA", true, cat(dindCA, dindClient),
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile}, true, ""},
		{"ca/ and server/: client/ is issued", true, cat(dindCA, dindServer),
			[]string{dindClientCAFile, dindClientKeyFile, dindClientCertFile}, true, ""},
		{"all eight: nothing is written", true, dindLayout.files, nil, true, ""},
		{"ca/ and the server pair without server/ca.pem: the copy alone is written", true, cat(dindCA, dindServerPair, dindClient),
			[]string{dindServerCAFile}, true, ""},
		{"ca/ and the client pair without client/ca.pem: the copy is written", true, cat(dindCA, dindServer, dindClientPair),
			[]string{dindClientCAFile}, true, ""},
		{"a lone client/ca.pem beside ca/ is kept and the client pair issued", true, cat(dindCA, dindServer, []string{dindClientCAFile}),
			[]string{dindClientKeyFile, dindClientCertFile}, true, ""},
		{"server/ without ca/key.pem is the user's: used, nothing written, no client bundle", true, dindServer, nil, false, ""},
		{"server/ and ca/cert.pem without ca/key.pem: the user's, ca/cert.pem left alone", true,
			cat(dindServer, []string{dindCACertFile}), nil, false, ""},
		{"server/ and client/ without ca/key.pem: the user's, with their client bundle", true, cat(dindServer, dindClient), nil, true, ""},
		{"the user's server/ and a client pair without client/ca.pem is an error", true, cat(dindServer, dindClientPair), nil, false,
			"present server/ca.pem, server/cert.pem, server/key.pem, client/cert.pem, client/key.pem; missing ca/cert.pem, ca/key.pem, client/ca.pem " +
				"(client/ca.pem, client/cert.pem and client/key.pem go together"},
		{"the user's server/ and a lone client/ca.pem is an error", true, cat(dindServer, []string{dindClientCAFile}), nil, false,
			"client/ca.pem, client/cert.pem and client/key.pem go together"},
		{"server/cert.pem without its key is an error", true, []string{dindServerCAFile, dindServerCertFile}, nil, false,
			"(server/cert.pem and server/key.pem go together)"},
		{"client/key.pem without its certificate is an error", true, cat(dindCA, []string{dindClientKeyFile}), nil, false,
			"(client/cert.pem and client/key.pem go together)"},
		{"ca/key.pem alone is an error", true, []string{dindCAKeyFile}, nil, false,
			"present ca/key.pem; missing ca/cert.pem, server/ca.pem"},
		{"ca/cert.pem alone is an error", true, []string{dindCACertFile}, nil, false,
			"present ca/cert.pem; missing ca/key.pem"},
		{"ca/key.pem and server/ without ca/cert.pem is an error", true, cat([]string{dindCAKeyFile}, dindServer), nil, false,
			"missing ca/cert.pem"},
		{"the server pair without server/ca.pem or ca/key.pem is an error", true, dindServerPair, nil, false,
			"(DOCKER_TLS_CERTDIR needs ca/cert.pem + ca/key.pem to issue the rest from, or server/ca.pem + server/cert.pem + server/key.pem"},
		{"-tls in an empty directory self-signs server/cert.pem and server/key.pem, nothing else", false, nil,
			[]string{dindServerKeyFile, dindServerCertFile}, false, ""},
		{"-tls with ca/ issues the server pair from it, no copies", false, dindCA,
			[]string{dindServerKeyFile, dindServerCertFile}, false, ""},
		{"-tls with the server pair uses it", false, dindServerPair, nil, false, ""},
		{"-tls with the whole set uses the server pair and makes no client bundle", false, dindLayout.files, nil, false, ""},
		{"-tls with ca/cert.pem alone self-signs and leaves it alone", false, []string{dindCACertFile},
			[]string{dindServerKeyFile, dindServerCertFile}, false, ""},
		{"-tls with client/ alone self-signs and leaves client/ alone", false, dindClient,
			[]string{dindServerKeyFile, dindServerCertFile}, false, ""},
		{"-tls with server/key.pem alone is an error", false, []string{dindServerKeyFile}, nil, false,
			"server/cert.pem and server/key.pem go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, subset(set, c.present...))
			before := snapshotTree(t, dir)
			res, err := ensureDind(t, dir, c.verify, testHosts, t0)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !core.IsUsage(err) {
					t.Fatalf("error = %v, want a usage error containing %q", err, c.wantErr)
				}
				unchangedTree(t, dir, before)
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if !sameStrings(res.Generated, c.generate) {
				t.Errorf("generated %v, want %v", res.Generated, c.generate)
			}
			after := snapshotTree(t, dir)
			for _, f := range dindLayout.files {
				_, was := before[f]
				_, is := after[f]
				if was && after[f] != before[f] {
					t.Errorf("%s was modified", f)
				}
				if is != (was || contains(c.generate, f)) {
					t.Errorf("%s present after = %v; before %v, generated %v", f, is, was, contains(c.generate, f))
				}
			}
			if c.verify {
				trust := dindClientCAFile
				if _, ok := after[trust]; !ok {
					trust = dindServerCAFile
				}
				if err := verifyWith(t, dir, trust, dindServerCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
					t.Errorf("server/cert.pem does not chain to %s: %v", trust, err)
				}
			}
			if c.client {
				if err := verifyWith(t, dir, dindServerCAFile, dindClientCertFile, x509.ExtKeyUsageClientAuth, t0); err != nil {
					t.Errorf("the engine refuses client/cert.pem: %v", err)
				}
			}
			if want := dindFiles(dir, c.verify, c.client); res.Files != want {
				t.Errorf("Files = %+v, want %+v", res.Files, want)
			}
			for _, f := range c.generate {
				if strings.HasSuffix(f, "ca.pem") && string(readBytes(t, dir, f)) != string(readBytes(t, dir, dindCACertFile)) {
					t.Errorf("%s is not a copy of ca/cert.pem", f)
				}
			}
		})
	}
}

func readBytes(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDindCopiesMustHoldWhatTheyAreFor: with the user's certificates,
// server/cert.pem must chain to server/ca.pem, and to client/ca.pem: a usage
// error naming the file, nothing written. With dinv's CA, copies that are
// bundles holding it are used as they are (TestDindReplacesWhatAnotherCAIssued
// has the copies that do not hold it).
func TestDindCopiesMustHoldWhatTheyAreFor(t *testing.T) {
	set := dindSet(t)
	other, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	with := func(files map[string][]byte, name string, data []byte) map[string][]byte {
		files[name] = data
		return files
	}
	bundle := append(append([]byte{}, other.CertPEM...), set[dindCACertFile]...)
	cases := []struct {
		name  string
		files map[string][]byte
		hosts []string
		file  string // the file the error names; "" when the set is used
		why   string
	}{
		{"the user's server/cert.pem not signed by server/ca.pem is refused", with(subset(set, dindServer...),
			dindServerCAFile, other.CertPEM), testHosts, dindServerCertFile, "not signed by a usable certificate in {dir}/" + dindServerCAFile},
		{"the user's server/cert.pem not trusted by client/ca.pem is refused", with(subset(set, cat(dindServer, dindClient)...),
			dindClientCAFile, other.CertPEM), testHosts, dindServerCertFile, "not signed by a usable certificate in {dir}/" + dindClientCAFile},
		{"copies that are bundles holding the CA are used", with(with(subset(set, dindLayout.files...), dindServerCAFile, bundle),
			dindClientCAFile, bundle), testHosts, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			before := snapshotTree(t, dir)
			_, err := ensureDind(t, dir, true, c.hosts, t0)
			if c.file == "" {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				unchangedTree(t, dir, before)
				return
			}
			want, why := filepath.Join(dir, c.file)+": ", strings.ReplaceAll(c.why, "{dir}", dir)
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), why) {
				t.Fatalf("error = %v, want a usage error naming %s and saying %q", err, want, why)
			}
			unchangedTree(t, dir, before)
		})
	}
}

// TestDindClientDirectoryHoldsNoOtherKey: client/ never holds a private
// key but the client's, in any state a start can leave it in, killed
// mid-commit included, so that it can be given to a CI job alone; once a
// start is done it holds ca.pem, cert.pem and key.pem, nothing else.
func TestDindClientDirectoryHoldsNoOtherKey(t *testing.T) {
	set := dindSet(t)
	check := func(t *testing.T, dir string, done bool) {
		t.Helper()
		// Every private key outside client/, temp files included.
		foreign := map[string]bool{}
		err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() || strings.HasPrefix(p, filepath.Join(dir, "client")+"/") {
				return err
			}
			if data, _ := os.ReadFile(p); strings.Contains(string(data), "PRIVATE KEY") {
				k, err := parseKeyPEM(p, data)
				if err != nil {
					t.Fatal(err)
				}
				der, _ := x509.MarshalPKIXPublicKey(k.Public())
				foreign[string(der)] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(filepath.Join(dir, "client"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
			base := strings.TrimPrefix(e.Name(), tempPrefix)
			if !contains([]string{"ca.pem", "cert.pem", "key.pem"}, e.Name()) &&
				!(base != e.Name() && (strings.HasPrefix(base, "ca.pem-") || strings.HasPrefix(base, "cert.pem-") || strings.HasPrefix(base, "key.pem-"))) {
				t.Errorf("client/%s: not a file of the client bundle", e.Name())
			}
			data, _ := os.ReadFile(filepath.Join(dir, "client", e.Name()))
			if !strings.Contains(string(data), "PRIVATE KEY") {
				continue
			}
			if e.Name() != "key.pem" && !strings.HasPrefix(base, "key.pem-") {
				t.Errorf("client/%s holds a private key", e.Name())
			}
			k, err := parseKeyPEM(e.Name(), data)
			if err != nil {
				t.Fatal(err)
			}
			if der, _ := x509.MarshalPKIXPublicKey(k.Public()); foreign[string(der)] {
				t.Errorf("client/%s holds the CA's or the server's private key", e.Name())
			}
		}
		if done && !sameStrings(got, []string{"ca.pem", "cert.pem", "key.pem"}) {
			t.Errorf("client/ holds %v, want ca.pem, cert.pem, key.pem", got)
		}
		if done {
			if _, _, err := loadPair(dir, dindClientCertFile, dindClientKeyFile); err != nil {
				t.Error(err)
			}
		}
	}
	cases := []struct {
		name    string
		files   map[string][]byte
		renames int
	}{
		{"a first start", nil, 8},
		{"a start from ca/", subset(set, dindCA...), 6},
		{"a start with docker:dind's volumes ca/ and client/", subset(set, cat(dindCA, dindClient)...), 3},
	}
	for _, c := range cases {
		t.Run(c.name+" that completes", func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			if _, err := ensureDind(t, dir, true, testHosts, t0); err != nil {
				t.Fatal(err)
			}
			check(t, dir, true)
		})
		for n := 0; n <= c.renames; n++ {
			t.Run(c.name+fmt.Sprintf(" killed before rename %d", n+1), func(t *testing.T) {
				dir := t.TempDir()
				writeTree(t, dir, c.files)
				if !crashed(t, request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: testHosts, Now: clock(t0), store: crashAt(n)}) {
					t.Fatal("no crash")
				}
				check(t, dir, false)
				if _, err := ensureDind(t, dir, true, testHosts, t0); err != nil {
					t.Fatal(err)
				}
				check(t, dir, true)
			})
		}
		t.Run(c.name+" killed after writing its temp files", func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			func() {
				defer func() { recover() }()
				ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: testHosts, Now: clock(t0),
					store: osStore{afterTemps: func() { panic("killed") }}})
			}()
			check(t, dir, false)
		})
	}
}

// TestDindCrashBetweenRenames: a commit across ca/, server/ and client/
// killed before any of its renames is finished by the next start, from its
// journal, with the killed run's CA, and nothing left behind.
func TestDindCrashBetweenRenames(t *testing.T) {
	set := dindSet(t)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	cases := []struct {
		name    string
		files   map[string][]byte
		hosts   []string
		renames int
	}{
		{"a first start generating all eight", nil, testHosts, 8},
		{"a start issuing server/ from docker:dind's volumes", subset(set, cat(dindCA, dindClient)...), testHosts, 3},
		{"a start re-issuing server/cert.pem", subset(set, dindLayout.files...), moved, 1},
	}
	for _, c := range cases {
		for n := 0; n <= c.renames; n++ {
			t.Run(c.name+fmt.Sprintf(", killed before rename %d", n+1), func(t *testing.T) {
				dir := t.TempDir()
				writeTree(t, dir, c.files)
				req := request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: c.hosts, Now: clock(t0), store: crashAt(n)}
				if !crashed(t, req) {
					t.Fatal("no crash")
				}
				journal, err := os.ReadFile(filepath.Join(dir, journalFile))
				if err != nil {
					t.Fatalf("no journal: %v", err)
				}
				if _, err := parseJournal(journal, dindLayout); err != nil {
					t.Fatalf("journal %q: %v", journal, err)
				}
				ca := readBytesIfAny(dir, dindCACertFile)
				req.store = nil
				res, err := ensure(context.Background(), req)
				if err != nil {
					t.Fatalf("the start after the crash: %v", err)
				}
				if len(res.Generated) != 0 {
					t.Errorf("the start after the crash generated %v", res.Generated)
				}
				if c.files != nil && string(readBytes(t, dir, dindCACertFile)) != string(c.files[dindCACertFile]) {
					t.Error("ca/cert.pem changed: not the same CA")
				}
				if ca != nil && string(readBytes(t, dir, dindCACertFile)) != string(ca) {
					t.Error("ca/cert.pem changed after the roll forward")
				}
				for _, f := range dindLayout.files {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("%s: %v", f, err)
					}
				}
				if err := verifyWith(t, dir, dindClientCAFile, dindServerCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
					t.Error(err)
				}
				if u := uncovered(readCert(t, filepath.Join(dir, dindServerCertFile)), c.hosts); len(u) != 0 {
					t.Errorf("server/cert.pem does not cover %v", u)
				}
				for n := range snapshotTree(t, dir) {
					if strings.HasPrefix(filepath.Base(n), tempPrefix) || n == journalFile {
						t.Errorf("%s left", n)
					}
				}
			})
		}
	}
}

func readBytesIfAny(dir, name string) []byte {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return b
}

// TestParseJournalOfTheDindLayout: a journal may rename only a temp file of
// dinv's into a final name of the layout in use, in the same directory: a
// CA key never becomes client/key.pem, nothing leaves the directory.
func TestParseJournalOfTheDindLayout(t *testing.T) {
	cases := []struct {
		name string
		lay  layout
		line string
		ok   bool
	}{
		{"a server file from its temp in server/", dindLayout, "server/" + tempPrefix + "cert.pem-1 server/cert.pem", true},
		{"the client key from its temp in client/", dindLayout, "client/" + tempPrefix + "key.pem-1 client/key.pem", true},
		{"a temp of ca/ renamed into client/ is refused", dindLayout, "ca/" + tempPrefix + "key.pem-1 client/key.pem", false},
		{"a temp at the top renamed into server/ is refused", dindLayout, tempPrefix + "x server/cert.pem", false},
		{"a flat name in a dind journal is refused", dindLayout, tempPrefix + "x docker.crt", false},
		{"a dind name in a flat journal is refused", flatLayout, "server/" + tempPrefix + "x server/cert.pem", false},
		{"a path that is not clean is refused", dindLayout, "server/../server/" + tempPrefix + "x server/cert.pem", false},
		{"a file not dinv's temp is refused", dindLayout, "client/key.pem.bak client/key.pem", false},
		{"a name outside the layout is refused", dindLayout, "server/" + tempPrefix + "x server/other.pem", false},
		{"a flat journal line is accepted by the flat layout", flatLayout, tempPrefix + "docker.crt-1 docker.crt", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseJournal([]byte(journalHead+"\n"+c.line+"\n"+journalTail+"\n"), c.lay)
			if (err == nil) != c.ok {
				t.Errorf("parseJournal(%q) = %v, want ok %v", c.line, err, c.ok)
			}
		})
	}
}

// TestDindModes: dinv makes ca/ 0700, server/ and client/ 0755, whatever
// the umask; keys 0600, certificates 0644. A subdirectory already there
// keeps its mode; one that is a link or a file is refused when dinv must
// write into it.
func TestDindModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if _, err := ensureDind(t, dir, true, testHosts, t0); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"ca": 0o700 | os.ModeDir, "server": 0o755 | os.ModeDir, "client": 0o755 | os.ModeDir} {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || fi.Mode() != want {
			t.Errorf("%s/: %v %v, want %v", name, fi.Mode(), err, want)
		}
	}
	for _, f := range dindLayout.files {
		want := os.FileMode(0o644) // client/key.pem too: a job running as another user reads it
		if strings.HasSuffix(f, "key.pem") && f != dindClientKeyFile {
			want = 0o600
		}
		if fi, err := os.Lstat(filepath.Join(dir, f)); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", f, fi.Mode(), err, want)
		}
	}

	t.Run("a ca/ made by someone else keeps its mode", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "ca"), 0o750)
		os.Chmod(filepath.Join(dir, "ca"), 0o750)
		if _, err := ensureDind(t, dir, true, testHosts, t0); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Lstat(filepath.Join(dir, "ca")); fi.Mode().Perm() != 0o750 {
			t.Errorf("ca/ mode %v, want 0750 kept", fi.Mode().Perm())
		}
	})
	t.Run("a server/ that is a link is not written through", func(t *testing.T) {
		dir, elsewhere := t.TempDir(), t.TempDir()
		symlink(t, elsewhere, filepath.Join(dir, "server"))
		_, err := ensureDind(t, dir, true, testHosts, t0)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "server")+": is a symbolic link; dinv does not follow links where it writes") {
			t.Fatalf("error = %v, want the link refused", err)
		}
		if n := names(snapshot(t, elsewhere)); len(n) != 0 {
			t.Errorf("written through the link: %v", n)
		}
	})
	t.Run("a file in client/'s place is a usage error", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string][]byte{"client": []byte("x")})
		_, err := ensureDind(t, dir, true, testHosts, t0)
		if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), filepath.Join(dir, "client")+": is a regular file, not a directory") {
			t.Fatalf("error = %v, want client refused", err)
		}
	})
}

// TestDindDryRunWritesNothing: under DryRun, the dind layout is read and
// decided only, in every subdirectory: no lock, no directory made, nothing
// written; the result says what a real start would write.
func TestDindDryRunWritesNothing(t *testing.T) {
	set := dindSet(t)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	cases := []struct {
		name    string
		files   map[string][]byte // nil: the directory does not exist
		hosts   []string
		would   []string
		reissue string
		journal bool
	}{
		{"an absent directory stays absent; all eight would be generated", nil, testHosts, dindAll, "", false},
		{"an empty directory stays empty, no subdirectory made", map[string][]byte{}, testHosts, dindAll, "", false},
		{"ca/ alone: the rest would be issued from it", subset(set, dindCA...), testHosts, dindAll[2:], "", false},
		{"docker:dind's volumes: server/ would be issued", subset(set, cat(dindCA, dindClient)...), testHosts,
			[]string{dindServerCAFile, dindServerKeyFile, dindServerCertFile}, "", false},
		{"a new address: server/cert.pem would be re-issued", subset(set, dindLayout.files...), moved,
			[]string{dindServerCertFile}, "addresses", false},
		{"a ready set: nothing would be written", subset(set, dindLayout.files...), testHosts, nil, "", false},
		{"a killed run's journal and temp files in the subdirectories are left alone", subset(set, dindLayout.files...), moved,
			[]string{dindServerCertFile}, "addresses", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			if c.files != nil {
				os.Mkdir(dir, 0o755)
				writeTree(t, dir, c.files)
			}
			if c.journal && !crashed(t, request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: moved, Now: clock(t0), store: crashAt(0)}) {
				t.Fatal("no crash")
			}
			before := snapshotTree(t, dir)
			res, err := ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: c.hosts, Now: clock(t0),
				DryRun: true, store: failStore{t}})
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			unchangedTree(t, dir, before)
			if _, err := os.Stat(dir); c.files == nil && err == nil {
				t.Error("the directory was created")
			}
			if !sameStrings(res.WouldGenerate, c.would) || res.WouldReissue != c.reissue || res.WouldRollForward != c.journal {
				t.Errorf("would generate %v, re-issue %q, roll forward %v; want %v, %q, %v",
					res.WouldGenerate, res.WouldReissue, res.WouldRollForward, c.would, c.reissue, c.journal)
			}
			if want := dindFiles(dir, true, true); res.Files != want {
				t.Errorf("Files = %+v, want %+v", res.Files, want)
			}
		})
	}
}

// TestDindSharedDirectory: DinV hosts sharing one DOCKER_TLS_CERTDIR, each
// with its own addresses, started at once on an empty one: one CA is
// minted, the copies are that CA, and the server certificate left covers
// every host; then restarts rewrite nothing.
func TestDindSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	errs := make([]error, n)
	results := make([]*result, n)
	start := make(chan struct{})
	done := make(chan int)
	for i := 0; i < n; i++ {
		go func(i int) {
			<-start
			results[i], errs[i] = ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: hostsOf(i + 1),
				store: slowStore(10 * time.Millisecond)})
			done <- i
		}(i)
	}
	close(start)
	for i := 0; i < n; i++ {
		<-done
	}
	minted := 0
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("host %d: %v", i+1, errs[i])
		}
		if contains(results[i].Generated, dindCACertFile) {
			minted++
		}
	}
	if minted != 1 {
		t.Errorf("%d CAs minted, want 1", minted)
	}
	ca := readBytes(t, dir, dindCACertFile)
	for _, f := range []string{dindServerCAFile, dindClientCAFile} {
		if string(readBytes(t, dir, f)) != string(ca) {
			t.Errorf("%s is not a copy of ca/cert.pem", f)
		}
	}
	srv := readCert(t, filepath.Join(dir, dindServerCertFile))
	for i := 1; i <= n; i++ {
		if u := uncovered(srv, hostsOf(i)); len(u) != 0 {
			t.Errorf("server/cert.pem does not cover host %d's %v", i, u)
		}
	}
	if _, _, err := loadPair(dir, dindServerCertFile, dindServerKeyFile); err != nil {
		t.Error(err)
	}
	if err := verifyWith(t, dir, dindClientCAFile, dindServerCertFile, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Error(err)
	}
	settled := snapshotTree(t, dir)
	for i := 1; i <= n; i++ {
		if _, err := ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: hostsOf(i),
			store: failStore{t}}); err != nil {
			t.Fatalf("restart of host %d: %v", i, err)
		}
	}
	unchangedTree(t, dir, settled)
}

// TestRunDindLayout: the stage with CertLayout dind serves server/ and
// reports client/; under -dry-run it says what it would write, by the
// layout's names, and writes nothing.
func TestRunDindLayout(t *testing.T) {
	for _, dry := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "certs")
		s := &core.State{Config: core.Config{Certs: core.TLSVerify, CertDir: dir, CertLayout: layoutDind, DryRun: dry},
			Addrs: []net.IP{net.ParseIP("172.18.0.5")}, Hostname: "c0ffee"}
		if err := New().Run(context.Background(), s); err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		if want := dindFiles(dir, true, true); s.TLSFiles != want {
			t.Errorf("dry run %v: TLSFiles = %+v, want %+v", dry, s.TLSFiles, want)
		}
		_, err := os.Stat(dir)
		if dry != (err != nil) {
			t.Errorf("dry run %v: the directory exists: %v", dry, err == nil)
		}
		if dry {
			continue
		}
		if u := uncovered(readCert(t, s.TLSFiles.ServerCert), []string{"172.18.0.5", "c0ffee", "docker", "localhost"}); len(u) != 0 {
			t.Errorf("server/cert.pem does not cover %v", u)
		}
	}
}

// TestDindReadOnlyDirectory: a read-only DOCKER_TLS_CERTDIR works when it
// holds what the mode needs; otherwise the error names the directory and
// every file dinv could not write.
func TestDindReadOnlyDirectory(t *testing.T) {
	set := dindSet(t)
	cases := []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"an empty read-only directory is an error naming the eight files", nil,
			"is not writable (read-only file system): cannot generate ca/cert.pem, ca/key.pem, server/ca.pem, server/cert.pem, server/key.pem, " +
				"client/ca.pem, client/cert.pem, client/key.pem"},
		{"ca/ and client/ read-only without server/ is an error naming server/'s files", cat(dindCA, dindClient),
			"cannot generate server/ca.pem, server/cert.pem, server/key.pem;"},
		{"a complete read-only directory works", dindLayout.files, ""},
		{"the user's read-only server/ works", dindServer, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, subset(set, c.files...))
			_, err := ensure(context.Background(), request{Dir: dir, Layout: layoutDind, Verify: true, Hosts: testHosts, Now: clock(t0), store: roStore{}})
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error = %v, want it to name %s and say %q", err, dir, c.wantErr)
			}
		})
	}
}

package pki

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// openssl runs the real openssl CLI and returns its combined output.
func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

// opensslSANs reads a certificate's subject alternative names with openssl,
// IPs in Go's canonical form.
func opensslSANs(t *testing.T, path string) []string {
	t.Helper()
	out, err := openssl(t, "x509", "-noout", "-ext", "subjectAltName", "-in", path)
	if err != nil {
		t.Fatalf("openssl x509: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sans []string
	for _, f := range strings.Split(lines[len(lines)-1], ",") {
		f = strings.TrimSpace(f)
		switch {
		case strings.HasPrefix(f, "DNS:"):
			sans = append(sans, strings.TrimPrefix(f, "DNS:"))
		case strings.HasPrefix(f, "IP Address:"):
			sans = append(sans, net.ParseIP(strings.TrimPrefix(f, "IP Address:")).String())
		default:
			t.Errorf("unexpected SAN %q", f)
		}
	}
	sort.Strings(sans)
	return sans
}

// TestOpenSSLAcceptsGeneratedSets checks dinv's certificates with the real
// openssl: each leaf verifies against ca.crt for its purpose and no other,
// a foreign CA's leaf does not, and the SANs are the requested hosts.
func TestOpenSSLAcceptsGeneratedSets(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not installed: make engine installs it")
	}
	hosts := serverHosts([]net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("fd00::5")}, "dinvhost", []string{"*.example.test", "docker.example.test"})
	foreign, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	foreignCrt, _, err := foreign.issueServer(hosts, mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []string{"ecdsa", "rsa", "rsa3072"} {
		t.Run(kt, func(t *testing.T) {
			spec, _ := parseKeyType(kt)
			dir := t.TempDir()
			if _, err := ensure(context.Background(), request{Dir: dir, Verify: true, Key: spec, Hosts: hosts}); err != nil {
				t.Fatal(err)
			}
			foreignPath := filepath.Join(t.TempDir(), "foreign.crt")
			if err := os.WriteFile(foreignPath, foreignCrt, 0o644); err != nil {
				t.Fatal(err)
			}
			p := func(n string) string { return filepath.Join(dir, n) }
			cases := []struct {
				name    string
				purpose string
				file    string
				ok      bool
			}{
				{"docker.crt verifies as a TLS server", "sslserver", p(serverCertFile), true},
				{"docker-client.crt verifies as a TLS client", "sslclient", p(clientCertFile), true},
				{"docker.crt does not verify as a client", "sslclient", p(serverCertFile), false},
				{"docker-client.crt does not verify as a server", "sslserver", p(clientCertFile), false},
				{"a foreign CA's server certificate does not verify", "sslserver", foreignPath, false},
			}
			for _, c := range cases {
				out, err := openssl(t, "verify", "-purpose", c.purpose, "-CAfile", p(caCertFile), c.file)
				ok := err == nil && strings.Contains(out, ": OK")
				if ok != c.ok {
					t.Errorf("%s: openssl verify ok=%v, want %v: %s", c.name, ok, c.ok, out)
				}
			}
			if got := opensslSANs(t, p(serverCertFile)); !sameStrings(got, hosts) {
				t.Errorf("openssl reads SANs %q, want %q", got, hosts)
			}
			for _, f := range []string{caKeyFile, serverKeyFile, clientKeyFile} {
				if out, err := openssl(t, "pkey", "-noout", "-in", p(f)); err != nil {
					t.Errorf("openssl cannot read %s: %v: %s", f, err, out)
				}
			}
		})
	}
	t.Run("the self-signed -tls certificate verifies against itself", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := ensure(context.Background(), request{Dir: dir, Hosts: hosts}); err != nil {
			t.Fatal(err)
		}
		crt := filepath.Join(dir, serverCertFile)
		if out, err := openssl(t, "verify", "-purpose", "sslserver", "-CAfile", crt, crt); err != nil || !strings.Contains(out, ": OK") {
			t.Errorf("openssl verify: %v: %s", err, out)
		}
		if got := opensslSANs(t, crt); !sameStrings(got, hosts) {
			t.Errorf("openssl reads SANs %q, want %q", got, hosts)
		}
	})
}

// opensslDind makes, with the openssl CLI, a certificate directory as
// docker:dind's documentation describes the one it makes: ca/cert.pem and
// ca/key.pem (the CA), server/ and client/ each with ca.pem (a copy of
// ca/cert.pem), cert.pem and key.pem. RSA keys, openssl's own extensions,
// a server certificate for hosts (DNS: and IP: entries); every file and
// directory dated two days back, as a previous container left them.
func opensslDind(t *testing.T, dir string, hosts []string) {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	var sans []string
	for _, h := range hosts {
		if net.ParseIP(h) != nil {
			sans = append(sans, "IP:"+h)
		} else {
			sans = append(sans, "DNS:"+h)
		}
	}
	for _, sub := range []string{"ca", "server", "client"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run("genrsa", "-out", "ca/key.pem", "4096")
	run("req", "-new", "-x509", "-key", "ca/key.pem", "-sha256", "-days", "825", "-subj", "/CN=docker:dind CA", "-out", "ca/cert.pem")
	leaf := func(sub, cn, ext string, serial string) {
		t.Helper()
		cnf := filepath.Join(sub, "openssl.cnf")
		if err := os.WriteFile(filepath.Join(dir, cnf), []byte("[ x509_exts ]\n"+ext), 0o644); err != nil {
			t.Fatal(err)
		}
		run("genrsa", "-out", sub+"/key.pem", "2048")
		run("req", "-new", "-key", sub+"/key.pem", "-subj", "/CN="+cn, "-out", sub+"/csr.pem")
		run("x509", "-req", "-in", sub+"/csr.pem", "-CA", "ca/cert.pem", "-CAkey", "ca/key.pem", "-set_serial", serial,
			"-sha256", "-days", "825", "-extfile", cnf, "-extensions", "x509_exts", "-out", sub+"/cert.pem")
		for _, f := range []string{cnf, sub + "/csr.pem"} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
		ca, err := os.ReadFile(filepath.Join(dir, "ca/cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "ca.pem"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	leaf("server", "docker:dind server", "subjectAltName = "+strings.Join(sans, ", ")+"\n"+
		"keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n", "0x5eed01")
	leaf("client", "docker:dind client", "keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n", "0x5eed02")
	past := time.Now().Add(-48 * time.Hour)
	var paths []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	})
	for i := len(paths) - 1; i >= 0; i-- { // files before their directories
		if err := os.Chtimes(paths[i], past, past); err != nil {
			t.Fatal(err)
		}
	}
}

// copyTree copies the regular files and directories under src to dst,
// keeping modes and times.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	var dirs []string
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			dirs = append(dirs, p)
			return os.MkdirAll(to, fi.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(to, fi.ModTime(), fi.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		fi, _ := os.Stat(dirs[i])
		rel, _ := filepath.Rel(src, dirs[i])
		if err := os.Chtimes(filepath.Join(dst, rel), fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDockerDindDirectoryIsReused: a DOCKER_TLS_CERTDIR that docker:dind
// made (here with openssl, as its documentation describes its files) is
// used as it is: never a second CA, nothing written while it serves the
// host; when dinv must re-issue, it does so from that same CA, as for the
// flat layout, and touches nothing else.
func TestDockerDindDirectoryIsReused(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not installed: make engine installs it")
	}
	made := t.TempDir()
	opensslDind(t, made, testHosts)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	rsa := keySpec{RSA: true, Bits: 2048}
	cases := []struct {
		name     string
		remove   []string // taken from docker:dind's directory first
		hosts    []string
		key      keySpec
		generate []string
		client   bool // a client bundle is reported
		reissued string
	}{
		{"a complete directory is used as it is: same CA, every byte and mtime unchanged", nil, testHosts, keySpec{}, nil, true, ""},
		{"the same with -key-type rsa", nil, testHosts, rsa, nil, true, ""},
		{"docker:dind's documented volumes ca/ and client/ without server/: server/ is issued from the same CA", []string{"server"},
			testHosts, keySpec{}, []string{dindServerCAFile, dindServerKeyFile, dindServerCertFile}, true, ""},
		{"a new address re-issues server/cert.pem from the same CA, keeping the RSA server/key.pem with -key-type rsa", nil,
			moved, rsa, []string{dindServerCertFile}, true, "addresses"},
		{"a new address with ECDSA keys re-issues server/cert.pem with an ECDSA server/key.pem", nil,
			moved, keySpec{}, []string{dindServerKeyFile, dindServerCertFile}, true, "addresses"},
		{"without ca/key.pem the certificates are the user's: never re-issued, the address reported", []string{dindCAKeyFile},
			moved, keySpec{}, nil, true, ""},
		{"server/ alone is the user's, and there is no client bundle", []string{"ca", "client"}, testHosts, keySpec{}, nil, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, made, dir)
			for _, r := range c.remove {
				if err := os.RemoveAll(filepath.Join(dir, r)); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshotTree(t, dir)
			req := request{Dir: dir, Layout: layoutDind, Verify: true, Key: c.key, Hosts: c.hosts}
			if c.generate == nil {
				req.store = failStore{t} // not even the lock
			}
			res, err := ensure(context.Background(), req)
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if !sameStrings(res.Generated, c.generate) || res.Reissued != c.reissued {
				t.Errorf("generated %v, re-issued %q; want %v, %q", res.Generated, res.Reissued, c.generate, c.reissued)
			}
			if want := dindFiles(dir, true, c.client); res.Files != want {
				t.Errorf("Files = %+v, want %+v", res.Files, want)
			}
			after := snapshotTree(t, dir)
			for n, st := range before {
				if st.mode.IsDir() {
					continue // a directory dinv writes into has a new mtime
				}
				if changed := after[n] != st; changed != contains(c.generate, n) {
					t.Errorf("%s changed = %v, want %v", n, changed, contains(c.generate, n))
				}
			}
			if c.generate == nil {
				unchangedTree(t, dir, before)
			}
			if c.reissued == "" && len(c.remove) > 0 && c.remove[0] == dindCAKeyFile && !sameStrings(res.Uncovered, []string{"10.9.9.9"}) {
				t.Errorf("Uncovered = %v, want the new address", res.Uncovered)
			}
			if len(c.generate) == 0 {
				return
			}
			if p, _, err := loadPair(dir, dindServerCertFile, dindServerKeyFile); err != nil || !(issuer{spec: c.key}).fits(p.key) {
				t.Errorf("server/key.pem is not a key of %v: %v", c.key, err)
			}
			// The same CA: the server certificate dinv issued verifies, with
			// openssl, against docker:dind's own client/ca.pem and ca/cert.pem.
			for _, anchor := range []string{dindClientCAFile, dindCACertFile, dindServerCAFile} {
				out, err := openssl(t, "verify", "-purpose", "sslserver", "-CAfile", filepath.Join(dir, anchor), filepath.Join(dir, dindServerCertFile))
				if err != nil || !strings.Contains(out, ": OK") {
					t.Errorf("openssl verify against %s: %v: %s", anchor, err, out)
				}
			}
			out, err := openssl(t, "verify", "-purpose", "sslclient", "-CAfile", filepath.Join(dir, dindServerCAFile), filepath.Join(dir, dindClientCertFile))
			if err != nil || !strings.Contains(out, ": OK") {
				t.Errorf("the engine's server/ca.pem does not accept docker:dind's client/cert.pem: %v: %s", err, out)
			}
			if u := uncovered(readCert(t, filepath.Join(dir, dindServerCertFile)), append(append([]string{}, c.hosts...), testHosts...)); len(u) != 0 {
				t.Errorf("server/cert.pem does not cover %v", u)
			}
		})
	}
}

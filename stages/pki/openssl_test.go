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
	hosts := ServerHosts([]net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("fd00::5")}, "dinvhost", []string{"*.example.test", "docker.example.test"})
	foreign, err := NewCA(Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreignCrt, _, err := foreign.IssueServer(hosts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []string{"ecdsa", "rsa", "rsa3072"} {
		t.Run(kt, func(t *testing.T) {
			spec, _ := ParseKeyType(kt)
			dir := t.TempDir()
			if _, err := Ensure(context.Background(), Request{Dir: dir, Verify: true, Key: spec, Hosts: hosts}); err != nil {
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
				{"docker.crt verifies as a TLS server", "sslserver", p(ServerCertFile), true},
				{"docker-client.crt verifies as a TLS client", "sslclient", p(ClientCertFile), true},
				{"docker.crt does not verify as a client", "sslclient", p(ServerCertFile), false},
				{"docker-client.crt does not verify as a server", "sslserver", p(ClientCertFile), false},
				{"a foreign CA's server certificate does not verify", "sslserver", foreignPath, false},
			}
			for _, c := range cases {
				out, err := openssl(t, "verify", "-purpose", c.purpose, "-CAfile", p(CACertFile), c.file)
				ok := err == nil && strings.Contains(out, ": OK")
				if ok != c.ok {
					t.Errorf("%s: openssl verify ok=%v, want %v: %s", c.name, ok, c.ok, out)
				}
			}
			if got := opensslSANs(t, p(ServerCertFile)); !sameStrings(got, hosts) {
				t.Errorf("openssl reads SANs %q, want %q", got, hosts)
			}
			for _, f := range []string{CAKeyFile, ServerKeyFile, ClientKeyFile} {
				if out, err := openssl(t, "pkey", "-noout", "-in", p(f)); err != nil {
					t.Errorf("openssl cannot read %s: %v: %s", f, err, out)
				}
			}
		})
	}
	t.Run("the self-signed -tls certificate verifies against itself", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Ensure(context.Background(), Request{Dir: dir, Hosts: hosts}); err != nil {
			t.Fatal(err)
		}
		crt := filepath.Join(dir, ServerCertFile)
		if out, err := openssl(t, "verify", "-purpose", "sslserver", "-CAfile", crt, crt); err != nil || !strings.Contains(out, ": OK") {
			t.Errorf("openssl verify: %v: %s", err, out)
		}
		if got := opensslSANs(t, crt); !sameStrings(got, hosts) {
			t.Errorf("openssl reads SANs %q, want %q", got, hosts)
		}
	})
}

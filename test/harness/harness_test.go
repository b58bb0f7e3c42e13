package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNamesCarryThePrefixAndDiffer(t *testing.T) {
	a, b := Name("Example 1/TLS verify"), Name("Example 1/TLS verify")
	if a == b {
		t.Fatalf("two names alike: %s", a)
	}
	for _, n := range []string{a, b} {
		if !strings.HasPrefix(n, Prefix+"example-1-tls-verify-") {
			t.Errorf("name %q: want prefix %q", n, Prefix+"example-1-tls-verify-")
		}
		if unsafeName.MatchString(n) {
			t.Errorf("name %q has characters docker refuses", n)
		}
	}
}

func TestProbeCandidatesStartWithPrivilegedAndEndWithTheDocumentedSet(t *testing.T) {
	c := candidates()
	if got := strings.Join(c[0], " "); got != "--privileged" {
		t.Errorf("first candidate %q, want --privileged", got)
	}
	want := "--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined " +
		"--security-opt apparmor=unconfined --security-opt systempaths=unconfined --device-cgroup-rule a *:* rwm"
	if got := strings.Join(c[len(c)-1], " "); got != want {
		t.Errorf("last candidate\n%q, want\n%q", got, want)
	}
	if !(Privileges{Options: Privileged}).Privileged() || (Privileges{Options: c[2]}).Privileged() {
		t.Error("Privileged() does not tell --privileged from the explicit set")
	}
}

// A certificate chain minted here is what a TLS server and client accept:
// the server proves itself to a client that trusts the CA, and a client
// certificate from another CA is refused.
func TestMintedCertificatesMakeAWorkingMutualTLSPair(t *testing.T) {
	ca := NewCA(t, "test CA")
	server := ca.Issue(t, LeafOptions{CommonName: "server", Server: true, Hosts: []string{"127.0.0.1", "localhost"}})
	client := ca.Issue(t, LeafOptions{CommonName: "client", Client: true})
	other := NewCA(t, "other CA").Issue(t, LeafOptions{CommonName: "intruder", Client: true})

	pair, err := tls.X509KeyPair(server.CertPEM, server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err == nil {
					io.WriteString(c, "ok")
				}
			}(c)
		}
	}()
	dial := func(leaf *Leaf) (string, error) {
		c, err := tls.Dial("tcp", l.Addr().String(), ClientTLS(t, ca.CertPEM, leaf.CertPEM, leaf.KeyPEM))
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		return string(b), err
	}
	if got, err := dial(client); got != "ok" {
		t.Errorf("client of the CA: got %q, %v; want ok", got, err)
	}
	if got, _ := dial(other); got == "ok" {
		t.Error("client of another CA was served")
	}
}

// The certificate factory makes what the reliability suite's certificate
// cases claim, as Go's verifier (the docker CLI's) sees it.
func TestCertificateFactoryMakesWhatClientsSeeItMakes(t *testing.T) {
	verify := func(leaf *Leaf, inter *CA, roots ...*CA) error {
		pool, inters := x509.NewCertPool(), x509.NewCertPool()
		for _, r := range roots {
			pool.AddCert(r.Cert)
		}
		if inter != nil {
			inters.AddCert(inter.Cert)
		}
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inters,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return err
	}
	server := LeafOptions{CommonName: "server", Server: true, Hosts: []string{"127.0.0.1"}}

	clientOnly := NewCAWith(t, CAOptions{CommonName: "client-only CA", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err := verify(clientOnly.Issue(t, server), nil, clientOnly); err == nil || !strings.Contains(err.Error(), "incompatible key usage") {
		t.Errorf("a server certificate of a CA limited to clientAuth: %v, want an incompatible key usage", err)
	}

	ca := NewCA(t, "the CA")
	renamed := server
	renamed.IssuerName = "someone else"
	if err := verify(ca.Issue(t, renamed), nil, ca); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("a certificate naming another issuer: %v, want an unknown authority", err)
	}

	other := NewCA(t, "another CA")
	if err := verify(other.Issue(t, server), nil, ca, other); err != nil {
		t.Errorf("a certificate of the second of two trusted CAs: %v", err)
	}

	// An intermediate renewed (same key and name, later dates) after the
	// leaf was issued by the first one: the leaf still verifies with it.
	now := time.Now()
	root := NewCA(t, "root")
	first := NewCAWith(t, CAOptions{CommonName: "intermediate", Parent: root, NotBefore: now.AddDate(0, 0, -60)})
	early := server
	early.NotBefore = now.AddDate(0, 0, -40)
	leaf := first.Issue(t, early)
	renewed := NewCAWith(t, CAOptions{CommonName: "intermediate", Parent: root, Key: first.Key, NotBefore: now.AddDate(0, 0, -1)})
	if !renewed.Cert.NotBefore.After(leaf.Cert.NotBefore) {
		t.Fatal("the renewed intermediate is not younger than the leaf")
	}
	if err := verify(leaf, renewed, root); err != nil {
		t.Errorf("a leaf of an intermediate renewed after it: %v", err)
	}
}

func TestLineWithFindsWholeLinesUnlessTheOutputIsComplete(t *testing.T) {
	for _, c := range []struct {
		name, out string
		all       bool
		want      string
		ok        bool
	}{
		{"a whole line holding it", "a\nengine ready x\nb", false, "engine ready x", true},
		{"a line still being written is not taken", "a\nengine re", false, "", false},
		{"nor a whole line read half-way", "a\nengine ready, af", false, "", false},
		{"the last line counts once the output is complete", "a\nengine ready", true, "engine ready", true},
		{"nothing written", "", false, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := lineWith(c.out, "engine ready", c.all)
			if got != c.want || ok != c.ok {
				t.Errorf("lineWith(%q) = %q, %v; want %q, %v", c.out, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestMissingVICUsageNamesTheFirstEntryLackingOrOutOfOrder(t *testing.T) {
	all := strings.Join(VICUsage, "  -other\n    \tanother flag\n")
	swapped := VICUsage[1] + VICUsage[0] + strings.Join(VICUsage[2:], "")
	for _, c := range []struct{ name, usage, want string }{
		{"all, with other flags among them", all, ""},
		{"one left out", strings.Replace(all, VICUsage[2], "", 1), VICUsage[2]},
		{"two swapped", swapped, VICUsage[1]},
	} {
		if got := MissingVICUsage(c.usage); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestBuildMakesAStaticBinaryOrSaysWhyNot(t *testing.T) {
	out := filepath.Join(t.TempDir(), "launcher")
	if err := Build(context.Background(), "bench/launcher", out); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: not static")
		}
	}
	if err := Build(context.Background(), "no/such/command", out); err == nil || !strings.Contains(err.Error(), "build no/such/command") {
		t.Errorf("building a missing package: %v", err)
	}
}

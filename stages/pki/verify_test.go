package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// raw is a certificate minted by the test itself with crypto/x509, to give
// it what dinv never makes: odd usages, names, chains.
type raw struct {
	cert            *x509.Certificate
	key             crypto.Signer
	certPEM, keyPEM []byte
}

// mintRaw signs tmpl with parent's key (nil: self-signed) for key (nil: a
// new ECDSA key); a zero serial or validity gets a default.
func mintRaw(t *testing.T, tmpl *x509.Certificate, parent *raw, key crypto.Signer) *raw {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().AddDate(1, 0, 0)
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &raw{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}
}

func caTmpl(cn string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
}

func leafTmpl(cn string, u x509.ExtKeyUsage) *x509.Certificate {
	ips, names := splitHosts(testHosts)
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{u}, IPAddresses: ips, DNSNames: names}
}

func pemOf(certs ...*raw) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, c.certPEM...)
	}
	return b
}

// TestClientsRule: a set is used exactly when a Go client (as the docker
// CLI) would accept docker.crt; otherwise a usage error names the file and
// the verifier's reason, and nothing is written.
func TestClientsRule(t *testing.T) {
	now := time.Now()
	ca := mintRaw(t, caTmpl("user CA"), nil, nil)
	other := mintRaw(t, caTmpl("other CA"), nil, nil)
	srv := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), ca, nil)

	clientOnlyCATmpl := caTmpl("client-only CA")
	clientOnlyCATmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	clientOnlyCA := mintRaw(t, clientOnlyCATmpl, nil, nil)
	srvOfClientOnly := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), clientOnlyCA, nil)

	renamed := *ca.cert // ca's key, another name
	renamed.RawSubject, renamed.Subject = nil, pkix.Name{CommonName: "not the user CA"}
	srvMisnamed := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), &raw{cert: &renamed, key: ca.key}, nil)

	srvOfOther := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), other, nil)

	// root -> intermediate -> server, the intermediate renewed (same name
	// and key, a later NotBefore) after the server certificate was issued.
	rootTmpl := caTmpl("root")
	rootTmpl.NotBefore = now.AddDate(-1, 0, 0)
	root := mintRaw(t, rootTmpl, nil, nil)
	interTmpl := caTmpl("intermediate")
	interTmpl.NotBefore = now.AddDate(0, 0, -30)
	inter := mintRaw(t, interTmpl, root, nil)
	chainedTmpl := leafTmpl("server", x509.ExtKeyUsageServerAuth)
	chainedTmpl.NotBefore = now.AddDate(0, 0, -10)
	chained := mintRaw(t, chainedTmpl, inter, nil)
	renewedTmpl := caTmpl("intermediate")
	renewedTmpl.NotBefore = now.AddDate(0, 0, -1)
	renewed := mintRaw(t, renewedTmpl, root, inter.key)

	selfClient := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageClientAuth), nil, nil)
	expiredTmpl := leafTmpl("server", x509.ExtKeyUsageServerAuth)
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)
	selfExpired := mintRaw(t, expiredTmpl, nil, nil)
	futureTmpl := leafTmpl("server", x509.ExtKeyUsageServerAuth)
	futureTmpl.NotBefore, futureTmpl.NotAfter = now.AddDate(0, 1, 0), now.AddDate(1, 0, 0)
	selfFuture := mintRaw(t, futureTmpl, nil, nil)
	selfServer := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), nil, nil)

	server := func(caPEM []byte, s *raw, bundle ...*raw) map[string][]byte {
		m := map[string][]byte{serverCertFile: append(append([]byte{}, s.certPEM...), pemOf(bundle...)...), serverKeyFile: s.keyPEM}
		if caPEM != nil {
			m[caCertFile] = caPEM
		}
		return m
	}
	cases := []struct {
		name   string
		verify bool
		files  map[string][]byte
		reason string // "" when the set is accepted
	}{
		{"a docker.crt signed by a ca.crt limited to clientAuth is refused with -tlsverify", true,
			server(clientOnlyCA.certPEM, srvOfClientOnly), "not accepted by clients: x509: certificate specifies an incompatible key usage"},
		{"a docker.crt whose issuer name is not ca.crt's subject is refused, though ca.crt's key signed it", true,
			server(ca.certPEM, srvMisnamed), "not accepted by clients: x509: certificate signed by unknown authority"},
		{"a docker.crt signed by the second CA of a ca.crt bundle is accepted", true,
			server(pemOf(other, ca), srv), ""},
		{"a docker.crt signed by none of a ca.crt bundle's CAs is refused", true,
			server(pemOf(other, root), srv), "signed by unknown authority"},
		{"a chain whose intermediate was renewed after the server certificate was issued is accepted", true,
			server(root.certPEM, chained, renewed), ""},
		{"a chain without its intermediate is refused", true,
			server(root.certPEM, chained), "signed by unknown authority"},
		{"a self-signed docker.crt for clientAuth only is refused with -tls", false,
			server(nil, selfClient), "not accepted by clients: x509: certificate specifies an incompatible key usage"},
		{"an expired self-signed docker.crt is refused with -tls", false,
			server(nil, selfExpired), "not accepted by clients: x509: certificate has expired or is not yet valid"},
		{"a self-signed docker.crt not yet valid is refused with -tls", false,
			server(nil, selfFuture), "(not valid yet: valid from"},
		{"a user's self-signed docker.crt is accepted with -tls", false, server(nil, selfServer), ""},
		{"with -tls a docker.crt signed by ca.crt is accepted", false, server(ca.certPEM, srv), ""},
		{"with -tls a docker.crt not signed by ca.crt is refused", false,
			server(ca.certPEM, srvOfOther), "signed by unknown authority"},
		{"with -tls a self-signed docker.crt beside an unrelated ca.crt is its own anchor", false,
			server(other.certPEM, selfServer), ""},
		{"with -tls and no ca.crt the top of docker.crt's chain is the anchor", false,
			server(nil, chained, renewed), ""},
		{"with -tls and no ca.crt a CA-signed leaf alone is its own anchor", false, server(nil, srv), ""},
		{"with -tls a chain under a ca.crt limited to clientAuth is refused", false,
			server(clientOnlyCA.certPEM, srvOfClientOnly), "incompatible key usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			before := snapshot(t, dir)
			res, err := ensureAt(t, dir, c.verify, testHosts, now)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				if len(res.Generated) != 0 {
					t.Errorf("generated %v", res.Generated)
				}
				unchanged(t, dir, before)
				return
			}
			want := filepath.Join(dir, serverCertFile) + ": "
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error = %v, want a usage error naming %q saying %q", err, want, c.reason)
			}
			unchanged(t, dir, before)
		})
	}
}

// TestCAThatCannotIssue: a CA brought with its key whose certificates
// clients or the engine would refuse is refused, naming ca.crt and the
// verifier's reason, before anything is written (not even the lock).
func TestCAThatCannotIssue(t *testing.T) {
	tmpl := func(edit func(*x509.Certificate)) *raw {
		c := caTmpl("user CA")
		edit(c)
		return mintRaw(t, c, nil, nil)
	}
	noCertSign := tmpl(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature })
	serverOnly := tmpl(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	clientOnly := tmpl(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} })
	both := tmpl(func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	})
	notCA := tmpl(func(c *x509.Certificate) { c.IsCA = false })
	noConstraints := tmpl(func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = false, false })
	cases := []struct {
		name   string
		verify bool
		ca     *raw
		reason string // "" when it issues
	}{
		{"a CA whose key usage lacks certSign is refused", true, noCertSign,
			"cannot issue a docker.crt clients accept: x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\""},
		{"a CA limited to serverAuth cannot issue client certificates with -tlsverify", true, serverOnly,
			"cannot issue a docker-client.crt the engine accepts: x509: certificate specifies an incompatible key usage"},
		{"a CA limited to serverAuth issues the server pair with -tls", false, serverOnly, ""},
		{"a CA limited to clientAuth cannot issue docker.crt with -tls", false, clientOnly,
			"cannot issue a docker.crt clients accept: x509: certificate specifies an incompatible key usage"},
		{"a CA for serverAuth and clientAuth issues both pairs", true, both, ""},
		{"a certificate that is not a CA is refused", true, notCA, "parent certificate cannot sign this kind of certificate"},
		{"a certificate without basic constraints is refused", false, noConstraints, "parent certificate cannot sign this kind of certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{caCertFile: c.ca.certPEM, caKeyFile: c.ca.keyPEM})
			before := snapshot(t, dir)
			res, err := ensure(context.Background(), request{Dir: dir, Verify: c.verify, Hosts: testHosts})
			if c.reason == "" {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
					t.Error(err)
				}
				if c.verify && len(res.Generated) != 4 {
					t.Errorf("generated %v, want both pairs", res.Generated)
				}
				return
			}
			want := filepath.Join(dir, caCertFile) + ": "
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error = %v, want a usage error naming %q saying %q", err, want, c.reason)
			}
			unchanged(t, dir, before)
		})
	}
}

// TestIssuedCertificatesAreVerified: what dinv issues verifies for its use
// against ca.crt, and docker.crt for each host, before it is written; so a
// host no certificate can match is an error and nothing is written.
func TestIssuedCertificatesAreVerified(t *testing.T) {
	dir := t.TempDir()
	_, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: append(serverHosts(nil, "dinvhost", nil), ".")})
	if err == nil || !strings.Contains(err.Error(), "new server certificate for .: x509: certificate is valid for") {
		t.Fatalf("error = %v, want one naming the host the new docker.crt does not cover", err)
	}
	if n := names(snapshot(t, dir)); len(n) != 0 {
		t.Errorf("entries appeared: %v", n)
	}
}

// TestKeptClientCertificate: a docker-client.crt the engine would refuse is
// reported (the stage warns), not refused: the engine does not use it.
func TestKeptClientCertificate(t *testing.T) {
	now := time.Now()
	gen := func(t *testing.T) (string, *testCA) {
		dir := t.TempDir()
		mustEnsure(t, dir, true, testHosts, now)
		caPEM, _ := os.ReadFile(filepath.Join(dir, caCertFile))
		keyPEM, _ := os.ReadFile(filepath.Join(dir, caKeyFile))
		ca, err := loadTestCA(caPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return dir, ca
	}
	cases := []struct {
		name   string
		client func(t *testing.T, ca *testCA) (crt, key []byte)
		reason string
	}{
		{"dinv's own client certificate is accepted", nil, ""},
		{"an expired client certificate of the CA is reported", func(t *testing.T, ca *testCA) ([]byte, []byte) {
			crt, key, err := ca.issueClient(mintOptions{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			return crt, key
		}, "docker-client.crt: not accepted by the engine: x509: certificate has expired"},
		{"a server certificate as docker-client.crt is reported", func(t *testing.T, ca *testCA) ([]byte, []byte) {
			crt, key, err := ca.issueServer(testHosts, mintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return crt, key
		}, "incompatible key usage"},
		{"another CA's client certificate is reported", func(t *testing.T, _ *testCA) ([]byte, []byte) {
			other, _ := newTestCA(mintOptions{})
			crt, key, err := other.issueClient(mintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return crt, key
		}, "signed by unknown authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, ca := gen(t)
			if c.client != nil {
				crt, key := c.client(t, ca)
				writeFiles(t, dir, map[string][]byte{clientCertFile: crt, clientKeyFile: key})
			}
			before := snapshot(t, dir)
			res := mustEnsure(t, dir, true, testHosts, now)
			unchanged(t, dir, before)
			if (c.reason == "") != (res.ClientRefused == "") || !strings.Contains(res.ClientRefused, c.reason) {
				t.Errorf("ClientRefused = %q, want %q", res.ClientRefused, c.reason)
			}
		})
	}
}

// TestCACertificateThatIsTheServerCertificate: with -tlsverify, a
// self-signed docker.crt given as ca.crt too is accepted, as clients accept
// it; as it cannot sign client certificates, that is reported.
func TestCACertificateThatIsTheServerCertificate(t *testing.T) {
	dir := t.TempDir()
	s := mintRaw(t, leafTmpl("server", x509.ExtKeyUsageServerAuth), nil, nil)
	writeFiles(t, dir, map[string][]byte{caCertFile: s.certPEM, serverCertFile: s.certPEM, serverKeyFile: s.keyPEM})
	res := mustEnsure(t, dir, true, testHosts, time.Now())
	if !strings.Contains(res.ClientRefused, filepath.Join(dir, caCertFile)+": no certificate in it can sign") {
		t.Errorf("ClientRefused = %q, want it to say ca.crt can sign no client certificate", res.ClientRefused)
	}
	if !bytes.Equal(s.certPEM, mustRead(t, filepath.Join(dir, serverCertFile))) {
		t.Error("docker.crt changed")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// p224 issues a certificate of role r, valid now (as newTestCA's CA), on an
// ECDSA P-224 key: x509 parses
// and verifies it, Go's TLS offers no signature scheme for it.
func p224(t *testing.T, r role, hosts []string, parent *pair) *pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := issuer{now: time.Now(), rand: rand.Reader}.issueFor(r, hosts, parent, key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHandshakeRefusesWhatTLSCannotUse: a server pair the verifier accepts
// but no TLS handshake completes with (a P-224 key) is refused, a usage
// error naming the server's files and giving the handshake's reason,
// nothing written, in every mode and layout; a client pair kept beside a
// good server that no handshake completes with is reported as refused, as
// one the verifier refuses is, and the start goes on.
func TestHandshakeRefusesWhatTLSCannotUse(t *testing.T) {
	ca, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	badSrv := p224(t, roleServer, testHosts, ca.p)
	badSelf := p224(t, roleSelfSignedServer, testHosts, nil)
	badClient := p224(t, roleClient, nil, ca.p)
	goodSrv, goodKey, err := ca.issueServer(testHosts, mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	goodCl, goodClKey, err := ca.issueClient(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const reason = "no Docker client completes a TLS handshake with the engine serving them"
	cases := []struct {
		name    string
		layout  string
		verify  bool
		files   map[string][]byte
		refused string // the file ClientRefused names; "" when the set is refused
	}{
		{"-tlsverify, flat: the user's server pair on P-224", layoutFlat, true, map[string][]byte{
			caCertFile: ca.CertPEM, serverCertFile: badSrv.certPEM, serverKeyFile: badSrv.keyPEM}, ""},
		{"-tlsverify, flat: the same with the user's good client pair", layoutFlat, true, map[string][]byte{
			caCertFile: ca.CertPEM, serverCertFile: badSrv.certPEM, serverKeyFile: badSrv.keyPEM,
			clientCertFile: goodCl, clientKeyFile: goodClKey}, ""},
		{"-tlsverify, flat: dinv's CA and a server pair of it on P-224", layoutFlat, true, map[string][]byte{
			caCertFile: ca.CertPEM, caKeyFile: ca.KeyPEM, serverCertFile: badSrv.certPEM, serverKeyFile: badSrv.keyPEM}, ""},
		{"-tls: the user's self-signed server pair on P-224", layoutFlat, false, map[string][]byte{
			serverCertFile: badSelf.certPEM, serverKeyFile: badSelf.keyPEM}, ""},
		{"-tlsverify, dind: the user's server/ on P-224", layoutDind, true, map[string][]byte{
			dindServerCAFile: ca.CertPEM, dindServerCertFile: badSrv.certPEM, dindServerKeyFile: badSrv.keyPEM}, ""},
		{"-tlsverify, flat: a client pair on P-224 beside a good server is reported, not refused", layoutFlat, true, map[string][]byte{
			caCertFile: ca.CertPEM, serverCertFile: goodSrv, serverKeyFile: goodKey,
			clientCertFile: badClient.certPEM, clientKeyFile: badClient.keyPEM}, clientCertFile},
		{"-tlsverify, dind: the same in client/", layoutDind, true, map[string][]byte{
			dindServerCAFile: ca.CertPEM, dindServerCertFile: goodSrv, dindServerKeyFile: goodKey, dindClientCAFile: ca.CertPEM,
			dindClientCertFile: badClient.certPEM, dindClientKeyFile: badClient.keyPEM}, dindClientCertFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, c.files)
			before := snapshotTree(t, dir)
			res, err := ensure(context.Background(), request{Dir: dir, Layout: c.layout, Verify: c.verify, Hosts: testHosts})
			unchangedTree(t, dir, before)
			lay, _ := layoutNamed(c.layout)
			if c.refused != "" {
				want := filepath.Join(dir, c.refused) + ": no TLS handshake with the engine completes with it: "
				if err != nil || !strings.HasPrefix(res.ClientRefused, want) {
					t.Fatalf("Ensure: %v; client refused %q, want it to start with %q", err, res.ClientRefused, want)
				}
				return
			}
			want := filepath.Join(dir, lay.serverCert) + ", " + filepath.Join(dir, lay.serverKey) + ": " + reason + ": "
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), want) ||
				!strings.HasSuffix(err.Error(), "the engine refused: tls: unsupported certificate curve (P-224)") {
				t.Fatalf("error = %v, want a usage error saying %q and the handshake's reason", err, want)
			}
		})
	}
}

// TestGeneratedSetsCompleteAHandshake: every set dinv generates completes
// the handshake, mutual under -tlsverify, with each key type and layout;
// and the check is not one that always passes: a client of another CA, a
// name the certificate lacks, a client trusting another CA, are refused
// with the refusing side's reason.
func TestGeneratedSetsCompleteAHandshake(t *testing.T) {
	for _, layout := range []string{layoutFlat, layoutDind} {
		for _, key := range []string{"ecdsa", "rsa"} {
			for _, verify := range []bool{true, false} {
				spec, _ := parseKeyType(key)
				res, err := ensure(context.Background(), request{Dir: t.TempDir(), Layout: layout, Verify: verify, Key: spec,
					Hosts: testHosts, Now: clock(t0)})
				if err != nil || res.ClientRefused != "" {
					t.Errorf("%s %s verify=%v: %v %q", layout, key, verify, err, res.ClientRefused)
				}
			}
		}
	}
	dir, now := t.TempDir(), time.Now() // the other CA is valid from now
	if _, err := ensureAt(t, dir, true, testHosts, now); err != nil {
		t.Fatal(err)
	}
	read := func(c, k string) *pair {
		p, _, err := loadPair(dir, c, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	srv, cl := read(serverCertFile, serverKeyFile), read(clientCertFile, clientKeyFile)
	cas, _, err := loadCerts(filepath.Join(dir, caCertFile))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newTestCA(mintOptions{})
	if err := handshake(srv, cas, cas, cl, "localhost", now); err != nil {
		t.Errorf("the generated set: %v", err)
	}
	for _, c := range []struct {
		name   string
		client *pair
		host   string
		roots  []*x509.Certificate
		want   string
	}{
		{"a client of another CA", other.p, "localhost", nil, "the engine refused: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"a name the certificate lacks", cl, "elsewhere.example", nil, "the client refused: tls: failed to verify certificate: x509: certificate is valid for"},
		{"a client trusting another CA", cl, "localhost", []*x509.Certificate{other.p.cert}, "the client refused: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
	} {
		roots := cas
		if c.roots != nil {
			roots = c.roots
		}
		if err := handshake(srv, roots, cas, c.client, c.host, now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

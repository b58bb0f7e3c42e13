package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// usersSelfSigned writes a self-signed server pair of someone else's making,
// valid from t0 for the usual leaf lifetime.
func usersSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{Organization: []string{"ACME"}, CommonName: "DinV server"},
		NotBefore: t0, NotAfter: t0.AddDate(0, 0, leafDays), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "dinvhost", "docker"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{
		serverCertFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		serverKeyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	})
}

func TestSelfSignedTLSCertificateIsRenewedOnlyWhenDinvMadeItAndItNearsExpiry(t *testing.T) {
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	expiry := t0.AddDate(0, 0, leafDays)
	for _, tc := range []struct {
		name      string
		users     bool
		hosts     []string
		now       time.Time
		reissued  bool
		uncovered []string
		expiring  bool
	}{
		{"dinv's own, 29 days left: renewed with the same key", false, testHosts, expiry.Add(-29 * 24 * time.Hour), true, nil, false},
		{"dinv's own, expired: renewed instead of refused", false, testHosts, expiry.Add(time.Hour), true, nil, false},
		{"dinv's own, 31 days left: kept", false, testHosts, expiry.Add(-31 * 24 * time.Hour), false, nil, false},
		{"dinv's own, a new address: kept (its clients trust this very certificate), the address reported", false, moved, t0, false, []string{"10.9.9.9"}, false},
		{"a user's own, 10 days left: kept and reported", true, testHosts, expiry.Add(-10 * 24 * time.Hour), false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.users {
				usersSelfSigned(t, dir)
			} else {
				mustEnsure(t, dir, false, testHosts, t0)
			}
			before := snapshot(t, dir)
			res := mustEnsure(t, dir, false, tc.hosts, tc.now)
			after := snapshot(t, dir)
			if got := res.Reissued != ""; got != tc.reissued {
				t.Errorf("Reissued = %q, want a renewal: %v", res.Reissued, tc.reissued)
			}
			if before[serverKeyFile] != after[serverKeyFile] {
				t.Error("docker.key changed")
			}
			if changed := before[serverCertFile] != after[serverCertFile]; changed != tc.reissued {
				t.Errorf("docker.crt changed = %v, want %v", changed, tc.reissued)
			}
			if !sameStrings(res.Uncovered, tc.uncovered) || res.Expiring != tc.expiring {
				t.Errorf("Uncovered %v Expiring %v, want %v %v", res.Uncovered, res.Expiring, tc.uncovered, tc.expiring)
			}
			if _, err := os.Stat(filepath.Join(dir, caCertFile)); err == nil {
				t.Error("a CA appeared in -tls mode")
			}
			if !tc.reissued {
				return
			}
			srv := readCert(t, filepath.Join(dir, serverCertFile))
			if !ownSelfSigned(srv) || srv.NotAfter.Sub(tc.now) < renewBefore || len(uncovered(srv, tc.hosts)) != 0 {
				t.Errorf("renewed docker.crt: self-signed by dinv %v, valid until %v, uncovered %v",
					ownSelfSigned(srv), srv.NotAfter, uncovered(srv, tc.hosts))
			}
		})
	}
}

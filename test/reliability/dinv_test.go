//go:build reliability

package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// startDinV runs a DinV container of img on network with the probed
// privileges, more docker run options and dinv's args.
func startDinV(t *testing.T, img, network string, run []string, args ...string) *harness.DinV {
	t.Helper()
	return harness.Start(t, harness.Options{Image: img, Run: append([]string{"--network", network}, run...), Args: args})
}

// addr is the container's address on network with port.
func addr(t *testing.T, d *harness.DinV, network, port string) string {
	t.Helper()
	ip := d.IP(t, network)
	if ip == "" {
		t.Fatalf("%s has no address on %s", d.Name, network)
	}
	return ip + ":" + port
}

// copyCerts copies /certs of d (running or stopped) into a new directory.
func copyCerts(t *testing.T, d *harness.DinV) string {
	t.Helper()
	dir := t.TempDir()
	harness.Client{}.Run(t, "cp", d.Name+":/certs/.", dir)
	return dir
}

// waitExit waits for the container to stop and returns its exit code.
func waitExit(t *testing.T, name string, timeout time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := harness.Client{}.Exec(ctx, nil, "wait", name)
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("%s did not stop within %s: %v %v", name, timeout, err, r)
	}
	return atoi(t, r.Stdout)
}

// peerCert does a TLS handshake with addr (trusting nothing: the chain is
// checked by the caller) and returns the server's certificate.
func peerCert(t *testing.T, address string, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c := cfg.Clone()
	c.InsecureSkipVerify = true
	conn, err := tls.Dial("tcp", address, c)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", address, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// parseCert parses a PEM certificate file's first certificate.
func parseCert(t testing.TB, pemBytes []byte) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(pemDER(t, pemBytes))
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

// chainsTo reports whether cert verifies against ca (for serverAuth).
func chainsTo(cert *x509.Certificate, caPEM []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

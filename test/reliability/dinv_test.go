//go:build reliability

package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
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

// clientCerts copies the generated ca.crt, docker-client.crt and
// docker-client.key out of d, as the docker CLI names them (ca.pem, cert.pem,
// key.pem), waiting until dinv has written them.
func clientCerts(t *testing.T, d *harness.DinV) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"ca.crt": "ca.pem", "docker-client.crt": "cert.pem", "docker-client.key": "key.pem"}
	deadline := time.Now().Add(harness.ReadyTimeout)
	for {
		ok := true
		for src, dst := range files {
			r := harness.Client{}.Try(t, "cp", d.Name+":/certs/"+src, filepath.Join(dir, dst))
			ok = ok && r.ExitCode == 0
		}
		if ok {
			return dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no client certificates in /certs after %s", d.Name, harness.ReadyTimeout)
		}
		if s := d.Inspect(t, "{{.State.Status}}"); s != "running" {
			t.Fatalf("%s stopped (%s) before writing the client certificates", d.Name, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readFile reads a file, failing the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("not a PEM certificate: %q", firstLine(string(pemBytes)))
	}
	certs, err := x509.ParseCertificates(pemDER(t, pemBytes))
	if err != nil || len(certs) == 0 {
		t.Fatalf("parse certificate: %v", err)
	}
	return certs[0]
}

// chainsTo reports whether cert verifies against ca (for serverAuth).
func chainsTo(cert *x509.Certificate, caPEM []byte) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

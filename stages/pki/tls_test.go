package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
)

// TestHandshake serves TLS with a generated -tlsverify set the way the
// engine does (client certificates required, verified against the engine's
// CA file) and connects with the client bundle Ensure reports, a foreign
// CA's client and none, in both layouts.
func TestHandshake(t *testing.T) {
	for _, layout := range []string{layoutFlat, layoutDind} {
		t.Run(layout, func(t *testing.T) { serveAndConnect(t, layout) })
	}
}

func serveAndConnect(t *testing.T, layout string) {
	dir := t.TempDir()
	res, err := ensure(context.Background(), request{Dir: dir, Layout: layout, Verify: true, Hosts: testHosts})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Files
	srvCert, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := func(path string) *x509.CertPool {
		data, _ := os.ReadFile(path)
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM(data) {
			t.Fatalf("%s: no certificate", path)
		}
		return p
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert}, ClientCAs: pool(f.CACert),
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Write([]byte("ok")); c.Close() }()
		}
	}()

	good, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := newTestCA(mintOptions{})
	fc, fk, _ := foreign.issueClient(mintOptions{})
	bad, err := tls.X509KeyPair(fc, fk)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		certs []tls.Certificate
		host  string
		ok    bool
	}{
		{"the generated client connects by IP", []tls.Certificate{good}, "127.0.0.1", true},
		{"the generated client connects by name", []tls.Certificate{good}, "localhost", true},
		{"the generated client connects by the name docker", []tls.Certificate{good}, "docker", true},
		{"a foreign CA's client is refused", []tls.Certificate{bad}, "127.0.0.1", false},
		{"a client without a certificate is refused", nil, "127.0.0.1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{
				RootCAs: pool(f.ClientCA), Certificates: c.certs, ServerName: c.host,
			})
			ok := false
			if err == nil {
				buf := make([]byte, 2)
				_, err = conn.Read(buf) // TLS 1.3 reports a refused client certificate here
				ok = err == nil && string(buf) == "ok"
				conn.Close()
			}
			if ok != c.ok {
				t.Errorf("connected = %v (%v), want %v", ok, err, c.ok)
			}
		})
	}
}

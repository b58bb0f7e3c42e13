package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestHandshake serves TLS with a generated -tlsverify set the way the
// engine does (client certificates required, verified against ca.crt) and
// connects with the generated client, a foreign CA's client and none.
func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(context.Background(), Request{Dir: dir, Verify: true, Hosts: testHosts}); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	srvCert, err := tls.LoadX509KeyPair(p(ServerCertFile), p(ServerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(p(CACertFile))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srvCert}, ClientCAs: pool,
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

	good, err := tls.LoadX509KeyPair(p(ClientCertFile), p(ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := NewCA(Options{})
	fc, fk, _ := foreign.IssueClient(Options{})
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
		{"a foreign CA's client is refused", []tls.Certificate{bad}, "127.0.0.1", false},
		{"a client without a certificate is refused", nil, "127.0.0.1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{
				RootCAs: pool, Certificates: c.certs, ServerName: c.host,
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

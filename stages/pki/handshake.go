package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// dockerCipherSuites are the TLS 1.2 cipher suites both dockerd and the
// docker CLI allow (github.com/docker/go-connections/tlsconfig's
// ServerDefault and ClientDefault, with TLS 1.2 as their minimum version;
// the curves are Go's defaults, TLS 1.3's suites are Go's own).
var dockerCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// handshakeTimeout bounds an in-memory handshake: both ends are in this
// process, so it only guards against a stuck one.
const handshakeTimeout = 10 * time.Second

// handshake does, in memory, the TLS handshake of a Docker client with the
// engine, each side configured as the real one is (go-connections'
// tlsconfig: TLS 1.2 at least, Docker's cipher suites, Go's curves):
//
//   - the engine serves srv (its certificate file whole: the chain), and,
//     given a client pair, requires a client certificate and verifies it
//     against engineCAs, as dockerd does under --tlsverify;
//   - the client trusts roots alone (as the CLI with DOCKER_CERT_PATH), offers
//     client when given, and checks the server's name: name, or no name when
//     name is "" (the chain is still verified).
//
// Both sides check certificates at now. The error is the handshake's: the
// side that refused first, in its words (not the alert the other received).
func handshake(srv *pair, roots, engineCAs []*x509.Certificate, client *pair, name string, now time.Time) error {
	srvCert, err := tls.X509KeyPair(srv.certPEM, srv.keyPEM)
	if err != nil {
		return errors.Wrap(err, "the engine cannot load the server pair")
	}
	clock := func() time.Time { return now }
	server := &tls.Config{
		MinVersion: tls.VersionTLS12, CipherSuites: dockerCipherSuites, Time: clock,
		Certificates: []tls.Certificate{srvCert},
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12, CipherSuites: dockerCipherSuites, Time: clock,
		RootCAs: pool(roots), ServerName: name,
	}
	if client != nil {
		server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, pool(engineCAs)
		cl, err := tls.X509KeyPair(client.certPEM, client.keyPEM)
		if err != nil {
			return errors.Wrap(err, "the client cannot load the client pair")
		}
		cfg.Certificates = []tls.Certificate{cl}
	}
	if name == "" {
		// No name to connect by: the chain alone is verified, as a client
		// connecting by a name the certificate holds would verify it.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: inter, CurrentTime: now})
			return err
		}
	}
	a, b := net.Pipe()
	deadline := time.Now().Add(handshakeTimeout)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	srvErr := make(chan error, 1)
	go func() {
		c := tls.Server(a, server)
		err := c.Handshake()
		if err == nil {
			_, err = c.Write([]byte{1}) // the client reads it: under TLS 1.3, a refused client certificate shows there
		}
		a.Close()
		srvErr <- err
	}()
	c := tls.Client(b, cfg)
	cliErr := c.Handshake()
	if cliErr == nil {
		_, cliErr = c.Read(make([]byte, 1))
	}
	b.Close()
	sErr := <-srvErr
	switch {
	case cliErr != nil && !remote(cliErr):
		return errors.Wrap(cliErr, "the client refused")
	case sErr != nil && !remote(sErr):
		return errors.Wrap(sErr, "the engine refused")
	case cliErr != nil:
		return cliErr
	}
	return sErr
}

// remote reports whether err is an alert the other side sent: the reason
// is that side's.
func remote(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// serverName is the name a client connects by in the handshake check: the
// first of hosts the certificate covers, else the first name or address it
// holds, else "" (none: the chain alone is checked).
func serverName(c *x509.Certificate, hosts []string) string {
	for _, h := range hosts {
		if c.VerifyHostname(h) == nil {
			return h
		}
	}
	switch {
	case len(c.DNSNames) > 0 && strings.HasPrefix(c.DNSNames[0], "*."):
		return "dinv" + c.DNSNames[0][1:] // a name the wildcard covers
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	}
	return ""
}

// checkHandshake is the last check of a set: what the verifier accepted
// must also complete a TLS handshake, as a Docker client connecting by one
// of the server certificate's names does with the engine (handshake). When
// it does not, the set is refused with the handshake's reason, naming the
// server's files; unless only the client pair kept in the directory is at
// fault (the server half completes without it): then, as for a client
// certificate the verifier refuses, it is reported in Result.ClientRefused
// (the engine does not use that file).
func (d *decision) checkHandshake(hosts []string, now time.Time) error {
	if d.srv == nil {
		return nil
	}
	name := serverName(d.srv.cert, hosts)
	err := handshake(d.srv, d.srvRoots, d.engine.certs, d.client, name, now)
	if err == nil {
		return nil
	}
	lay := d.lay
	if d.client != nil && handshake(d.srv, d.srvRoots, nil, nil, name, now) == nil {
		if d.clientMinted {
			return core.Usagef("%s: no TLS handshake with the engine completes with the client certificate dinv issued from it: %v",
				d.path(d.engine.name), err)
		}
		d.result.ClientRefused = d.path(lay.clientCert) + ": no TLS handshake with the engine completes with it: " + err.Error()
		return nil
	}
	return core.Usagef("%s, %s: no Docker client completes a TLS handshake with the engine serving them: %v",
		d.path(lay.serverCert), d.path(lay.serverKey), err)
}

package pki

import (
	"crypto"
	"crypto/x509"
	"os"
	"time"

	"github.com/pkg/errors"
)

// file is a newFile of the layout: its subdirectory is created with the
// layout's mode when missing.
func (d *decision) file(name string, data []byte, perm os.FileMode) newFile {
	return newFile{name: name, data: data, perm: perm, dirPerm: d.lay.dirPerm(name)}
}

// mint generates what the decision calls for, in write order (the CA
// first, then the server's files, then the client's), into d.files. Each
// leaf is verified as its peers will verify it before anything is written.
func (d *decision) mint(is issuer, hosts []string) error {
	lay := d.lay
	var files []newFile
	add := func(certName, keyName string, p *pair) {
		perm := os.FileMode(0o600)
		if keyName == lay.clientKey {
			perm = lay.clientKeyPerm
		}
		files = append(files, d.file(keyName, p.keyPEM, perm), d.file(certName, p.certPEM, 0o644))
	}
	if d.plan.newCA {
		ca, err := is.issue(roleCA, nil, nil)
		if err != nil {
			return errors.Wrap(err, "generate CA")
		}
		d.ca = ca
		d.engine = anchor{lay.caCert, []*x509.Certificate{ca.cert}}
		d.trust = d.engine
		add(lay.caCert, lay.caKey, ca)
	}
	if d.plan.copyServerCA {
		files = append(files, d.file(lay.serverCA, d.ca.certPEM, 0o644))
	}
	if d.plan.server != serverKeep || d.reason != "" {
		var srv *pair
		var err error
		switch {
		case d.plan.server == serverSelfSigned:
			srv, err = is.issue(roleSelfSignedServer, hosts, nil)
		case d.reason != "" && d.old != nil:
			srv, err = d.reissue(is, hosts)
		default:
			srv, err = is.issue(roleServer, hosts, d.ca)
		}
		if err != nil {
			return errors.Wrap(err, "generate server certificate")
		}
		if err := d.checkIssuedServer(srv, hosts, is.now); err != nil {
			return err
		}
		d.srv = srv
		if d.old != nil && srv.key == d.old.key {
			files = append(files, d.file(lay.serverCert, srv.certPEM, 0o644))
		} else {
			add(lay.serverCert, lay.serverKey, srv)
		}
	}
	if d.plan.copyClientCA {
		files = append(files, d.file(lay.clientCA, d.ca.certPEM, 0o644))
	}
	if d.plan.newClient {
		cl, err := is.issue(roleClient, nil, d.ca)
		if err != nil {
			return errors.Wrap(err, "generate client certificate")
		}
		if err := accepted(cl.cert, nil, d.engine.certs, x509.ExtKeyUsageClientAuth, is.now); err != nil {
			return badFile(d.path(d.engine.name), "cannot issue a %s the engine accepts: %v", lay.clientCert, err)
		}
		add(lay.clientCert, lay.clientKey, cl)
		d.client, d.clientMinted = cl, true
	}
	d.files = files
	return d.checkHandshake(hosts, is.now)
}

// checkIssuedServer verifies a server certificate dinv made as clients will:
// trusting the CA file they are given (itself when self-signed), for every
// host it must cover. A CA brought with its key that cannot issue one (not
// a CA, a key usage without certSign, an extended key usage without
// serverAuth), or a client/ca.pem that does not hold it, is refused here,
// naming that file, before anything is written.
func (d *decision) checkIssuedServer(srv *pair, hosts []string, now time.Time) error {
	roots := []*x509.Certificate{srv.cert}
	if d.ca != nil {
		roots = d.trust.certs
	}
	d.srvRoots = roots
	if err := accepted(srv.cert, nil, roots, x509.ExtKeyUsageServerAuth, now); err != nil {
		if d.ca != nil {
			return badFile(d.path(d.trust.name), "cannot issue a %s clients accept: %v", d.lay.serverCert, err)
		}
		return errors.Wrap(err, "check the self-signed server certificate")
	}
	for _, h := range hosts {
		if err := srv.cert.VerifyHostname(h); err != nil {
			return errors.Wrapf(err, "check the new server certificate for %s", h)
		}
	}
	return nil
}

// reissue re-issues the server certificate (docker.crt, server/cert.pem)
// from dinv's CA.
//
// Several DinV hosts may share one certificate directory (a /certs volume),
// each re-issuing the one server certificate when it misses its own
// addresses. The new certificate covers what the current one covers as well
// as hosts, so a host re-issuing it never drops another host's addresses
// (each re-issue is decided under the lock on the certificate the previous
// one wrote).
//
// It keeps the server key when that is a key of the configured kind: then
// only the certificate changes, in a single rename, and an engine reading
// the two files while another host re-issues them never gets a certificate
// with the key of another. A key of another kind (-key-type changed, or an
// RSA key docker:dind made) is replaced.
func (d *decision) reissue(is issuer, hosts []string) (*pair, error) {
	var key crypto.Signer
	if is.fits(d.old.key) {
		key = d.old.key
	}
	role := roleServer
	if d.ca == nil { // dinv's own self-signed certificate
		role = roleSelfSignedServer
	}
	return is.issueFor(role, withCovered(d.old.cert, hosts), d.ca, key)
}

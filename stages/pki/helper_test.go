package pki

import (
	"crypto/rand"
	"time"

	"github.com/pkg/errors"
)

// mintOptions tune the certificates newTestCA and the test CA's issue
// methods mint for the package's tests. The zero value mints what dinv itself
// generates: ECDSA P-256, valid from an hour ago for 10 years (CA) or 825
// days (leaves).
type mintOptions struct {
	KeyType   string    // as -key-type; "" is ecdsa
	RSABits   int       // when set: an RSA key of exactly this size (even a weak one)
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: the usual lifetime from now
}

func (o mintOptions) issuer() (issuer, error) {
	spec, err := parseKeyType(o.KeyType)
	if err != nil {
		return issuer{}, err
	}
	if o.RSABits != 0 {
		spec = keySpec{RSA: true, Bits: o.RSABits}
	}
	return issuer{spec: spec, now: time.Now(), rand: rand.Reader}, nil
}

func (o mintOptions) mint(r role, hosts []string, parent *pair) (*pair, error) {
	is, err := o.issuer()
	if err != nil {
		return nil, err
	}
	if o.NotBefore.IsZero() && o.NotAfter.IsZero() {
		return is.issue(r, hosts, parent)
	}
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = is.now.Add(-backdate)
	}
	if na.IsZero() {
		na = nb.AddDate(0, 0, leafDays)
	}
	return is.issueBetween(r, hosts, parent, nil, nb, na)
}

// testCA is a certificate authority minted by newTestCA or read by
// loadTestCA: a second, foreign CA, or dinv's own to issue more clients from.
type testCA struct {
	CertPEM, KeyPEM []byte
	p               *pair
}

// newTestCA mints a CA certificate and key.
func newTestCA(o mintOptions) (*testCA, error) {
	p, err := o.mint(roleCA, nil, nil)
	if err != nil {
		return nil, err
	}
	return &testCA{CertPEM: p.certPEM, KeyPEM: p.keyPEM, p: p}, nil
}

// loadTestCA reads a CA from its PEM certificate and key (ca.crt, ca-key.pem).
func loadTestCA(certPEM, keyPEM []byte) (*testCA, error) {
	cert, _, err := parseCertPEM("CA certificate", certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM("CA key", keyPEM)
	if err != nil {
		return nil, err
	}
	if err := checkMatch("CA key", "CA certificate", key, cert); err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("load CA: not a CA certificate")
	}
	return &testCA{CertPEM: certPEM, KeyPEM: keyPEM, p: &pair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}}, nil
}

// issueServer mints a server certificate (serverAuth) for hosts, IPs and
// DNS names, signed by ca. It returns PEM certificate and key.
func (ca *testCA) issueServer(hosts []string, o mintOptions) (certPEM, keyPEM []byte, err error) {
	p, err := o.mint(roleServer, hosts, ca.p)
	if err != nil {
		return nil, nil, err
	}
	return p.certPEM, p.keyPEM, nil
}

// issueClient mints a client certificate (clientAuth) signed by ca.
func (ca *testCA) issueClient(o mintOptions) (certPEM, keyPEM []byte, err error) {
	p, err := o.mint(roleClient, nil, ca.p)
	if err != nil {
		return nil, nil, err
	}
	return p.certPEM, p.keyPEM, nil
}

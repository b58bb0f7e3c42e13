package pki

import (
	"crypto/rand"
	"time"

	"github.com/pkg/errors"
)

// Options tune the certificates NewCA, SelfSignedServer and the CA's Issue
// methods mint for tests and tools. The zero value mints what dinv itself
// generates: ECDSA P-256, valid from an hour ago for 10 years (CA) or 825
// days (leaves).
type Options struct {
	KeyType   string    // as -key-type; "" is ecdsa
	RSABits   int       // when set: an RSA key of exactly this size (even a weak one)
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: the usual lifetime from now
}

func (o Options) issuer() (issuer, error) {
	spec, err := ParseKeyType(o.KeyType)
	if err != nil {
		return issuer{}, err
	}
	if o.RSABits != 0 {
		spec = KeySpec{RSA: true, Bits: o.RSABits}
	}
	return issuer{spec: spec, now: time.Now(), rand: rand.Reader}, nil
}

func (o Options) mint(r role, hosts []string, parent *pair) (*pair, error) {
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
		na = nb.AddDate(0, 0, LeafDays)
	}
	return is.issueBetween(r, hosts, parent, nil, nb, na)
}

// CA is a certificate authority minted by NewCA or read by LoadCA: a second,
// foreign CA for tests, or dinv's own to issue more clients from.
type CA struct {
	CertPEM, KeyPEM []byte
	p               *pair
}

// NewCA mints a CA certificate and key.
func NewCA(o Options) (*CA, error) {
	p, err := o.mint(roleCA, nil, nil)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: p.certPEM, KeyPEM: p.keyPEM, p: p}, nil
}

// LoadCA reads a CA from its PEM certificate and key (ca.crt, ca-key.pem).
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
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
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, p: &pair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}}, nil
}

// IssueServer mints a server certificate (serverAuth) for hosts, IPs and
// DNS names, signed by ca. It returns PEM certificate and key.
func (ca *CA) IssueServer(hosts []string, o Options) (certPEM, keyPEM []byte, err error) {
	p, err := o.mint(roleServer, hosts, ca.p)
	if err != nil {
		return nil, nil, err
	}
	return p.certPEM, p.keyPEM, nil
}

// IssueClient mints a client certificate (clientAuth) signed by ca.
func (ca *CA) IssueClient(o Options) (certPEM, keyPEM []byte, err error) {
	p, err := o.mint(roleClient, nil, ca.p)
	if err != nil {
		return nil, nil, err
	}
	return p.certPEM, p.keyPEM, nil
}

// SelfSignedServer mints a self-signed server certificate for hosts, as
// dinv does for -tls in an empty directory.
func SelfSignedServer(hosts []string, o Options) (certPEM, keyPEM []byte, err error) {
	p, err := o.mint(roleSelfSignedServer, hosts, nil)
	if err != nil {
		return nil, nil, err
	}
	return p.certPEM, p.keyPEM, nil
}

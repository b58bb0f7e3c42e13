package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// Lifetimes of generated certificates, and when a server certificate dinv
// can re-issue is renewed.
const (
	caYears        = 10
	leafDays       = 825
	renewBefore    = 30 * 24 * time.Hour
	backdate       = time.Hour // NotBefore margin for clocks a little behind
	minRSABits     = 2048
	defaultRSABits = 2048
)

// keySpec is the kind of key generated: ECDSA P-256, or RSA of Bits bits.
type keySpec struct {
	RSA  bool
	Bits int
}

func (k keySpec) String() string {
	if k.RSA {
		return "rsa" + strconv.Itoa(k.Bits)
	}
	return "ecdsa-p256"
}

// parseKeyType reads -key-type: "ecdsa" (or "", the default), "rsa" (2048
// bits), "rsa2048" or "rsa3072".
func parseKeyType(s string) (keySpec, error) {
	switch strings.ToLower(s) {
	case "", "ecdsa", "ecdsa-p256", "p256":
		return keySpec{}, nil
	case "rsa", "rsa2048":
		return keySpec{RSA: true, Bits: 2048}, nil
	case "rsa3072":
		return keySpec{RSA: true, Bits: 3072}, nil
	}
	return keySpec{}, fmt.Errorf("-key-type %q: want ecdsa, rsa, rsa2048 or rsa3072", s)
}

// pair is a certificate with its private key, parsed and as PEM.
type pair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// role is what a certificate is for.
type role int

const (
	roleCA role = iota
	roleServer
	roleClient
	roleSelfSignedServer
)

// issuer mints certificates: the key type, the clock and the randomness.
type issuer struct {
	spec keySpec
	now  time.Time
	rand io.Reader
}

// newKey generates a private key of the issuer's kind.
func (is issuer) newKey() (crypto.Signer, error) {
	if is.spec.RSA {
		bits := is.spec.Bits
		if bits == 0 {
			bits = defaultRSABits
		}
		k, err := rsa.GenerateKey(is.rand, bits)
		return k, errors.Wrap(err, "generate RSA key")
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), is.rand)
	return k, errors.Wrap(err, "generate ECDSA key")
}

// template is the x509 template of a certificate of role r valid from
// notBefore to notAfter, covering hosts (servers only).
func (is issuer) template(r role, hosts []string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(is.rand, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, errors.Wrap(err, "generate serial number")
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"DinV"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if is.spec.RSA {
		// RSA key exchange (TLS 1.2 clients) encrypts with the leaf's key.
		t.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	switch r {
	case roleCA:
		t.Subject.CommonName = "DinV CA"
		t.IsCA = true
		t.MaxPathLenZero = true
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	case roleServer, roleSelfSignedServer:
		t.Subject.CommonName = "DinV server"
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		t.IPAddresses, t.DNSNames = splitHosts(hosts)
	case roleClient:
		t.Subject.CommonName = "DinV client"
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return t, nil
}

// issue makes a certificate of role r with a new key. The parent signs it;
// a nil parent makes it self-signed. Leaves never outlive their CA.
func (is issuer) issue(r role, hosts []string, parent *pair) (*pair, error) {
	return is.issueFor(r, hosts, parent, nil)
}

// issueFor is issue for key, an existing private key; nil makes a new one.
func (is issuer) issueFor(r role, hosts []string, parent *pair, key crypto.Signer) (*pair, error) {
	notBefore := is.now.Add(-backdate)
	notAfter := is.now.AddDate(0, 0, leafDays)
	if r == roleCA {
		notAfter = is.now.AddDate(caYears, 0, 0)
	}
	if parent != nil && notAfter.After(parent.cert.NotAfter) {
		notAfter = parent.cert.NotAfter
	}
	return is.issueBetween(r, hosts, parent, key, notBefore, notAfter)
}

// fits reports whether key is of the kind the issuer generates, so that a
// certificate re-issued for it is what a new key would have given.
func (is issuer) fits(key crypto.Signer) bool {
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		return !is.spec.RSA && k.Curve.Params().Name == "P-256"
	case *rsa.PublicKey:
		bits := is.spec.Bits
		if bits == 0 {
			bits = defaultRSABits
		}
		return is.spec.RSA && k.N.BitLen() == bits
	}
	return false
}

func (is issuer) issueBetween(r role, hosts []string, parent *pair, key crypto.Signer, notBefore, notAfter time.Time) (*pair, error) {
	if key == nil {
		var err error
		if key, err = is.newKey(); err != nil {
			return nil, err
		}
	}
	t, err := is.template(r, hosts, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	signerCert, signerKey := t, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(is.rand, t, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, errors.Wrap(err, "sign certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errors.Wrap(err, "parse new certificate")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errors.Wrap(err, "encode private key")
	}
	return &pair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

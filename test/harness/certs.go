package harness

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
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

// CA is a certificate authority made by a test, standing for the certificates
// a user brings from elsewhere (or an attacker's).
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// Leaf is a certificate issued by a CA, with its key.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// LeafOptions say what Issue puts into a certificate.
type LeafOptions struct {
	CommonName string
	Server     bool     // serverAuth, with Hosts as SANs
	Client     bool     // clientAuth
	Hosts      []string // DNS names and IP addresses
	NotBefore  time.Time
	NotAfter   time.Time // zero: NotBefore + 1 year
	// IssuerName, when set, is the issuer's name written into the
	// certificate instead of the CA's subject: signed by the CA's key, yet
	// naming another issuer (clients then find no parent for it).
	IssuerName string
	// RSABits, when set, makes the key an RSA key of exactly this size
	// (even a weak one); else it is ECDSA P-256.
	RSABits int
}

// CAOptions say what NewCAWith puts into a CA certificate.
type CAOptions struct {
	CommonName string
	// Parent signs the certificate: an intermediate CA. Nil: self-signed,
	// a root.
	Parent *CA
	// Key is the CA's key; nil makes a new ECDSA P-256 key. A renewed CA
	// keeps its key (and name): give the key of the one it renews.
	Key crypto.Signer
	// KeyUsage replaces certSign, CRLSign and digitalSignature when not zero.
	KeyUsage x509.KeyUsage
	// ExtKeyUsage limits what the CA may be used for (none: anything).
	ExtKeyUsage []x509.ExtKeyUsage
	NotBefore   time.Time // zero: an hour ago
	NotAfter    time.Time // zero: ten years after now
}

// NewCA makes an ECDSA P-256 CA valid from an hour ago for ten years.
func NewCA(t testing.TB, commonName string) *CA {
	t.Helper()
	return NewCAWith(t, CAOptions{CommonName: commonName})
}

// NewCAWith makes a CA certificate as o says: a root or an intermediate,
// limited or not, renewed with a key it is given.
func NewCAWith(t testing.TB, o CAOptions) *CA {
	t.Helper()
	key := o.Key
	if key == nil {
		key = newKey(t)
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.AddDate(10, 0, 0)
	}
	usage := o.KeyUsage
	if usage == 0 {
		usage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: o.CommonName},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           o.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	parent, signer := tmpl, key
	if o.Parent != nil {
		parent, signer = o.Parent.Cert, o.Parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: keyPEM(t, key)}
}

// Issue makes a certificate signed by ca: ECDSA P-256 unless o.RSABits.
func (ca *CA) Issue(t testing.TB, o LeafOptions) *Leaf {
	t.Helper()
	return issue(t, o, ca)
}

// SelfSigned makes a self-signed leaf certificate (not a CA): a server
// certificate a user brings alone, for instance.
func SelfSigned(t testing.TB, o LeafOptions) *Leaf {
	t.Helper()
	return issue(t, o, nil)
}

// LoadCA reads a CA from its PEM certificate and key (a CA dinv generated,
// say), failing the test unless the key matches a CA certificate.
func LoadCA(t testing.TB, certPEM, keyPEM []byte) *CA {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("load CA: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !cert.IsCA || !ok {
		t.Fatalf("load CA: %q is not a CA certificate with a signing key", cert.Subject.CommonName)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}
}

// issue makes a leaf certificate as o says, signed by ca (nil: self-signed).
func issue(t testing.TB, o LeafOptions, ca *CA) *Leaf {
	t.Helper()
	var key crypto.Signer = newKey(t)
	if o.RSABits != 0 {
		k, err := rsa.GenerateKey(rand.Reader, o.RSABits)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.AddDate(1, 0, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: o.CommonName},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if o.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if o.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	if ca != nil && o.IssuerName != "" {
		renamed := *ca.Cert
		renamed.RawSubject = nil // else CreateCertificate copies the CA's own name
		renamed.Subject = pkix.Name{CommonName: o.IssuerName}
		parent = &renamed
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Leaf{Cert: cert, CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: keyPEM(t, key)}
}

// WriteFile writes data to dir/name with mode, failing the test on error.
func WriteFile(t testing.TB, dir, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReadFile reads the file at path, failing the test on error.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ClientTLS is the TLS configuration of a docker client holding caPEM, certPEM
// and keyPEM (no client certificate when certPEM is nil).
func ClientTLS(t testing.TB, caPEM, certPEM, keyPEM []byte) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in the PEM given")
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// ClientTLSDir is ClientTLS from the files the docker CLI reads from
// DOCKER_CERT_PATH: ca.pem, cert.pem and key.pem.
func ClientTLSDir(t testing.TB, dir string) *tls.Config {
	t.Helper()
	read := func(name string) []byte { return ReadFile(t, filepath.Join(dir, name)) }
	return ClientTLS(t, read("ca.pem"), read("cert.pem"), read("key.pem"))
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func keyPEM(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

package pki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// badFile is the error for a file a user brought that dinv cannot use: a
// configuration error (exit 2) that names the file and the reason.
func badFile(path, format string, args ...interface{}) error {
	return core.Usagef("%s: %s", path, fmt.Sprintf(format, args...))
}

// readFile reads one of the directory's six files. It may be a link (a
// Kubernetes secret mounts them so) to a regular file: a FIFO (opened
// without blocking), device, socket or directory in its place, or more than
// maxCertBytes, is a bad file.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badFile(path, "is a symbolic link to a missing file")
	}
	if errors.Is(err, syscall.ENXIO) {
		return nil, badFile(path, "is not a regular file (a socket)")
	}
	if err != nil {
		return nil, errors.Wrap(err, "read certificate file")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Wrap(err, "read certificate file")
	}
	if fi.IsDir() {
		return nil, badFile(path, "is a directory, not a file")
	}
	if !fi.Mode().IsRegular() {
		return nil, badFile(path, "is not a regular file (%s)", kind(fi.Mode()))
	}
	if fi.Size() > maxCertBytes {
		return nil, badFile(path, "larger than %d KiB: not a certificate or key", maxCertBytes>>10)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCertBytes+1))
	if err != nil {
		return nil, errors.Wrap(err, "read certificate file")
	}
	if len(b) > maxCertBytes {
		return nil, badFile(path, "larger than %d KiB: not a certificate or key", maxCertBytes>>10)
	}
	return b, nil
}

// parseCertPEM parses a certificate file: the certificate first, then any
// intermediates (a chain bundle).
func parseCertPEM(path string, data []byte) (*x509.Certificate, []*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			if len(certs) == 0 {
				return nil, nil, badFile(path, "holds a PEM %q block, not a certificate", block.Type)
			}
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, badFile(path, "not a valid certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, nil, badFile(path, "truncated PEM (a BEGIN line without its END)")
	}
	if len(certs) == 0 {
		return nil, nil, badFile(path, "no PEM certificate in it (empty, truncated or not PEM)")
	}
	return certs[0], certs[1:], nil
}

// parseKeyPEM parses a private key file: PKCS#8, PKCS#1 (RSA) or SEC 1 (EC);
// other blocks (EC PARAMETERS) are skipped.
func parseKeyPEM(path string, data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
			return nil, badFile(path, "encrypted private keys are not supported")
		}
		var key interface{}
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		}
		if err != nil {
			return nil, badFile(path, "not a valid private key: %v", err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, badFile(path, "unsupported private key type %T", key)
		}
		return s, nil
	}
	return nil, badFile(path, "no PEM private key in it (empty, truncated or not PEM)")
}

// checkStrength rejects RSA keys under 2048 bits.
func checkStrength(path string, pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return badFile(path, "RSA key of %d bits is too weak (at least %d needed)", k.N.BitLen(), minRSABits)
	}
	return nil
}

// checkMatch reports whether key is the private key of cert.
func checkMatch(keyPath, certPath string, key crypto.Signer, cert *x509.Certificate) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return badFile(keyPath, "does not match the certificate in %s", certPath)
	}
	return nil
}

// checkTime rejects a certificate that is expired or not yet valid at now.
func checkTime(path string, cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) {
		return badFile(path, "not valid yet: valid from %s (now %s)", stamp(cert.NotBefore), stamp(now))
	}
	if now.After(cert.NotAfter) {
		return badFile(path, "expired on %s (now %s)", stamp(cert.NotAfter), stamp(now))
	}
	return nil
}

// checkChain verifies that cert (with its intermediates) chains to ca for use
// as a server certificate. Time is left out (checked on its own, with its own
// message): a direct child's signature is checked as such, a longer chain is
// verified at a moment its certificates are valid.
func checkChain(path, caPath string, cert *x509.Certificate, intermediates []*x509.Certificate, ca *x509.Certificate) error {
	if len(intermediates) == 0 {
		if err := cert.CheckSignatureFrom(ca); err != nil {
			return badFile(path, "not signed by %s: %v", caPath, err)
		}
		for _, u := range cert.ExtKeyUsage {
			if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
				return nil
			}
		}
		if len(cert.ExtKeyUsage) > 0 {
			return badFile(path, "not a server certificate (no serverAuth extended key usage)")
		}
		return nil
	}
	at := cert.NotBefore
	if ca.NotBefore.After(at) {
		at = ca.NotBefore
	}
	opts := x509.VerifyOptions{
		Roots:         x509.NewCertPool(),
		Intermediates: x509.NewCertPool(),
		CurrentTime:   at.Add(time.Second),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	opts.Roots.AddCert(ca)
	for _, c := range intermediates {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cert.Verify(opts); err != nil {
		return badFile(path, "does not chain to %s: %v", caPath, err)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// loadPair reads and checks a certificate and its key: both parse, the key
// matches, neither is a weak RSA key. Time is checked by the caller, which
// knows whether an expired certificate is an error or a reason to re-issue.
func loadPair(dir, certName, keyName string) (*pair, []*x509.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, certName), filepath.Join(dir, keyName)
	certPEM, err := readFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := readFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cert, inter, err := parseCertPEM(certPath, certPEM)
	if err != nil {
		return nil, nil, err
	}
	if err := checkStrength(certPath, cert.PublicKey); err != nil {
		return nil, nil, err
	}
	key, err := parseKeyPEM(keyPath, keyPEM)
	if err != nil {
		return nil, nil, err
	}
	if err := checkStrength(keyPath, key.Public()); err != nil {
		return nil, nil, err
	}
	if err := checkMatch(keyPath, certPath, key, cert); err != nil {
		return nil, nil, err
	}
	return &pair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, inter, nil
}

// loadCert reads and checks a certificate alone (a CA brought without its key).
func loadCert(path string) (*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	cert, _, err := parseCertPEM(path, data)
	if err != nil {
		return nil, err
	}
	return cert, checkStrength(path, cert.PublicKey)
}

package pki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

// maxCertBytes bounds what dinv reads of a certificate or key file: a
// larger one (or /dev/zero behind a link) is an error.
const maxCertBytes = 1 << 20

// badFile is the error for a file a user brought that dinv cannot use: a
// configuration error (exit 2) that names the file and the reason.
func badFile(path, format string, args ...interface{}) error {
	return core.Usagef("%s: %s", path, fmt.Sprintf(format, args...))
}

// readFile reads one of the directory's files. It may be a link (a
// Kubernetes secret mounts them so) to a regular file: a FIFO, device,
// socket or directory in its place, or behind the link, is refused before
// it is opened; a dangling link, or more than maxCertBytes, is a bad file.
func readFile(path string) ([]byte, error) {
	b, err := safefile.ReadFileFollow(path, maxCertBytes)
	var ke *safefile.KindError
	var se *safefile.SizeError
	switch {
	case errors.As(err, &ke):
		return nil, core.Usagef("%v", err)
	case errors.As(err, &se):
		return nil, badFile(path, "larger than %d KiB: not a certificate or key", maxCertBytes>>10)
	case err != nil:
		return nil, errors.Wrap(err, "read certificate file")
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

// checkStrength rejects RSA keys under 2048 bits. It is dinv's one policy
// beyond what clients check (Go accepts RSA keys down to 1024 bits): a
// weaker key is refused even where a client would accept it.
func checkStrength(path string, pub crypto.PublicKey) error {
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return badFile(path, "RSA key of %d bits is too weak (at least %d needed)", k.N.BitLen(), minRSABits)
	}
	return nil
}

// checkStrengthAll is checkStrength for every certificate of a file.
func checkStrengthAll(path string, certs []*x509.Certificate) error {
	for _, c := range certs {
		if err := checkStrength(path, c.PublicKey); err != nil {
			return err
		}
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

// accepted is the one rule for a certificate dinv serves, issues or lets
// clients use: cert, with the intermediates, verifies as Go's crypto/x509
// verifies it for a TLS peer (the docker CLI for the server, dockerd for a
// client), for usage at now, trusting roots. The error is the verifier's.
func accepted(cert *x509.Certificate, intermediates, roots []*x509.Certificate, usage x509.ExtKeyUsage, now time.Time) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:         pool(roots),
		Intermediates: pool(intermediates),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	return err
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// refused is the error for a file whose certificate peers would refuse:
// the verifier's reason, then a hint in dinv's words where one helps.
func refused(path, by string, cert *x509.Certificate, err error, now time.Time, anchor string) error {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	hint := ""
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil && invalid.Cert.Equal(cert):
		if now.Before(cert.NotBefore) {
			hint = "not valid yet: valid from " + stamp(cert.NotBefore)
		} else {
			hint = "expired on " + stamp(cert.NotAfter)
		}
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		hint = "an extended key usage along the chain excludes this use"
	case errors.As(err, &unknown):
		hint = "not signed by a usable certificate in " + anchor
	}
	if hint != "" {
		return badFile(path, "not accepted by %s: %v (%s)", by, err, hint)
	}
	return badFile(path, "not accepted by %s: %v", by, err)
}

// selfSigned reports whether c names itself as issuer and its own key signs it.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// within is now, or the nearest moment of c's validity when now is outside it.
func within(c *x509.Certificate, now time.Time) time.Time {
	switch {
	case now.Before(c.NotBefore):
		return c.NotBefore
	case now.After(c.NotAfter):
		return c.NotAfter
	}
	return now
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// loadPair reads and checks a certificate and its key as Go TLS does when
// it loads them (both parse, no encrypted key, the key matches), and that
// no RSA key in them is weak. Whether peers accept the certificate is
// checked by the caller (accepted), which knows whether a certificate they
// refuse is an error or a reason to re-issue it.
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
	return parsePair(certPath, keyPath, certPEM, keyPEM)
}

// parsePair is loadPair's checks on the files' bytes.
func parsePair(certPath, keyPath string, certPEM, keyPEM []byte) (*pair, []*x509.Certificate, error) {
	cert, inter, err := parseCertPEM(certPath, certPEM)
	if err != nil {
		return nil, nil, err
	}
	if err := checkStrengthAll(certPath, append([]*x509.Certificate{cert}, inter...)); err != nil {
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

// loadCerts reads and checks a certificate file alone (a CA brought
// without its key, a bundle of several): every certificate in it.
func loadCerts(path string) ([]*x509.Certificate, []byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	cert, rest, err := parseCertPEM(path, data)
	if err != nil {
		return nil, nil, err
	}
	certs := append([]*x509.Certificate{cert}, rest...)
	return certs, data, checkStrengthAll(path, certs)
}

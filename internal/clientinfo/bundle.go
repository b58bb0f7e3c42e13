package clientinfo

import (
	"archive/tar"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/safefile"
)

// maxCertBytes bounds a certificate or key file of the bundle.
const maxCertBytes = 1 << 20

// Bundle is `dinv -client-bundle`: it writes to stdout a tar of the running
// host's client bundle, ca.pem, cert.pem (0644) and key.pem (0600), the
// docker CLI's names, from the client information at path (Path), and prints
// to stderr the environment that uses it once extracted (docker exec C /dinv
// -client-bundle | tar -x -C DIR). It reads and checks the three files first
// (regular files, the certificates parse, the key matches cert.pem): without
// a bundle, or with a file missing or bad, it writes nothing to stdout and
// says why.
func Bundle(stdout, stderr io.Writer, path string) error {
	info, err := Read(path)
	if err != nil {
		return err
	}
	if !info.TLSVerify {
		return errors.Errorf("the engine at %s does not verify client certificates (no -tlsverify, no DOCKER_TLS_CERTDIR): "+
			"it has no client bundle", info.DockerHost)
	}
	tarball, err := bundle(info)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(tarball); err != nil {
		return errors.Wrap(err, "write the client bundle")
	}
	_, err = fmt.Fprintf(stderr, "# ca.pem, cert.pem and key.pem, for the docker CLI; once extracted with tar -x -C DIR:\n"+
		"export DOCKER_HOST=%s\nexport DOCKER_TLS_VERIFY=1\nexport DOCKER_CERT_PATH=DIR\n", info.DockerHost)
	return errors.Wrap(err, "print the environment")
}

// bundle is the tar of info's client files, checked.
func bundle(info *Info) ([]byte, error) {
	var unknown []string
	for _, f := range []struct{ path, name string }{{info.CA, "ca.pem"}, {info.Cert, "cert.pem"}, {info.Key, "key.pem"}} {
		if f.path == "" {
			unknown = append(unknown, f.name)
		}
	}
	switch {
	case len(unknown) == 3:
		return nil, errors.New("this host has no client certificate: its certificates were brought without a client pair: " +
			"clients need a certificate signed by your CA")
	case len(unknown) > 0:
		return nil, errors.Errorf("incomplete client bundle: no file for %s", strings.Join(unknown, ", "))
	}
	read := func(p string) ([]byte, error) {
		b, err := safefile.ReadFileFollow(p, maxCertBytes)
		if err != nil {
			return nil, errors.Wrap(err, "read the client bundle")
		}
		return b, nil
	}
	caPEM, err := read(info.CA)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(info.Cert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(info.Key)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(caPEM); block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.Errorf("%s: not a PEM certificate", info.CA)
	} else if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, errors.Wrapf(err, "%s", info.CA)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, errors.Wrapf(err, "%s, %s: not a certificate and its key", info.Cert, info.Key)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now().Truncate(time.Second)
	for _, f := range []struct {
		name string
		data []byte
		mode int64
	}{{"ca.pem", caPEM, 0o644}, {"cert.pem", certPEM, 0o644}, {"key.pem", keyPEM, 0o600}} {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, errors.Wrap(err, "write the client bundle")
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, errors.Wrap(err, "write the client bundle")
		}
	}
	if err := tw.Close(); err != nil {
		return nil, errors.Wrap(err, "write the client bundle")
	}
	return buf.Bytes(), nil
}

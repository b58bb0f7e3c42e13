package pki

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// The client bundle's files, by the names the docker CLI reads in
// DOCKER_CERT_PATH.
const (
	bundleCAFile   = "ca.pem"
	bundleCertFile = "cert.pem"
	bundleKeyFile  = "key.pem"
)

// WriteClientBundle writes to w a tar stream of the client bundle in files
// (ClientCA, ClientCert, ClientKey) under the docker CLI's names: ca.pem and
// cert.pem mode 0644, key.pem mode 0600. It reads and checks all three
// first, as Ensure reads the certificate directory (regular files, at most
// 1 MiB, the certificates parse, the key matches cert.pem), so that nothing
// is written when one is missing or bad; the error names it.
func WriteClientBundle(w io.Writer, files core.TLSFiles) error {
	var unknown []string
	for _, f := range []struct{ path, name string }{
		{files.ClientCA, bundleCAFile}, {files.ClientCert, bundleCertFile}, {files.ClientKey, bundleKeyFile},
	} {
		if f.path == "" {
			unknown = append(unknown, f.name)
		}
	}
	switch {
	case len(unknown) == 3:
		return errors.New("this host has no client certificate: the engine verifies none (-tls, or no TLS), " +
			"or its certificates were brought without a client pair: clients need a certificate signed by your CA")
	case len(unknown) > 0:
		return errors.Errorf("incomplete client bundle: no file for %s", strings.Join(unknown, ", "))
	}
	for _, p := range []string{files.ClientCA, files.ClientCert, files.ClientKey} {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return errors.Errorf("%s: missing: the client bundle is incomplete", p)
		}
	}
	cl, _, err := loadPair("", files.ClientCert, files.ClientKey)
	if err != nil {
		return err
	}
	_, caPEM, err := loadCerts(files.ClientCA)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now().Truncate(time.Second)
	for _, f := range []struct {
		name string
		data []byte
		mode int64
	}{
		{bundleCAFile, caPEM, 0o644}, {bundleCertFile, cl.certPEM, 0o644}, {bundleKeyFile, cl.keyPEM, 0o600},
	} {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return errors.Wrap(err, "write the client bundle")
		}
		if _, err := tw.Write(f.data); err != nil {
			return errors.Wrap(err, "write the client bundle")
		}
	}
	if err := tw.Close(); err != nil {
		return errors.Wrap(err, "write the client bundle")
	}
	_, err = w.Write(buf.Bytes())
	return errors.Wrap(err, "write the client bundle")
}

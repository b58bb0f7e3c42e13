package pki

import (
	"os"
	"path/filepath"

	"github.com/dinv/dinv/core"
)

// Layouts of the certificate directory (core.Config.CertLayout).
const (
	// layoutFlat is the six names of Docker-in-VIC in one directory (ca.crt, ...);
	// "" means the same.
	layoutFlat = "flat"
	// LayoutDind is docker:dind's layout (DOCKER_TLS_CERTDIR): three
	// subdirectories, the CA's, the engine's and the clients'.
	layoutDind = "dind"
)

// The certificate directory's file names.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca-key.pem"
	serverCertFile = "docker.crt"
	serverKeyFile  = "docker.key"
	clientCertFile = "docker-client.crt"
	clientKeyFile  = "docker-client.key"
)

// allFiles is the order files are reported and written in.
var allFiles = []string{caCertFile, caKeyFile, serverCertFile, serverKeyFile, clientCertFile, clientKeyFile}

// The dind layout's files, relative to the certificate directory, as
// docker:dind documents them: server/ca.pem and client/ca.pem are copies
// of the CA certificate, and client/ is DOCKER_CERT_PATH for the docker CLI.
const (
	dindCACertFile     = "ca/cert.pem"
	dindCAKeyFile      = "ca/key.pem"
	dindServerCAFile   = "server/ca.pem"
	dindServerCertFile = "server/cert.pem"
	dindServerKeyFile  = "server/key.pem"
	dindClientCAFile   = "client/ca.pem"
	dindClientCertFile = "client/cert.pem"
	dindClientKeyFile  = "client/key.pem"
)

// layout is how a certificate directory names its files: each a name
// relative to the directory, in it or in one of its subdirectories.
type layout struct {
	name          string
	caCert, caKey string
	// serverCA is the engine's --tlscacert when that is a file of its
	// own (dind: a copy of caCert); "" when it is caCert itself.
	serverCA              string
	serverCert, serverKey string
	// clientCA is what clients trust the engine by when that is a file
	// of its own (dind: a copy of caCert); "" when it is caCert itself.
	clientCA              string
	clientCert, clientKey string
	// files are every name, in the order they are reported.
	files []string
	// dirs are the subdirectories, with the mode dinv creates them with:
	// the CA's key is kept in a directory only root may enter.
	dirs map[string]os.FileMode
	// clientKeyPerm is the client key's mode: 0600, but in docker:dind's
	// layout 0644, as docker:dind leaves it, so that a CI job running as
	// another user than root can read the client/ it is given.
	clientKeyPerm os.FileMode
}

var (
	flatLayout = layout{
		name:   layoutFlat,
		caCert: caCertFile, caKey: caKeyFile,
		serverCert: serverCertFile, serverKey: serverKeyFile,
		clientCert: clientCertFile, clientKey: clientKeyFile,
		files:         allFiles,
		clientKeyPerm: 0o600,
	}
	dindLayout = layout{
		name:   layoutDind,
		caCert: dindCACertFile, caKey: dindCAKeyFile,
		serverCA: dindServerCAFile, serverCert: dindServerCertFile, serverKey: dindServerKeyFile,
		clientCA: dindClientCAFile, clientCert: dindClientCertFile, clientKey: dindClientKeyFile,
		files: []string{dindCACertFile, dindCAKeyFile, dindServerCAFile, dindServerCertFile, dindServerKeyFile,
			dindClientCAFile, dindClientCertFile, dindClientKeyFile},
		dirs:          map[string]os.FileMode{"ca": 0o700, "server": 0o755, "client": 0o755},
		clientKeyPerm: 0o644,
	}
)

// layoutNamed is the layout core.Config.CertLayout names.
func layoutNamed(name string) (layout, error) {
	switch name {
	case "", layoutFlat:
		return flatLayout, nil
	case layoutDind:
		return dindLayout, nil
	}
	return layout{}, core.Usagef("certificate layout %q: want %s or %s", name, layoutFlat, layoutDind)
}

// isFile reports whether name is one of the layout's files.
func (l layout) isFile(name string) bool {
	for _, f := range l.files {
		if f == name {
			return true
		}
	}
	return false
}

// engineCA is the file the engine verifies clients against (-tlsverify).
func (l layout) engineCA() string {
	if l.serverCA != "" {
		return l.serverCA
	}
	return l.caCert
}

// clientTrust is the file clients are given to trust the engine by.
func (l layout) clientTrust() string {
	if l.clientCA != "" {
		return l.clientCA
	}
	return l.caCert
}

// dirPerm is the mode of the subdirectory name is in, 0 for the directory
// itself.
func (l layout) dirPerm(name string) os.FileMode {
	return l.dirs[filepath.Dir(name)]
}

// layout is the Request's layout.
func (r *request) layout() (layout, error) { return layoutNamed(r.Layout) }

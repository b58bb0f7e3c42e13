package pki

import (
	"os"
	"path/filepath"

	"github.com/dinv/dinv/core"
)

// Layouts of the certificate directory (core.Config.CertLayout).
const (
	// LayoutFlat is the seed's six names in one directory (ca.crt, ...);
	// "" means the same.
	LayoutFlat = "flat"
	// LayoutDind is docker:dind's layout (DOCKER_TLS_CERTDIR): three
	// subdirectories, the CA's, the engine's and the clients'.
	LayoutDind = "dind"
)

// The dind layout's files, relative to the certificate directory, as
// docker:dind documents them: server/ca.pem and client/ca.pem are copies
// of the CA certificate, and client/ is DOCKER_CERT_PATH for the docker CLI.
const (
	DindCACertFile     = "ca/cert.pem"
	DindCAKeyFile      = "ca/key.pem"
	DindServerCAFile   = "server/ca.pem"
	DindServerCertFile = "server/cert.pem"
	DindServerKeyFile  = "server/key.pem"
	DindClientCAFile   = "client/ca.pem"
	DindClientCertFile = "client/cert.pem"
	DindClientKeyFile  = "client/key.pem"
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
}

var (
	flatLayout = layout{
		name:   LayoutFlat,
		caCert: CACertFile, caKey: CAKeyFile,
		serverCert: ServerCertFile, serverKey: ServerKeyFile,
		clientCert: ClientCertFile, clientKey: ClientKeyFile,
		files: allFiles,
	}
	dindLayout = layout{
		name:   LayoutDind,
		caCert: DindCACertFile, caKey: DindCAKeyFile,
		serverCA: DindServerCAFile, serverCert: DindServerCertFile, serverKey: DindServerKeyFile,
		clientCA: DindClientCAFile, clientCert: DindClientCertFile, clientKey: DindClientKeyFile,
		files: []string{DindCACertFile, DindCAKeyFile, DindServerCAFile, DindServerCertFile, DindServerKeyFile,
			DindClientCAFile, DindClientCertFile, DindClientKeyFile},
		dirs: map[string]os.FileMode{"ca": 0o700, "server": 0o755, "client": 0o755},
	}
)

// layoutNamed is the layout core.Config.CertLayout names.
func layoutNamed(name string) (layout, error) {
	switch name {
	case "", LayoutFlat:
		return flatLayout, nil
	case LayoutDind:
		return dindLayout, nil
	}
	return layout{}, core.Usagef("certificate layout %q: want %s or %s", name, LayoutFlat, LayoutDind)
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
func (r *Request) layout() (layout, error) { return layoutNamed(r.Layout) }

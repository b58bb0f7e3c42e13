package pki

import (
	"crypto/x509"
	"time"

	"github.com/dinv/dinv/core"
)

// checkUserFiles checks the engine's TLS files the user names (an engine
// argument or daemon.json: dinv makes none then), as the engine will use
// them: the server pair loads as Go's TLS loads it, the CA file under
// -tlsverify holds certificates, and a Docker client completes a TLS
// handshake with the engine serving the pair. Whom clients trust and by
// which name they connect are the user's to arrange: the handshake trusts
// the server's certificate itself and checks no name, so that what it
// refuses is what TLS cannot use (a key or curve no Docker client offers).
func checkUserFiles(f core.TLSFiles, verify bool, now time.Time) error {
	srv, _, err := loadPair("", f.ServerCert, f.ServerKey)
	if err != nil {
		return err
	}
	if verify {
		if _, _, err := loadCerts(f.CACert); err != nil {
			return err
		}
	}
	if err := handshake(srv, []*x509.Certificate{srv.cert}, nil, nil, "", now); err != nil {
		return core.Usagef("%s, %s: no Docker client completes a TLS handshake with the engine serving them: %v",
			f.ServerCert, f.ServerKey, err)
	}
	return nil
}

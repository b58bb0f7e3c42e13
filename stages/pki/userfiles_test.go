package pki

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// TestTheUsersOwnTLSFilesAreCheckedAndUsedAsTheyAre: files the user names
// for the engine (--tlscert, --tlskey, --tlscacert) are served as they are,
// nothing is made; a pair no Docker client completes a handshake with, or a
// key of another certificate, is refused naming the files.
func TestTheUsersOwnTLSFilesAreCheckedAndUsedAsTheyAre(t *testing.T) {
	is := issuer{now: time.Now(), rand: rand.Reader}
	ca, err := is.issue(roleCA, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, err := is.issue(roleServer, testHosts, ca)
	if err != nil {
		t.Fatal(err)
	}
	other, err := is.issue(roleServer, testHosts, ca)
	if err != nil {
		t.Fatal(err)
	}
	bad := p224(t, roleServer, testHosts, ca)
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string // "" when the files are served
	}{
		{"a good pair is served as it is", good.certPEM, good.keyPEM, ""},
		{"a P-224 pair is refused with the handshake's reason", bad.certPEM, bad.keyPEM, "no Docker client completes a TLS handshake"},
		{"a key of another certificate is refused", good.certPEM, other.keyPEM, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name string, data []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			caFile, certFile, keyFile := write("ca.pem", ca.certPEM), write("cert.pem", tc.cert), write("key.pem", tc.key)
			certDir := filepath.Join(dir, "certs")
			user := func(name, path string) core.Setting[string] {
				return core.Setting[string]{Value: path, From: core.Source{Kind: core.FromArg, Name: "--" + name + "=" + path}}
			}
			cfg := core.Config{CertDir: certDir, Engine: core.EngineConfig{
				Listeners: []core.Listener{{Proto: "unix", Addr: "/s.sock"}, {Proto: "tcp", Addr: "0.0.0.0:2376"}},
				TLS:       core.Setting[core.TLSMode]{Value: core.TLSVerify},
				TLSCACert: user("tlscacert", caFile), TLSCert: user("tlscert", certFile), TLSKey: user("tlskey", keyFile),
			}}
			s := &core.State{Config: cfg}
			err := New().Run(context.Background(), s)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.want == "" && (s.TLSFiles.ServerCert != certFile || s.TLSFiles.ServerKey != keyFile || s.TLSFiles.CACert != caFile):
				t.Errorf("TLS files %+v, want the user's", s.TLSFiles)
			case tc.want != "" && (err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want a usage error with %q", err, tc.want)
			}
			if _, err := os.Stat(certDir); err == nil {
				t.Errorf("dinv made %s for the user's files", certDir)
			}
		})
	}
}

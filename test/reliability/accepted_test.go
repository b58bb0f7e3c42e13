//go:build reliability

package reliability

import (
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// Certificate sets every Docker client accepts are accepted, as
// they are: the engine serves with them, a client verifying as the docker CLI
// does (Go's crypto/tls, the server's name docker) connects with its own
// client certificate, and no file changes.
func TestCertificatesClientsAcceptAreAccepted(t *testing.T) {
	img := image(t)
	network := harness.Network(t, "accepted")
	hosts := []string{"docker", "localhost", "127.0.0.1"}
	now := time.Now()
	type set struct {
		files   map[string][]byte
		trust   []byte          // what clients trust the engine by
		clients []*harness.Leaf // each must be served
	}
	cases := []struct {
		name string
		make func(t *testing.T) set
	}{
		{"ca.crt holding two CAs, docker.crt signed by the second", func(t *testing.T) set {
			first, second := harness.NewCA(t, "first CA"), harness.NewCA(t, "second CA")
			server := second.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts})
			both := append(append([]byte(nil), first.CertPEM...), second.CertPEM...)
			return set{
				files: map[string][]byte{"ca.crt": both, "docker.crt": server.CertPEM, "docker.key": server.KeyPEM},
				trust: both,
				clients: []*harness.Leaf{
					first.Issue(t, harness.LeafOptions{CommonName: "client of the first", Client: true}),
					second.Issue(t, harness.LeafOptions{CommonName: "client of the second", Client: true}),
				},
			}
		}},
		{"an intermediate CA renewed after docker.crt was issued", func(t *testing.T) set {
			root := harness.NewCA(t, "root CA")
			first := harness.NewCAWith(t, harness.CAOptions{CommonName: "intermediate CA", Parent: root, NotBefore: now.AddDate(0, 0, -60)})
			server := first.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts, NotBefore: now.AddDate(0, 0, -40)})
			// Same key and name, younger than the server certificate.
			renewed := harness.NewCAWith(t, harness.CAOptions{CommonName: "intermediate CA", Parent: root, Key: first.Key, NotBefore: now.AddDate(0, 0, -1)})
			chain := append(append([]byte(nil), server.CertPEM...), renewed.CertPEM...)
			return set{
				files:   map[string][]byte{"ca.crt": root.CertPEM, "docker.crt": chain, "docker.key": server.KeyPEM},
				trust:   root.CertPEM,
				clients: []*harness.Leaf{root.Issue(t, harness.LeafOptions{CommonName: "client", Client: true})},
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			figures.Case(t, "certificates clients accept, accepted")
			s := c.make(t)
			vol := harness.Volume(t, "certs")
			d := harness.Start(t, harness.Options{Image: img, Create: true,
				Run: []string{"--network", network, "-v", vol + ":/certs"}, Args: []string{"-tlsverify"}})
			src := t.TempDir()
			writeCerts(t, src, s.files)
			d.CopyTo(t, src+"/.", "/certs")
			d.Start(t)
			a := addr(t, d, network, "2376")
			for i, cl := range s.clients {
				cfg := harness.ClientTLS(t, s.trust, cl.CertPEM, cl.KeyPEM)
				cfg.ServerName = "docker"
				if i == 0 {
					figures.Time("start to ready, certificates clients accept", d.WaitReady(t, a, cfg))
				}
				if code, body, err := get(a, "/_ping", cfg); err != nil || code != 200 || body != "OK" {
					t.Errorf("client %q: GET /_ping: %d %q %v", cl.Cert.Subject.CommonName, code, body, err)
				}
			}
			if d := diffSnapshots(snapshot(t, src), snapshot(t, copyCerts(t, d))); len(d) > 0 {
				t.Errorf("the certificate directory changed: %s", strings.Join(d, "; "))
			}
		})
	}
}

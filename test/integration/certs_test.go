//go:build integration

package integration

import (
	"os"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

type clientPair struct{ cert, key string }

// otherCA writes a client certificate and key from a CA of its own into dir.
func otherCA(t *testing.T, dir string) clientPair {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := harness.NewCA(t, "not dinv's CA")
	leaf := ca.Issue(t, harness.LeafOptions{CommonName: "intruder", Client: true})
	return clientPair{
		cert: harness.WriteFile(t, dir, "cert.pem", leaf.CertPEM, 0o644),
		key:  harness.WriteFile(t, dir, "key.pem", leaf.KeyPEM, 0o600),
	}
}

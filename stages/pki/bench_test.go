package pki

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGenerateTLSVerifySet measures a cold -tlsverify start's
// certificate work: all six files generated and written in an empty
// directory, per key type.
func BenchmarkGenerateTLSVerifySet(b *testing.B) {
	for _, kt := range []string{"ecdsa", "rsa", "rsa3072"} {
		b.Run(kt, func(b *testing.B) {
			spec, _ := parseKeyType(kt)
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				res, err := ensure(context.Background(), request{Dir: dir, Verify: true, Key: spec, Hosts: testHosts})
				if err != nil || len(res.Generated) != 6 {
					b.Fatalf("Ensure: %v, generated %v", err, res)
				}
			}
		})
	}
}

// BenchmarkWarmTLSVerifySet measures a warm start: the six files checked,
// nothing written.
func BenchmarkWarmTLSVerifySet(b *testing.B) {
	dir := b.TempDir()
	if _, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts})
		if err != nil || len(res.Generated) != 0 {
			b.Fatalf("Ensure: %v, generated %v", err, res)
		}
	}
}

// BenchmarkHandshake measures the in-memory TLS handshake that checks a set
// (mutual, ECDSA P-256, as a warm -tlsverify start does once).
func BenchmarkHandshake(b *testing.B) {
	dir := b.TempDir()
	if _, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts}); err != nil {
		b.Fatal(err)
	}
	srv, _, err := loadPair(dir, serverCertFile, serverKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	cl, _, err := loadPair(dir, clientCertFile, clientKeyFile)
	if err != nil {
		b.Fatal(err)
	}
	cas, _, err := loadCerts(filepath.Join(dir, caCertFile))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := handshake(srv, cas, cas, cl, "localhost", now); err != nil {
			b.Fatal(err)
		}
	}
}
